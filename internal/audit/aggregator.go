package audit

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// SummaryKey tells summaries apart: the counts of an interval are merged into one event per
// key. Its two parts are the summary's resource id and name, and the values of its two key
// attributes (AggregatorSettings.KeyAttributes). Both must come from a bounded set or be
// bounded by MaxKeys: an aggregator never holds more keys than that.
type SummaryKey struct {
	ID   string
	Name string
}

// TelemetryKey is the key of a telemetry summary: the service.name the decisions were about
// and the signal (traces, logs or metrics).
func TelemetryKey(service, signal string) SummaryKey {
	return SummaryKey{ID: service, Name: signal}
}

// AggregatorSettings configure an Aggregator.
type AggregatorSettings struct {
	// Recorder receives the summaries.
	Recorder Recorder
	// Actor is the ID of the component whose decisions are summarised, e.g. "pii_redaction".
	Actor string
	// Action names what the component did, e.g. "pii.redact".
	Action string
	// Classification is the data classification of the summaries.
	Classification Classification
	// Outcome is the outcome of the summaries; empty means success (decisions that were
	// carried out). Summaries of refusals, such as failed logins, are failures.
	Outcome Outcome
	// ResourceType is the resource type of the summaries; empty means "telemetry".
	ResourceType string
	// KeyAttributes name the attributes that hold the key's ID and Name in each summary;
	// empty means AttrService and AttrSignal (the parts of a TelemetryKey).
	KeyAttributes [2]string
	// Describe, when set, completes the summary of each key (not the overflow summary, which
	// stands for many keys) once the aggregator has filled it in, e.g. with the actor's IP.
	// It must leave the event valid (Event.Validate).
	Describe func(key SummaryKey, ev *Event)
	// Interval is how long counts are merged before they are recorded.
	Interval time.Duration
	// MaxKeys bounds the distinct keys of an interval. The counts of further keys are merged
	// into one overflow summary, which says how many keys it stands for.
	MaxKeys int
	// MaxRetries is how many later intervals a summary that could not be recorded is tried
	// again at before it is given up.
	MaxRetries int
	// Logger reports failures: once when recording starts failing, once when it recovers,
	// and whenever summaries are given up.
	Logger *zap.Logger
	// OnFailed, when set, is told how many summaries a flush could not record; they are kept
	// for the next interval unless given up.
	OnFailed func(ctx context.Context, summaries int)
	// OnDropped, when set, is told how many summaries were given up.
	OnDropped func(ctx context.Context, summaries int)
}

// Count names the aggregator adds to every summary, beside the component's own.
const (
	// CountBatches is how many batches the summary covers (calls to Add).
	CountBatches = "batches"
	// CountOverflowKeys, in the overflow summary, is how many keys were merged into it.
	CountOverflowKeys = "overflow.keys"
)

// Attribute names of the summaries.
const (
	AttrService       = "service"
	AttrSignal        = "signal"
	AttrIntervalStart = "interval.start"
	AttrIntervalEnd   = "interval.end"
	// AttrOverflow is "true" on the overflow summary.
	AttrOverflow = "overflow"
	// AttrOverflowKeys is "at_least" when the overflow met more keys than it could tell
	// apart, so that CountOverflowKeys is a lower bound.
	AttrOverflowKeys = "overflow.keys"
)

// OverflowResource is the resource id and name of the overflow summary.
const OverflowResource = "*"

// maxKeyLen bounds a key's service and signal to the widest resource id and name the ledger
// stores, so that no input can make a summary unrecordable.
const maxKeyLen = 255

// flushTimeout bounds the recording of one interval's summaries.
const flushTimeout = 30 * time.Second

