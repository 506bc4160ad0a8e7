//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/internal/ledger"
)

// webhook is a local HTTP endpoint that keeps the bodies posted to each path.
type webhook struct {
	mu     sync.Mutex
	bodies map[string][]string
	srv    *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{bodies: map[string][]string{}}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies[r.URL.Path] = append(w.bodies[r.URL.Path], string(b))
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) posted(path string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bodies[path]...)
}

// alertsConfig is a gateway whose audit trail takes applications' audit events (records mode,
// for keys with the audit scope) and the authenticator's failed logins, and alerts a security
// webhook on sensitive actions and a chat webhook on repeated failed logins.
const alertsConfig = `
extensions:
  api_key_auth:
    keys_file: ${env:KEYS_FILE}
    ledger: audit_ledger
    summary_interval: 1s
  audit_ledger:
    file: {directory: "${env:DIR}/audit"}
    checkpoint: {interval: 1s}
    alerts:
      webhooks:
        security: {endpoint: "${env:HOOK}/security"}
        chat: {endpoint: "${env:HOOK}/chat", format: slack}
      rules:
        - name: sensitive-actions
          actions: [action.executed, user.deleted, retention.changed, "api_key.*"]
          webhook: security
        - name: brute-force
          actions: [login.failure]
          threshold: {count: 10, window: 1m, by: actor_ip}
          webhook: chat
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:GRPC}", auth: {authenticator: api_key_auth}}
      http: {endpoint: "${env:HTTP}", auth: {authenticator: api_key_auth}}
processors:
  api_key_scope: {audit_scope: true}
exporters:
  audit/records: {ledger: audit_ledger, mode: records}
service:
  extensions: [audit_ledger, api_key_auth]
  telemetry:
    metrics: {level: none}
  pipelines:
    logs: {receivers: [otlp], processors: [api_key_scope], exporters: [audit/records]}
`

