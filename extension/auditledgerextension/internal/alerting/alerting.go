package alerting

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

// The actions of the entries the alerter records. Entries whose action starts with
// ActionPrefix never raise alerts, so that an alert cannot raise another.
const (
	ActionPrefix    = "alert."
	ActionRaised    = "alert.raised"
	ActionDelivered = "alert.delivered"
	ActionFailed    = "alert.failed"
	ActionDropped   = "alert.dropped"
)

// Outcomes counted by Settings.Count.
const (
	OutcomeRaised    = "raised"
	OutcomeDelivered = "delivered"
	OutcomeFailed    = "failed"
	OutcomeDropped   = "dropped"
)

// CountAttempts is the count an entry weighs in a threshold when it has it (a login.failure
// summary stands for that many refused requests).
const CountAttempts = "attempts"

// recordTimeout bounds the recording of one alert entry.
const recordTimeout = 10 * time.Second

// Settings are what the alerter needs from the ledger.
type Settings struct {
	// Recorder records the alert entries (the ledger itself).
	Recorder audit.Recorder
	// Actor is the ledger's component ID, the actor of the alert entries.
	Actor string
	// Stream is the ledger's stream id, named in every alert.
	Stream string
	Logger *zap.Logger
	// Count, when set, counts alerts by webhook and outcome (raised, delivered, failed,
	// dropped).
	Count func(ctx context.Context, webhook, outcome string)
	// Now is the clock of the thresholds' windows (time.Now when nil).
	Now func() time.Time
}

// Alerter matches entries against the rules and delivers the alerts they raise.
type Alerter struct {
	set   Settings
	rules []*rule
	hooks map[string]*webhook

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Alert is one alert on its way to a webhook.
type Alert struct {
	ID      string
	Rule    string
	Webhook string
	Raised  time.Time
	Entry   ledger.Entry
	Summary string
	// Threshold is set for alerts of threshold rules.
	Threshold *Reached
}

// Reached is what a threshold rule counted when it raised an alert.
type Reached struct {
	Count  int64   `json:"count"`
	Window string  `json:"window"`
	By     GroupBy `json:"by"`
	Group  string  `json:"group,omitempty"`
}

type rule struct {
	cfg      RuleConfig
	exact    map[string]bool
	prefixes []string
	all      bool
	outcomes map[string]bool // nil: any
	hook     *webhook
	thr      *threshold
}

type webhook struct {
	name    string
	cfg     WebhookConfig
	client  *http.Client
	queue   chan *Alert
	dropped atomic.Int64
}

// New builds the webhooks' clients (Config.Validate has checked the rest) and returns an
// alerter; Start starts delivering.
func New(ctx context.Context, cfg *Config, set Settings) (*Alerter, error) {
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if set.Now == nil {
		set.Now = time.Now
	}
	if set.Count == nil {
		set.Count = func(context.Context, string, string) {}
	}
	a := &Alerter{set: set, hooks: map[string]*webhook{}}
	for name, w := range cfg.Webhooks {
		a.hooks[name] = &webhook{name: name, cfg: w, queue: make(chan *Alert, cfg.QueueSize)}
	}
	for _, rc := range cfg.Rules {
		r := &rule{cfg: rc, exact: map[string]bool{}, hook: a.hooks[rc.Webhook]}
		for _, p := range rc.Actions {
			switch {
			case p == "*":
				r.all = true
			case strings.HasSuffix(p, ".*"):
				r.prefixes = append(r.prefixes, strings.TrimSuffix(p, "*"))
			default:
				r.exact[p] = true
			}
		}
		if len(rc.Outcomes) > 0 {
			r.outcomes = map[string]bool{}
			for _, o := range rc.Outcomes {
				r.outcomes[string(o)] = true
			}
		}
		if rc.Threshold != nil {
			size := rc.Threshold.MaxGroups
			if size == 0 {
				size = DefaultMaxGroups
			}
			groups, _ := simplelru.NewLRU[string, *window](size, nil)
			r.thr = &threshold{cfg: *rc.Threshold, groups: groups}
		}
		a.rules = append(a.rules, r)
	}
	for _, h := range a.hooks {
		var err error
		if h.client, err = newClient(ctx, h.cfg); err != nil {
			return nil, fmt.Errorf("alerts: webhooks: %s: %w", h.name, err)
		}
	}
	return a, nil
}

// Start starts one delivery worker per webhook.
func (a *Alerter) Start() {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	for _, h := range a.hooks {
		a.wg.Add(1)
		go a.deliverAll(h)
	}
}

func newClient(ctx context.Context, w WebhookConfig) (*http.Client, error) {
	tlsCfg, err := w.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr, Timeout: w.Timeout}, nil
}

