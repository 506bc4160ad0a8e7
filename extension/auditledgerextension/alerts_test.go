package auditledgerextension

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadatatest"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

// hookServer is a webhook on 127.0.0.1 that keeps what it receives and answers with the
// status it is set to; it can be taken down and brought back on the same address.
type hookServer struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	status int
	bodies [][]byte
	keys   []string
	srv    *httptest.Server
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{t: t, status: http.StatusOK}
	h.up()
	t.Cleanup(h.down)
	return h
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	status := h.status
	if status < 300 {
		h.bodies = append(h.bodies, body)
		h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	}
	h.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte("answer " + http.StatusText(status)))
}

func (h *hookServer) up() {
	addr := h.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	require.Eventually(h.t, func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	h.mu.Lock()
	h.srv, h.addr = srv, ln.Addr().String()
	h.mu.Unlock()
}

func (h *hookServer) down() {
	h.mu.Lock()
	srv := h.srv
	h.srv = nil
	h.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

func (h *hookServer) setStatus(s int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = s
}

func (h *hookServer) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

func (h *hookServer) url() string { return "http://" + h.addr + "/hook" }

// alertConfig is a ledger with one fast-retrying webhook and rules.
func alertConfig(t *testing.T, endpoint string, format alerting.Format, rules ...alerting.RuleConfig) *Config {
	cfg := testConfig(t, filepath.Join(t.TempDir(), "audit"))
	w := alerting.NewDefaultWebhookConfig()
	w.Endpoint, w.Format, w.Timeout = endpoint, format, 2*time.Second
	w.RetryOnFailure.InitialInterval, w.RetryOnFailure.MaxInterval = 20*time.Millisecond, 100*time.Millisecond
	w.RetryOnFailure.MaxElapsedTime = 0
	cfg.Alerts.Webhooks = map[string]alerting.WebhookConfig{"security": w}
	for i := range rules {
		if rules[i].Webhook == "" {
			rules[i].Webhook = "security"
		}
	}
	cfg.Alerts.Rules = rules
	require.NoError(t, cfg.Validate())
	return cfg
}

var sensitive = alerting.RuleConfig{Name: "sensitive", Actions: []string{"action.executed", "user.deleted", "retention.changed", "api_key.*"}}

func userDeleted() audit.Event {
	return audit.Event{
		Actor:    audit.Actor{Type: audit.ActorUser, ID: "alice", Email: "alice@example.com", IP: "192.0.2.10"},
		Action:   "user.deleted",
		Resource: audit.Resource{Type: "user", ID: "u-42", Name: "bob"},
		Outcome:  audit.OutcomeSuccess,
	}
}

// stored returns the entries of the ledger's stream, by action.
func stored(t *testing.T, l *ledgerExtension) map[string][]ledger.Entry {
	t.Helper()
	r, err := ledger.NewEntryReader(filepath.Join(l.cfg.File.Directory, l.stream), 1)
	require.NoError(t, err)
	defer r.Close()
	out := map[string][]ledger.Entry{}
	for {
		line, _, err := r.Next()
		if err != nil {
			return out
		}
		e, err := ledger.ParseEntry(line)
		require.NoError(t, err)
		out[e.Event.Action] = append(out[e.Event.Action], e)
	}
}

func TestAlertReachesTheWebhookAndIsRecorded(t *testing.T) {
	hook := newHookServer(t)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatJSON, sensitive), tel)

	require.NoError(t, l.Record(context.Background(), event(1)), "not a sensitive action")
	require.NoError(t, l.Record(context.Background(), userDeleted()))
	require.Eventually(t, func() bool { return len(stored(t, l)[alerting.ActionDelivered]) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))

	bodies := hook.received()
	require.Len(t, bodies, 1, "one alert: the other entry matches no rule")
	var got struct {
		AlertID  string `json:"alert_id"`
		RecordID string `json:"record_id"`
		Rule     string
		Summary  string
		Hash     string
		Seq      uint64
		Event    ledger.Event
	}
	require.NoError(t, json.Unmarshal(bodies[0], &got))
	entries := stored(t, l)
	trigger := entries["user.deleted"][0]
	assert.Equal(t, "sensitive", got.Rule)
	assert.Equal(t, trigger.Seq, got.Seq, "the alert names the entry, which verify can check")
	assert.Equal(t, trigger.Hash, got.Hash)
	assert.Equal(t, trigger.RecordID, got.RecordID)
	assert.Equal(t, "alice", got.Event.ActorID)
	assert.Equal(t, "192.0.2.10", got.Event.ActorIP)
	assert.Contains(t, got.Summary, `Warden alert "sensitive": user.deleted success by user alice (192.0.2.10) on user u-42`)
	assert.Equal(t, hook.keys[0], got.AlertID, "the alert id is the idempotency key of every attempt")

	raised, delivered := entries[alerting.ActionRaised], entries[alerting.ActionDelivered]
	require.Len(t, raised, 1)
	require.Len(t, delivered, 1)
	assert.Equal(t, got.AlertID, raised[0].Event.Attributes["alert_id"])
	assert.Equal(t, "user.deleted", raised[0].Event.Attributes["trigger.action"])
	assert.Equal(t, trigger.Hash, raised[0].Event.Attributes["trigger.hash"])
	assert.Equal(t, int64(1), delivered[0].Event.Counts["attempts"])
	assert.Equal(t, int64(200), delivered[0].Event.Counts["http_status"])
	assert.Equal(t, "success", delivered[0].Event.Status)
	report := verifyDir(t, l.cfg.File.Directory, publicKey(t, l.cfg.Checkpoint.SigningKeyFile+".pub"))
	assert.Equal(t, delivered[0].Seq+1, report.LastSeq, "the alert entries are chained and verify like any other; the stop entry follows")

	metadatatest.AssertEqualAuditLedgerAlerts(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("webhook", "security"), attribute.String("outcome", "delivered"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("webhook", "security"), attribute.String("outcome", "raised"))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestAlertSlackBody(t *testing.T) {
	hook := newHookServer(t)
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatSlack, sensitive), nil)
	ev := userDeleted()
	ev.Actor.ID = "<script>&"
	require.NoError(t, l.Record(context.Background(), ev))
	require.Eventually(t, func() bool { return len(hook.received()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))
	var body map[string]string
	require.NoError(t, json.Unmarshal(hook.received()[0], &body))
	require.Len(t, body, 1, "Slack's incoming webhooks take a text")
	assert.Contains(t, body["text"], "user.deleted success by user &lt;script&gt;&amp;")
}

func TestAlertSurvivesAWebhookOutage(t *testing.T) {
	hook := newHookServer(t)
	hook.down()
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatJSON, sensitive), nil)
	require.NoError(t, l.Record(context.Background(), userDeleted()), "recording never waits for the webhook")
	time.Sleep(300 * time.Millisecond) // several attempts fail
	assert.Empty(t, stored(t, l)[alerting.ActionDelivered])
	hook.setStatus(http.StatusServiceUnavailable)
	hook.up() // back, but not ready
	time.Sleep(200 * time.Millisecond)
	hook.setStatus(http.StatusOK)
	require.Eventually(t, func() bool { return len(stored(t, l)[alerting.ActionDelivered]) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))

	require.Len(t, hook.received(), 1)
	delivered := stored(t, l)[alerting.ActionDelivered][0]
	assert.Greater(t, delivered.Event.Counts["attempts"], int64(2), "delivered after the retries")
	assert.Empty(t, stored(t, l)[alerting.ActionFailed])
}

