//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/walk"
)

// encryptedCorpus is what the default config encrypts, by field, with values of every type.
// The values are unlike personal data (pii_redaction would have nothing to find in them), so
// that a value that passed in clear would be seen as it is.
var encryptedCorpus = map[string]any{
	"user.password":                     "pw-Tz8yQw2rM4",
	"db.password":                       "pw-x9Kd3Lr0aa",
	"payments.api_key":                  "ak_live_51JfQz8RrT",
	"billing.api_key":                   int64(918273645546372819),
	"feature.api_key":                   true,
	"search.api_key":                    0.125,
	"structured.api_key":                map[string]any{"id": "ak-123", "scopes": []any{"read", "write"}},
	"http.request.header.authorization": "Token tk-7hG2mNq0Lp",
}

// plantCorpus puts the corpus into an attribute map.
func plantCorpus(t *testing.T, m pcommon.Map) {
	t.Helper()
	require.NoError(t, m.FromRaw(mergeRaw(m.AsRaw(), encryptedCorpus)))
}

func mergeRaw(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func corpusSignals(t *testing.T) (ptrace.Traces, plog.Logs, pmetric.Metrics) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "vault-client")
	plantCorpus(t, rs.Resource().Attributes())
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("login")
	plantCorpus(t, span.Attributes())
	plantCorpus(t, span.Events().AppendEmpty().Attributes())

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "vault-client")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("login attempt")
	plantCorpus(t, lr.Attributes())

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "vault-client")
	dp := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum().DataPoints().AppendEmpty()
	dp.SetIntValue(1)
	plantCorpus(t, dp.Attributes())
	return td, ld, md
}

// corpusSecrets are the corpus's values as they appear in OTLP JSON, which must not survive.
func corpusSecrets() []string {
	return []string{"pw-Tz8yQw2rM4", "pw-x9Kd3Lr0aa", "ak_live_51JfQz8RrT", "918273645546372819", "ak-123", "tk-7hG2mNq0Lp"}
}

// selectedValues collects, with where they are, the values of the corpus's fields.
func selectedValues(t *testing.T, walkSignal func(*walk.Walker, walk.ValueVisitor) error) map[string][]pcommon.Value {
	out := map[string][]pcommon.Value{}
	vis := walk.ValueVisitorFunc(func(_ context.Context, loc *walk.Location, v pcommon.Value) (walk.Op, error) {
		cp := pcommon.NewValueEmpty()
		v.CopyTo(cp)
		out[string(loc.AppendPath(nil))] = append(out[string(loc.AppendPath(nil))], cp)
		return walk.Keep, nil
	})
	var w walk.Walker
	require.NoError(t, walkSignal(&w, vis))
	return out
}

func corpusSelector(t *testing.T) *walk.Selector {
	var ps []walk.Pattern
	for k := range encryptedCorpus {
		ps = append(ps, walk.Pattern{Key: k})
	}
	sel, err := walk.CompileSelector(ps...)
	require.NoError(t, err)
	return sel
}

// TestFieldEncryptionDefaultConfig sends the corpus in every signal and at several levels
// through the embedded default config: no configured field's plaintext reaches the output, each
// is a ciphertext that pii_redaction (which runs after) left intact, and wardenctl decrypt with
// the development keyring restores every field exactly, with its type.
func TestFieldEncryptionDefaultConfig(t *testing.T) {
	c, env := startDefault(t, "fields")
	ep, data := env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_DATA_DIR"]
	td, ld, md := corpusSignals(t)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/traces", body)
	body, err = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/logs", body)
	body, err = pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/metrics", body)
	// telemetrygen's own records, with fields as attributes of every item.
	Telemetrygen(t, "logs", "--otlp-endpoint", env["WARDEN_OTLP_GRPC_ENDPOINT"], "--otlp-insecure", "--rate", "0", "--logs", "5",
		"--telemetry-attributes", `user.password="pw-Tz8yQw2rM4"`, "--telemetry-attributes", `payments.api_key="ak_live_51JfQz8RrT"`)
	Eventually(t, "spans", 1, SpanCount(t, filepath.Join(data, "traces.jsonl")), 20*time.Second, c)
	Eventually(t, "log records", 6, LogCount(t, filepath.Join(data, "logs.jsonl")), 20*time.Second, c)
	Eventually(t, "data points", 1, DataPointCount(t, filepath.Join(data, "metrics.jsonl")), 20*time.Second, c)
	c.Stop()
	assert.Contains(t, c.Log(), "this is a development key", "the created keyring is announced as such")

	sel := corpusSelector(t)
	keyring := filepath.Join(data+".keys", "field-keyring.json")
	for _, f := range []string{"traces.jsonl", "logs.jsonl", "metrics.jsonl"} {
		path := filepath.Join(data, f)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, secret := range corpusSecrets() {
			assert.NotContains(t, string(raw), secret, "%s: a configured field's plaintext reached the output", f)
		}
		assert.Contains(t, string(raw), "wenc:v1:", f)

		// Every configured field is a ciphertext, left intact by pii_redaction.
		var found map[string][]pcommon.Value
		switch f {
		case "traces.jsonl":
			out := ReadTraces(t, path)
			found = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectTraces(context.Background(), out, sel, v)
			})
		case "logs.jsonl":
			out := ReadLogs(t, path)
			found = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectLogs(context.Background(), out, sel, v)
			})
		case "metrics.jsonl":
			out := ReadMetrics(t, path)
			found = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectMetrics(context.Background(), out, sel, v)
			})
		}
		require.NotEmpty(t, found, f)
		for field, vs := range found {
			for _, v := range vs {
				assert.True(t, v.Type() == pcommon.ValueTypeStr && fieldcrypt.IsCiphertext(v.Str()), "%s %s: %s", f, field, v.AsString())
			}
		}

		// wardenctl decrypt restores every field, typed.
		clear := filepath.Join(t.TempDir(), "clear-"+f)
		code, out := wardenctl(t, "decrypt", "--keyring", keyring, "--in", path, "--out", clear)
		require.Equal(t, 0, code, out)
		assert.Contains(t, out, "fields decrypted")
		var restored map[string][]pcommon.Value
		switch f {
		case "traces.jsonl":
			back := ReadTraces(t, clear)
			restored = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectTraces(context.Background(), back, sel, v)
			})
		case "logs.jsonl":
			back := ReadLogs(t, clear)
			restored = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectLogs(context.Background(), back, sel, v)
			})
		case "metrics.jsonl":
			back := ReadMetrics(t, clear)
			restored = selectedValues(t, func(w *walk.Walker, v walk.ValueVisitor) error {
				return w.SelectMetrics(context.Background(), back, sel, v)
			})
		}
		require.Equal(t, len(found), len(restored), f)
		for field, vs := range restored {
			for _, v := range vs {
				// telemetrygen's records carry the corpus's string values too.
				assert.Equal(t, encryptedCorpus[field], v.AsRaw(), "%s %s restored exactly, with its type", f, field)
			}
		}
	}
}