// Shutdown stops the deliveries: alerts not delivered yet are recorded as alert.failed
// ("the collector stopped"), so that none is lost without a trace. The ledger must still be
// running.
func (a *Alerter) Shutdown(ctx context.Context) error {
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alerts: waiting for the deliveries to stop: %w", ctx.Err())
	}
}

// Observe matches durable entries against the rules and queues the alerts they raise. It
// never waits: an alert whose webhook's queue is full is dropped and counted (and recorded
// as alert.dropped by the webhook's worker).
func (a *Alerter) Observe(entries []ledger.Entry) {
	for i := range entries {
		e := &entries[i]
		if strings.HasPrefix(e.Event.Action, ActionPrefix) {
			continue
		}
		for _, r := range a.rules {
			if !r.matches(e) {
				continue
			}
			alert := &Alert{ID: rand.Text(), Rule: r.cfg.Name, Webhook: r.hook.name, Raised: a.set.Now(), Entry: *e}
			if r.thr != nil {
				reached, ok := r.thr.add(e, alert.Raised)
				if !ok {
					continue
				}
				alert.Threshold = reached
			}
			alert.Summary = summary(alert, a.set.Stream)
			a.enqueue(r.hook, alert)
		}
	}
}

func (a *Alerter) enqueue(h *webhook, alert *Alert) {
	select {
	case h.queue <- alert:
	default:
		h.dropped.Add(1)
		a.set.Count(context.Background(), h.name, OutcomeDropped)
		a.set.Logger.Warn("Alert dropped: the webhook's queue is full (it has been failing or slow); it is recorded in the ledger as alert.dropped",
			zap.String("webhook", h.name), zap.String("rule", alert.Rule), zap.Uint64("entry_seq", alert.Entry.Seq))
	}
}