func TestAlertRefusedOrUndeliveredIsRecordedAsFailed(t *testing.T) {
	hook := newHookServer(t)
	hook.setStatus(http.StatusBadRequest)
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatJSON, sensitive), nil)
	require.NoError(t, l.Record(context.Background(), userDeleted()))
	require.Eventually(t, func() bool { return len(stored(t, l)[alerting.ActionFailed]) == 1 }, 10*time.Second, 10*time.Millisecond)
	failed := stored(t, l)[alerting.ActionFailed][0]
	assert.Equal(t, int64(1), failed.Event.Counts["attempts"], "a 400 is the webhook's refusal: not retried")
	assert.Equal(t, int64(400), failed.Event.Counts["http_status"])
	assert.Contains(t, failed.Event.ErrorMessage, "400 Bad Request")
	assert.Equal(t, "failure", failed.Event.Status)

	// Down until the collector stops: the alert is recorded as not delivered, not forgotten.
	hook.down()
	ev := userDeleted()
	ev.Action = "retention.changed"
	require.NoError(t, l.Record(context.Background(), ev))
	require.Eventually(t, func() bool { return len(stored(t, l)[alerting.ActionRaised]) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))
	entries := stored(t, l)
	require.Len(t, entries[alerting.ActionFailed], 2)
	assert.Contains(t, entries[alerting.ActionFailed][1].Event.ErrorMessage, "not delivered before the collector stopped")
	stops := entries[ledger.ActionStop]
	require.Len(t, stops, 1)
	assert.Less(t, entries[alerting.ActionFailed][1].Seq, stops[0].Seq, "recorded before the ledger stops")
}