// Aggregator merges a component's decision counts per key over an interval and records one
// summary per key at each interval's end and at shutdown, so that the ledger grows with time
// and with the variety of decisions, not with the number of requests. Add never waits for
// the ledger. Memory is bounded by MaxKeys and MaxRetries whatever the input.
//
// A crash loses at most the counts of the interval in progress (and of summaries waiting to
// be retried); components count their decisions in metrics as well.
type Aggregator struct {
	set  AggregatorSettings
	seed maphash.Seed

	mu       sync.Mutex
	start    time.Time // of the interval being merged
	counts   map[SummaryKey]map[string]int64
	overflow *overflow

	flushMu sync.Mutex // one flush at a time; guards the fields below
	retry   []round
	failing bool

	startOnce sync.Once
	running   bool // set once, under startOnce
	stopOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// overflow merges the counts of the keys past MaxKeys.
type overflow struct {
	counts map[string]int64
	keys   map[uint64]struct{} // hashes of the keys merged, at most MaxKeys
	full   bool                // a key may have been missed by keys
}

// round is the summaries of one interval that could not be recorded yet. They keep their
// record ids, so that a retry after a partly stored attempt stores each of them once.
type round struct {
	events   []Event
	failures int
}

// NewAggregator checks set and returns an aggregator; Start begins its intervals.
func NewAggregator(set AggregatorSettings) (*Aggregator, error) {
	var errs []error
	if set.Recorder == nil {
		errs = append(errs, errors.New("recorder is required"))
	}
	if set.Actor == "" {
		errs = append(errs, errors.New("actor is required"))
	}
	if set.Action == "" {
		errs = append(errs, errors.New("action is required"))
	}
	if set.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval must be positive, got %s", set.Interval))
	}
	if set.MaxKeys <= 0 {
		errs = append(errs, fmt.Errorf("max keys must be positive, got %d", set.MaxKeys))
	}
	if set.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("max retries must not be negative, got %d", set.MaxRetries))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("summary aggregator: %w", err)
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	if set.Outcome == "" {
		set.Outcome = OutcomeSuccess
	}
	if set.ResourceType == "" {
		set.ResourceType = "telemetry"
	}
	if set.KeyAttributes == [2]string{} {
		set.KeyAttributes = [2]string{AttrService, AttrSignal}
	}
	return &Aggregator{set: set, seed: maphash.MakeSeed(), start: time.Now(),
		counts: map[SummaryKey]map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Start records the summaries at the end of every interval, in the background.
func (a *Aggregator) Start() {
	a.startOnce.Do(func() {
		a.running = true
		go a.run()
	})
}

func (a *Aggregator) run() {
	defer close(a.done)
	tick := time.NewTicker(a.set.Interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			_ = a.Flush(ctx) // reported through the logger and OnFailed
			cancel()
		case <-a.stop:
			return
		}
	}
}

// Add merges one batch's counts under key: counts[i] is added to the count named names[i].
// Names must come from the component's configuration (e.g. "email.hash"), never from the
// data: only keys are bounded. Add takes a short lock and never waits for the ledger.
func (a *Aggregator) Add(key SummaryKey, names []string, counts []int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.countsOf(key)
	c[CountBatches]++
	for i, n := range counts {
		if n != 0 {
			c[names[i]] += n
		}
	}
}

// countsOf returns the counts of key, making them, or those of the overflow when MaxKeys
// keys are taken. It is called with mu held.
func (a *Aggregator) countsOf(key SummaryKey) map[string]int64 {
	if c, ok := a.counts[key]; ok {
		return c
	}
	key = SummaryKey{ID: fit(key.ID), Name: fit(key.Name)}
	if c, ok := a.counts[key]; ok {
		return c
	}
	if len(a.counts) < a.set.MaxKeys {
		// A copy: the key may point into a request buffer.
		key = SummaryKey{ID: strings.Clone(key.ID), Name: strings.Clone(key.Name)}
		c := map[string]int64{}
		a.counts[key] = c
		return c
	}
	o := a.overflow
	if o == nil {
		o = &overflow{counts: map[string]int64{}, keys: map[uint64]struct{}{}}
		a.overflow = o
	}
	h := maphash.Comparable(a.seed, key)
	if _, ok := o.keys[h]; !ok {
		if len(o.keys) < a.set.MaxKeys {
			o.keys[h] = struct{}{}
		} else {
			o.full = true
		}
	}
	return o.counts
}

// fit makes s valid UTF-8 without NUL bytes and at most maxKeyLen bytes long, as the ledger
// stores it.
func fit(s string) string {
	if len(s) <= maxKeyLen && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) > maxKeyLen {
		end := maxKeyLen
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		s = s[:end]
	}
	return s
}