func (r *rule) matches(e *ledger.Entry) bool {
	if r.outcomes != nil && !r.outcomes[e.Event.Status] {
		return false
	}
	action := e.Event.Action
	if r.all || r.exact[action] {
		return true
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// threshold counts the weight of matching entries per group over a sliding window.
type threshold struct {
	cfg    ThresholdConfig
	mu     sync.Mutex
	groups *simplelru.LRU[string, *window]
}

type window struct {
	hits []hit
	sum  int64
}

type hit struct {
	at time.Time
	n  int64
}

// add counts e at now and reports whether its group reached the threshold; the group then
// starts again from zero.
func (t *threshold) add(e *ledger.Entry, now time.Time) (*Reached, bool) {
	group := ""
	switch t.cfg.By {
	case GroupByActorIP:
		group = e.Event.ActorIP
	case GroupByActorID:
		group = e.Event.ActorID
	case GroupByResourceID:
		group = e.Event.ResourceID
	}
	n := e.Event.Counts[CountAttempts]
	if n <= 0 {
		n = 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.groups.Get(group)
	if !ok {
		w = &window{}
		t.groups.Add(group, w)
	}
	cut := 0
	for cut < len(w.hits) && now.Sub(w.hits[cut].at) >= t.cfg.Window {
		w.sum -= w.hits[cut].n
		cut++
	}
	w.hits = append(w.hits[:0], w.hits[cut:]...)
	w.hits = append(w.hits, hit{at: now, n: n})
	w.sum += n
	if w.sum < t.cfg.Count {
		return nil, false
	}
	reached := &Reached{Count: w.sum, Window: t.cfg.Window.String(), By: t.cfg.By, Group: group}
	w.hits, w.sum = w.hits[:0], 0
	return reached, true
}

// deliverAll is a webhook's worker: it records and delivers its alerts one at a time, in
// order, and records the alerts that were dropped.
func (a *Alerter) deliverAll(h *webhook) {
	defer a.wg.Done()
	for {
		select {
		case alert := <-h.queue:
			a.deliver(h, alert)
		case <-a.ctx.Done():
			for {
				select {
				case alert := <-h.queue:
					a.raise(h, alert)
					a.finish(h, alert, 0, 0, errors.New("not delivered: the collector stopped"))
					continue
				default:
				}
				a.recordDropped(h)
				return
			}
		}
		a.recordDropped(h)
	}
}

// deliver records the alert, posts it until it is accepted, refused or out of time, and
// records the outcome.
func (a *Alerter) deliver(h *webhook, alert *Alert) {
	a.raise(h, alert)
	body, err := encode(h.cfg.Format, alert, a.set.Stream)
	if err != nil {
		a.finish(h, alert, 0, 0, err)
		return
	}
	b := h.cfg.RetryOnFailure
	interval, start := b.InitialInterval, time.Now()
	for attempt := 1; ; attempt++ {
		status, retry, err := h.post(a.ctx, body, alert.ID)
		if err == nil {
			a.finish(h, alert, attempt, status, nil)
			return
		}
		switch {
		case !retry || !b.Enabled:
			a.finish(h, alert, attempt, status, err)
			return
		case a.ctx.Err() != nil:
			a.finish(h, alert, attempt, status, fmt.Errorf("not delivered before the collector stopped: %w", err))
			return
		}
		wait := jitter(interval, b.RandomizationFactor)
		if b.MaxElapsedTime > 0 && time.Since(start)+wait > b.MaxElapsedTime {
			a.finish(h, alert, attempt, status, fmt.Errorf("gave up after %d attempts in %s: %w", attempt, time.Since(start).Round(time.Millisecond), err))
			return
		}
		if attempt == 1 {
			a.set.Logger.Warn("Alert not delivered yet; retrying with backoff",
				zap.String("webhook", h.name), zap.String("rule", alert.Rule), zap.String("alert_id", alert.ID), zap.Error(err))
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-a.ctx.Done():
			timer.Stop()
			a.finish(h, alert, attempt, status, fmt.Errorf("not delivered before the collector stopped: %w", err))
			return
		}
		interval = min(time.Duration(float64(interval)*b.Multiplier), b.MaxInterval)
	}
}

func jitter(d time.Duration, factor float64) time.Duration {
	if factor <= 0 {
		return d
	}
	delta := factor * float64(d)
	return time.Duration(float64(d) - delta + mrand.Float64()*(2*delta))
}

// post makes one attempt and reports the answer's status, whether a failure may be retried,
// and the failure.
func (h *webhook) post(ctx context.Context, body []byte, alertID string) (status int, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "warden-audit-ledger")
	// Receivers may drop the repeats of an alert delivered more than once (at least once).
	req.Header.Set("Idempotency-Key", alertID)
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, string(v))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, true, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, false, nil
	}
	err = fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	retry = resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return resp.StatusCode, retry, err
}

// raise counts and records an alert taken from its queue.
func (a *Alerter) raise(h *webhook, alert *Alert) {
	a.set.Count(context.Background(), h.name, OutcomeRaised)
	a.record(alert, ActionRaised, "", nil)
}

// finish counts and records a delivery's outcome.
func (a *Alerter) finish(h *webhook, alert *Alert, attempts, status int, err error) {
	counts := map[string]int64{"attempts": int64(attempts)}
	if status != 0 {
		counts["http_status"] = int64(status)
	}
	if err != nil {
		a.set.Count(context.Background(), h.name, OutcomeFailed)
		a.set.Logger.Error("Alert not delivered", zap.String("webhook", h.name), zap.String("rule", alert.Rule),
			zap.String("alert_id", alert.ID), zap.Int("attempts", attempts), zap.Error(err))
		a.record(alert, ActionFailed, err.Error(), counts)
		return
	}
	a.set.Count(context.Background(), h.name, OutcomeDelivered)
	a.record(alert, ActionDelivered, "", counts)
}