func TestAlertThresholdCountsAttemptsPerAddress(t *testing.T) {
	hook := newHookServer(t)
	rule := alerting.RuleConfig{
		Name: "brute-force", Actions: []string{"login.failure"}, Outcomes: []audit.Outcome{audit.OutcomeFailure},
		Threshold: &alerting.ThresholdConfig{Count: 10, Window: time.Minute, By: alerting.GroupByActorIP, MaxGroups: 100},
	}
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatJSON, rule), nil)
	failure := func(ip string, attempts int64) audit.Event {
		return audit.Event{
			Actor: audit.Actor{Type: audit.ActorService, ID: "k-1", IP: ip}, Action: "login.failure",
			Resource: audit.Resource{Type: "source", ID: ip}, Outcome: audit.OutcomeFailure,
			Counts: map[string]int64{"attempts": attempts},
		}
	}
	for _, ev := range []audit.Event{failure("192.0.2.7", 4), failure("198.51.100.1", 9), failure("192.0.2.7", 4)} {
		require.NoError(t, l.Record(context.Background(), ev))
	}
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, hook.received(), "8 and 9 attempts: below the threshold")
	require.NoError(t, l.Record(context.Background(), failure("192.0.2.7", 3)))
	require.Eventually(t, func() bool { return len(hook.received()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Record(context.Background(), failure("192.0.2.7", 1)))
	require.NoError(t, l.Shutdown(context.Background()))

	require.Len(t, hook.received(), 1, "the count starts again after an alert")
	var got struct {
		Summary   string
		Threshold alerting.Reached
	}
	require.NoError(t, json.Unmarshal(hook.received()[0], &got))
	assert.Equal(t, alerting.Reached{Count: 11, Window: "1m0s", By: alerting.GroupByActorIP, Group: "192.0.2.7"}, got.Threshold)
	assert.True(t, strings.HasPrefix(got.Summary, `Warden alert "brute-force": 11 login.failure within 1m0s for actor_ip 192.0.2.7`), got.Summary)
}

func TestAlertEntriesRaiseNoAlerts(t *testing.T) {
	hook := newHookServer(t)
	l := startLedger(t, alertConfig(t, hook.url(), alerting.FormatJSON, alerting.RuleConfig{Name: "everything", Actions: []string{"*"}}), nil)
	require.NoError(t, l.Record(context.Background(), userDeleted()))
	// The ledger's start entry and user.deleted.
	require.Eventually(t, func() bool { return len(stored(t, l)[alerting.ActionDelivered]) == 2 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))
	var actions []string
	for _, b := range hook.received() {
		var got struct{ Event ledger.Event }
		require.NoError(t, json.Unmarshal(b, &got))
		actions = append(actions, got.Event.Action)
	}
	assert.NotContains(t, actions, alerting.ActionRaised)
	assert.NotContains(t, actions, alerting.ActionDelivered)
	assert.Equal(t, []string{ledger.ActionStart, "user.deleted"}, actions)
}

func TestAlertQueueFullIsCountedAndRecorded(t *testing.T) {
	hook := newHookServer(t)
	hook.down()
	cfg := alertConfig(t, hook.url(), alerting.FormatJSON, sensitive)
	cfg.Alerts.QueueSize = 2
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	l := startLedger(t, cfg, tel)
	for range 10 {
		require.NoError(t, l.Record(context.Background(), userDeleted()))
	}
	require.NoError(t, l.Shutdown(context.Background()))
	entries := stored(t, l)
	raised, failed := len(entries[alerting.ActionRaised]), len(entries[alerting.ActionFailed])
	var dropped int64
	for _, e := range entries[alerting.ActionDropped] {
		dropped += e.Event.Counts["alerts"]
	}
	assert.Equal(t, raised, failed, "every alert raised ends in an outcome")
	assert.Equal(t, int64(10), int64(raised)+dropped, "every matching entry is an alert raised or dropped")
	assert.Positive(t, dropped)

	// The metric counts what the entries record, alerts still queued at shutdown included.
	m, err := tel.GetMetric("otelcol_audit_ledger_alerts")
	require.NoError(t, err)
	counted := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		outcome, _ := dp.Attributes.Value("outcome")
		counted[outcome.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"raised": int64(raised), "failed": int64(failed), "dropped": dropped}, counted)
}

func TestAlertWebhookThatCannotBeBuiltIsAStartError(t *testing.T) {
	cfg := alertConfig(t, "https://127.0.0.1:1/hook", alerting.FormatJSON, sensitive)
	w := cfg.Alerts.Webhooks["security"]
	w.TLS.CAFile = filepath.Join(t.TempDir(), "missing-ca.pem")
	cfg.Alerts.Webhooks["security"] = w
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "alerts: webhooks: security: tls:")
	require.NoError(t, ext.Shutdown(context.Background()))
}