// Flush ends the interval in progress and records its summaries, with those of earlier
// intervals that are waiting for a retry, in one call to the recorder. On failure the
// summaries are kept for the next flush, up to MaxRetries more attempts.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	if evs := a.swap(time.Now()); len(evs) > 0 {
		a.retry = append(a.retry, round{events: evs})
	}
	var evs []Event
	for _, r := range a.retry {
		evs = append(evs, r.events...)
	}
	if len(evs) == 0 {
		return nil
	}
	err := RecordAll(ctx, a.set.Recorder, evs)
	if err == nil {
		clear(a.retry)
		a.retry = a.retry[:0]
		if a.failing {
			a.failing = false
			a.set.Logger.Info("summaries are recorded in the audit ledger again", zap.String("component", a.set.Actor))
		}
		return nil
	}
	if a.set.OnFailed != nil {
		a.set.OnFailed(ctx, len(evs))
	}
	if !a.failing {
		a.failing = true
		a.set.Logger.Error("summaries could not be recorded in the audit ledger; they are kept and tried again at the next interval",
			zap.String("component", a.set.Actor), zap.Int("summaries", len(evs)), zap.Error(err))
	}
	kept, dropped := a.retry[:0], 0
	for _, r := range a.retry {
		if r.failures++; r.failures > a.set.MaxRetries {
			dropped += len(r.events)
			continue
		}
		kept = append(kept, r)
	}
	clear(a.retry[len(kept):])
	a.retry = kept
	a.dropped(ctx, dropped, err)
	return fmt.Errorf("recording %d summaries: %w", len(evs), err)
}

func (a *Aggregator) dropped(ctx context.Context, n int, err error) {
	if n == 0 {
		return
	}
	if a.set.OnDropped != nil {
		a.set.OnDropped(ctx, n)
	}
	a.set.Logger.Error("summaries given up: the audit ledger refused them at every retry; the component's metrics still count the decisions",
		zap.String("component", a.set.Actor), zap.Int("summaries", n), zap.Error(err))
}

// swap ends the interval in progress at end and returns its summaries.
func (a *Aggregator) swap(end time.Time) []Event {
	a.mu.Lock()
	counts, over, start := a.counts, a.overflow, a.start
	a.counts, a.overflow, a.start = make(map[SummaryKey]map[string]int64, len(counts)), nil, end
	a.mu.Unlock()

	n := len(counts)
	if over != nil {
		n++
	}
	if n == 0 {
		return nil
	}
	evs := make([]Event, 0, n)
	interval := map[string]string{
		AttrIntervalStart: start.UTC().Format(time.RFC3339Nano),
		AttrIntervalEnd:   end.UTC().Format(time.RFC3339Nano),
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(x, y SummaryKey) int {
		return cmp.Or(strings.Compare(x.ID, y.ID), strings.Compare(x.Name, y.Name))
	})
	for _, key := range keys {
		ev := a.event(key.ID, key.Name, counts[key], interval)
		ev.Attributes[a.set.KeyAttributes[0]], ev.Attributes[a.set.KeyAttributes[1]] = key.ID, key.Name
		if a.set.Describe != nil {
			a.set.Describe(key, &ev)
		}
		evs = append(evs, ev)
	}
	if over != nil {
		ev := a.event(OverflowResource, OverflowResource, over.counts, interval)
		ev.Counts[CountOverflowKeys] = int64(len(over.keys))
		ev.Attributes[AttrOverflow] = "true"
		if over.full {
			ev.Attributes[AttrOverflowKeys] = "at_least"
		}
		evs = append(evs, ev)
	}
	// One random prefix per interval: record ids that are unique across restarts and
	// collectors, and stable across the retries of this interval.
	prefix := rand.Text()
	for i := range evs {
		evs[i].RecordID = prefix + "-" + strconv.Itoa(i)
		evs[i].Time = end
	}
	return evs
}

func (a *Aggregator) event(id, name string, counts map[string]int64, interval map[string]string) Event {
	attrs := make(map[string]string, len(interval)+2)
	for k, v := range interval {
		attrs[k] = v
	}
	return Event{
		Actor:              Actor{Type: ActorSystem, ID: a.set.Actor},
		Action:             a.set.Action,
		Resource:           Resource{Type: a.set.ResourceType, ID: id, Name: name},
		Outcome:            a.set.Outcome,
		Counts:             counts,
		Attributes:         attrs,
		DataClassification: a.set.Classification,
	}
}

// Shutdown stops the intervals and records what is left within ctx. Summaries that still
// cannot be recorded are given up (OnDropped).
func (a *Aggregator) Shutdown(ctx context.Context) error {
	a.startOnce.Do(func() {}) // no intervals after shutdown
	if a.running {
		a.stopOnce.Do(func() { close(a.stop) })
		select {
		case <-a.done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the summaries being recorded: %w", ctx.Err())
		}
	}
	err := a.Flush(ctx)
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	n := 0
	for _, r := range a.retry {
		n += len(r.events)
	}
	a.retry = nil
	a.dropped(ctx, n, err)
	return err
}