// TestAPIKeyLockoutAndAlerts runs the built collector with api_key_auth recording into the
// ledger and the ledger's alerts: a sensitive action sent through the audit exporter's records
// mode reaches the security webhook; an expired key is refused; ten failures in a row lock
// the address out (a valid key from it is then refused too); the failures are in the ledger as
// login.failure summaries, never one per request, and raise the brute-force alert.
func TestAPIKeyLockoutAndAlerts(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys.yaml")
	now := time.Now()
	keys, _ := writeKeysFile(t, keysFile,
		testKey{tenant: "acme", scopes: []apikeys.Scope{"logs", "audit"}},
		testKey{tenant: "acme", scopes: []apikeys.Scope{"logs", "audit"}, created: now.Add(-2 * time.Hour), expires: now.Add(-time.Hour)})
	auditor, expired := keys[0], keys[1]

	hook := newWebhook(t)
	env := map[string]string{"KEYS_FILE": keysFile, "DIR": dir, "HOOK": hook.srv.URL, "GRPC": FreeEndpoint(t), "HTTP": FreeEndpoint(t)}
	c := StartCollector(t, "alerts", WriteConfig(t, alertsConfig), env)

	// A sensitive action, recorded through records mode with a key that has the audit scope.
	o, err := TryTelemetrygen(t, "logs", "--otlp-endpoint", env["HTTP"], "--otlp-insecure", "--otlp-http", "--rate", "0", "--logs", "1",
		"--otlp-header", fmt.Sprintf(`X-API-Key="%s"`, auditor),
		"--telemetry-attributes", `audit.actor.type="user"`, "--telemetry-attributes", `audit.actor.id="alice"`,
		"--telemetry-attributes", `audit.actor.ip="10.1.2.3"`, "--telemetry-attributes", `audit.action="user.deleted"`,
		"--telemetry-attributes", `audit.resource.type="user"`, "--telemetry-attributes", `audit.resource.id="u-42"`)
	require.NoError(t, err, tail(o, 20))
	require.Eventually(t, func() bool { return len(hook.posted("/security")) == 1 }, 30*time.Second, 100*time.Millisecond,
		"the alert reaches the security webhook; collector log:\n%s", tail(c.Log(), 30))
	var alert struct {
		Rule  string       `json:"rule"`
		Seq   uint64       `json:"seq"`
		Hash  string       `json:"hash"`
		Event ledger.Event `json:"event"`
	}
	require.NoError(t, json.Unmarshal([]byte(hook.posted("/security")[0]), &alert))
	assert.Equal(t, "sensitive-actions", alert.Rule)
	assert.Equal(t, "user.deleted", alert.Event.Action)
	assert.Equal(t, "alice", alert.Event.ActorID)
	assert.Equal(t, "10.1.2.3", alert.Event.ActorIP)

	// An expired key is refused as such.
	o, _ = TryTelemetrygen(t, "logs", "--otlp-endpoint", env["HTTP"], "--otlp-insecure", "--otlp-http", "--rate", "0", "--logs", "1",
		"--otlp-header", fmt.Sprintf(`X-API-Key="%s"`, expired))
	assert.Contains(t, o, "401", tail(o, 10))

	// Ten failures in a row from this address: the expired key and nine wrong ones.
	wrong := auditor[:len(auditor)-4] + "AAAA"
	post := func(key string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+env["HTTP"]+"/v1/logs", strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 9 {
		status, body := post(wrong)
		require.Equal(t, http.StatusUnauthorized, status, "attempt %d: %s", i+1, body)
		assert.NotContains(t, body, "too many failed attempts", "attempt %d", i+1)
	}
	status, body := post(auditor)
	assert.Equal(t, http.StatusUnauthorized, status, "a valid key from a locked-out address is refused")
	assert.Contains(t, body, "too many failed attempts")
	o, _ = TryTelemetrygen(t, "logs", "--otlp-endpoint", env["GRPC"], "--otlp-insecure", "--rate", "0", "--logs", "1",
		"--otlp-header", fmt.Sprintf(`X-API-Key="%s"`, auditor))
	assert.Contains(t, o, "too many failed attempts", "over gRPC as well:\n%s", tail(o, 10))

	// The refusals are summarised in the ledger: per source and key id, with counts by reason.
	auditDir := filepath.Join(dir, "audit")
	failures := func() map[string]int64 {
		out := map[string]int64{}
		for _, e := range ledgerEntries(t, auditDir) {
			if e.Event.Action != "login.failure" {
				continue
			}
			assert.Equal(t, "127.0.0.1", e.Event.ActorIP)
			assert.Equal(t, "failure", e.Event.Status)
			for k, v := range e.Event.Counts {
				out[k] += v
			}
			out["entries"]++
		}
		return out
	}
	require.Eventually(t, func() bool { return failures()["locked_out"] >= 2 }, 30*time.Second, 200*time.Millisecond,
		"login.failure summaries; collector log:\n%s", tail(c.Log(), 30))
	got := failures()
	assert.Equal(t, int64(9), got["wrong"])
	assert.Equal(t, int64(1), got["expired"])
	assert.Equal(t, int64(2), got["locked_out"])
	assert.Equal(t, int64(12), got["attempts"], "1 expired, 9 wrong, 2 locked out")
	assert.LessOrEqual(t, got["entries"], int64(6), "summaries per interval and source, not one per request")

	// The failures crossed the brute-force threshold: the chat webhook got a Slack body.
	require.Eventually(t, func() bool { return len(hook.posted("/chat")) >= 1 }, 30*time.Second, 100*time.Millisecond)
	var chat map[string]string
	require.NoError(t, json.Unmarshal([]byte(hook.posted("/chat")[0]), &chat))
	assert.Contains(t, chat["text"], `Warden alert "brute-force"`)
	assert.Contains(t, chat["text"], "login.failure within 1m0s for actor_ip 127.0.0.1")

	// Each alert and its delivery are ledger entries.
	c.Stop()
	actions := map[string]int{}
	for _, e := range ledgerEntries(t, auditDir) {
		actions[e.Event.Action]++
	}
	assert.Equal(t, actions["alert.raised"], actions["alert.delivered"], "%v", actions)
	assert.GreaterOrEqual(t, actions["alert.delivered"], 2, "%v", actions)
	assert.Zero(t, actions["alert.failed"], "%v", actions)
}