// record writes one alert entry. Its record id derives from the alert's, so that a repeated
// recording stores it once.
func (a *Alerter) record(alert *Alert, action, errMsg string, counts map[string]int64) {
	ev := audit.Event{
		RecordID: alert.ID + "-" + strings.TrimPrefix(action, ActionPrefix),
		Actor:    audit.Actor{Type: audit.ActorSystem, ID: a.set.Actor},
		Action:   action,
		Resource: audit.Resource{Type: "alert_rule", ID: alert.Rule, Name: alert.Webhook},
		Outcome:  audit.OutcomeSuccess,
		Error:    errMsg,
		Counts:   counts,
		Attributes: map[string]string{
			"alert_id":          alert.ID,
			"trigger.seq":       strconv.FormatUint(alert.Entry.Seq, 10),
			"trigger.hash":      alert.Entry.Hash,
			"trigger.action":    alert.Entry.Event.Action,
			"trigger.record_id": alert.Entry.RecordID,
		},
		DataClassification: audit.ClassInternal,
	}
	if errMsg != "" {
		ev.Outcome = audit.OutcomeFailure
	}
	if action == ActionRaised {
		ev.Attributes["summary"] = alert.Summary
		if r := alert.Threshold; r != nil {
			ev.Counts = map[string]int64{"threshold.count": r.Count}
			ev.Attributes["threshold.by"], ev.Attributes["threshold.group"], ev.Attributes["threshold.window"] = string(r.By), r.Group, r.Window
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := a.set.Recorder.Record(ctx, ev); err != nil {
		a.set.Logger.Error("Alert entry not recorded in the audit ledger", zap.String("action", action),
			zap.String("alert_id", alert.ID), zap.Error(err))
	}
}

// recordDropped records how many of h's alerts were dropped since it last did.
func (a *Alerter) recordDropped(h *webhook) {
	n := h.dropped.Swap(0)
	if n == 0 {
		return
	}
	ev := audit.Event{
		Actor:              audit.Actor{Type: audit.ActorSystem, ID: a.set.Actor},
		Action:             ActionDropped,
		Resource:           audit.Resource{Type: "webhook", ID: h.name},
		Outcome:            audit.OutcomeFailure,
		Error:              "the webhook's queue was full",
		Counts:             map[string]int64{"alerts": n},
		DataClassification: audit.ClassInternal,
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := a.set.Recorder.Record(ctx, ev); err != nil {
		a.set.Logger.Error("alert.dropped entry not recorded in the audit ledger", zap.Int64("alerts", n), zap.Error(err))
	}
}

// payload is the json format's body.
type payload struct {
	AlertID   string       `json:"alert_id"`
	Rule      string       `json:"rule"`
	RaisedAt  string       `json:"raised_at"`
	Summary   string       `json:"summary"`
	Stream    string       `json:"stream"`
	Seq       uint64       `json:"seq"`
	Hash      string       `json:"hash"`
	RecordID  string       `json:"record_id"`
	Time      string       `json:"time"`
	Event     ledger.Event `json:"event"`
	Threshold *Reached     `json:"threshold,omitempty"`
}

func encode(f Format, alert *Alert, stream string) ([]byte, error) {
	if f == FormatSlack {
		return json.Marshal(map[string]string{"text": slackEscape(alert.Summary)})
	}
	return json.Marshal(payload{
		AlertID: alert.ID, Rule: alert.Rule, RaisedAt: alert.Raised.UTC().Format(time.RFC3339Nano), Summary: alert.Summary,
		Stream: stream, Seq: alert.Entry.Seq, Hash: alert.Entry.Hash, RecordID: alert.Entry.RecordID, Time: alert.Entry.Time,
		Event: alert.Entry.Event, Threshold: alert.Threshold,
	})
}

// summary is one line that says what happened, for people.
func summary(alert *Alert, stream string) string {
	ev := &alert.Entry.Event
	var b strings.Builder
	fmt.Fprintf(&b, "Warden alert %q: ", alert.Rule)
	if r := alert.Threshold; r != nil {
		fmt.Fprintf(&b, "%d %s within %s", r.Count, ev.Action, r.Window)
		if r.By != GroupByNone {
			group := r.Group
			if group == "" {
				group = "(none)" // entries without the value, counted together
			}
			fmt.Fprintf(&b, " for %s %s", r.By, group)
		}
		b.WriteString("; latest: ")
	} else {
		b.WriteString(ev.Action + " ")
	}
	fmt.Fprintf(&b, "%s by %s %s", ev.Status, ev.ActorType, ev.ActorID)
	if ev.ActorIP != "" {
		fmt.Fprintf(&b, " (%s)", ev.ActorIP)
	}
	fmt.Fprintf(&b, " on %s %s", ev.ResourceType, ev.ResourceID)
	if ev.ErrorMessage != "" {
		fmt.Fprintf(&b, ": %s", truncate(ev.ErrorMessage, 200))
	}
	fmt.Fprintf(&b, " [audit entry %d of stream %s]", alert.Entry.Seq, stream)
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// slackEscape escapes the three characters Slack's message formatting reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