// TestFieldEncryptionShreddedTenant runs two tenants through a collector whose keyring gives one
// of them its own key, shreds that tenant's key, and checks that its fields cannot be recovered
// while the other tenant's decrypt; both decrypts and the shred are recorded in a ledger.
func TestFieldEncryptionShreddedTenant(t *testing.T) {
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keys", "field-keyring.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(keyring), 0o700))
	code, out := wardenctl(t, "keys", "generate", "--out", keyring)
	require.Equal(t, 0, code, out)
	code, out = wardenctl(t, "keys", "rotate", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, 0, code, out)

	grpc := FreeEndpoint(t)
	cfg := WriteConfig(t, `
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:GRPC}"}
processors:
  field_encryption:
    fields: [{key: "*password"}]
    provider: {local: {keyring: "${env:KEYRING}"}}
    tenant: {attribute: tenant.id}
exporters:
  file:
    path: ${env:DIR}/out/logs.jsonl
    create_directory: true
service:
  pipelines:
    logs: {receivers: [otlp], processors: [field_encryption], exporters: [file]}
`)
	c := StartCollector(t, "tenants", cfg, map[string]string{"DIR": dir, "GRPC": grpc, "KEYRING": keyring})
	for _, tenant := range []string{"acme", "globex"} {
		Telemetrygen(t, "logs", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--logs", "3",
			"--otlp-attributes", `tenant.id="`+tenant+`"`, "--telemetry-attributes", `user.password="pw-of-`+tenant+`"`)
	}
	output := filepath.Join(dir, "out", "logs.jsonl")
	Eventually(t, "log records", 6, LogCount(t, output), 20*time.Second, c)
	c.Stop()
	raw, err := os.ReadFile(output)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "pw-of-", "no tenant's password in clear")

	ledgerDir := filepath.Join(dir, "audit")
	code, out = wardenctl(t, "keys", "shred", "--keyring", keyring, "--tenant", "acme", "--ledger-dir", ledgerDir)
	require.Equal(t, 0, code, out)
	clear := filepath.Join(dir, "clear.jsonl")
	code, out = wardenctl(t, "decrypt", "--keyring", keyring, "--in", output, "--out", clear, "--ledger-dir", ledgerDir)
	assert.Equal(t, 1, code, "acme's fields stay encrypted: %s", out)
	assert.Contains(t, out, "shredded")
	back, err := os.ReadFile(clear)
	require.NoError(t, err)
	assert.Equal(t, 3, bytes.Count(back, []byte(`"pw-of-globex"`)), "globex's fields decrypt")
	assert.NotContains(t, string(back), "pw-of-acme", "acme's are unrecoverable")
	assert.Equal(t, 3, strings.Count(string(back), "wenc:v1:"), "acme's stay ciphertext")

	// The shred and the decrypt are in the ledger, which verifies.
	var actions []string
	for _, e := range ledgerEntries(t, ledgerDir) {
		actions = append(actions, e.Event.Action)
		if e.Event.Action == "gdpr.erasure_completed" {
			assert.Equal(t, "tenant", e.Event.ResourceType)
			assert.Equal(t, "acme", e.Event.ResourceID)
		}
	}
	assert.Contains(t, actions, "gdpr.erasure_completed")
	assert.Contains(t, actions, "telemetry.decrypt")
	code, out = wardenctl(t, "audit", "verify", "--dir", ledgerDir, "--no-signatures")
	assert.Equal(t, 0, code, out)
}
