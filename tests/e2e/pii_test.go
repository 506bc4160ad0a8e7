//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"path/filepath"
	"regexp"
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

	"github.com/otelwarden/warden/internal/walk"
)

// plantedPII is the corpus of personal data and secrets: for each value, the part that must
// not survive (for a masked phone number, the whole number; its last digits may stay).
var plantedPII = []struct{ value, secret string }{
	{"jane.doe@example.com", "jane.doe@example.com"},
	{"j.smith+billing@mail.example.co.uk", "j.smith+billing@mail.example.co.uk"},
	{"ADMIN@Shop.Example.ORG", "ADMIN@Shop.Example.ORG"},
	{"4111 1111 1111 1111", "4111111111111111"},
	{"5555-5555-5555-4444", "5555555555554444"},
	{"3782 822463 10005", "378282246310005"},
	{"6011111111111117", "6011111111111117"},
	{"078-05-1120", "078-05-1120"},
	{"219-09-9999", "219-09-9999"},
	{"+44 20 7946 0958", "+44 20 7946 0958"},
	{"(415) 555-2671", "(415) 555-2671"},
	{"+1 415 555 2671", "+1 415 555 2671"},
	{"GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"},
	{"DE89370400440532013000", "DE89370400440532013000"},
	{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
	{"Authorization: Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"},
	{"Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="},
	{"AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
	{"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"},
	{"SELECT * FROM users WHERE email = 'bob@example.net' AND ssn = '219-09-9999'", "bob@example.net"},
}

// cleanValues look like personal data to a careless pattern and must pass verbatim.
var cleanValues = []string{
	"550e8400-e29b-41d4-a716-446655440000",
	"4bf92f3577b34da6a3ce929d0e0e4736",
	"v2.14.3",
	"2026-11-28T05:04:05.123Z",
	"1700000000004",
	"SKU-00042-XL",
	"ORD-2026-000123",
	"order 1234567812345678",
	"GET /api/v1/orders/{id}",
	"10.0.12.34",
	"https://shop.example.net/api/v1/orders?page=2&sort=desc",
}

const (
	sensitiveSecret = "hunter2-secret-pw"
	urlValue        = "https://admin:s3cr3t-pw@shop.example.net/checkout?email=jane.doe%40example.com&X-Amz-Signature=deadbeefcafe&q=shoes"
)

var urlSecrets = []string{"s3cr3t-pw", "deadbeefcafe", "jane.doe"}

// fill puts v in an attribute map, with a sensitive key and a URL beside it.
func fill(m pcommon.Map, v string) {
	m.PutStr("note", "ctx "+v+" end")
	m.PutStr("user.password", sensitiveSecret)
	m.PutStr("url.full", urlValue)
	m.PutEmptyMap("nested").PutEmptySlice("list").AppendEmpty().SetStr(v)
}

func corpusTraces(values []string) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, v := range values {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rs.Resource().Attributes(), v)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("corpus")
		fill(ss.Scope().Attributes(), v)
		span := ss.Spans().AppendEmpty()
		span.SetName("op " + v)
		span.SetTraceID(pcommon.TraceID{1, 2, 3})
		span.SetSpanID(pcommon.SpanID{4, 5, 6})
		fill(span.Attributes(), v)
		span.Status().SetMessage("failed for " + v)
		ev := span.Events().AppendEmpty()
		ev.SetName("event " + v)
		fill(ev.Attributes(), v)
		fill(span.Links().AppendEmpty().Attributes(), v)
	}
	return td
}

func corpusLogs(values []string) plog.Logs {
	ld := plog.NewLogs()
	for _, v := range values {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rl.Resource().Attributes(), v)
		sl := rl.ScopeLogs().AppendEmpty()
		fill(sl.Scope().Attributes(), v)
		for body := range 3 {
			lr := sl.LogRecords().AppendEmpty()
			fill(lr.Attributes(), v)
			switch body {
			case 0:
				lr.Body().SetStr("message: " + v)
			case 1:
				m := lr.Body().SetEmptyMap()
				m.PutEmptyMap("request").PutStr("detail", v)
				m.PutStr("password", sensitiveSecret)
			case 2:
				lr.Body().SetEmptySlice().AppendEmpty().SetStr(v)
			}
		}
	}
	return ld
}

func corpusMetrics(values []string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, v := range values {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rm.Resource().Attributes(), v)
		sm := rm.ScopeMetrics().AppendEmpty()
		fill(sm.Scope().Attributes(), v)
		g := sm.Metrics().AppendEmpty()
		g.SetName("corpus.gauge")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetIntValue(1)
		fill(dp.Attributes(), v)
		s := sm.Metrics().AppendEmpty()
		s.SetName("corpus.sum")
		sdp := s.SetEmptySum().DataPoints().AppendEmpty()
		sdp.SetDoubleValue(2)
		fill(sdp.Attributes(), v)
		h := sm.Metrics().AppendEmpty()
		h.SetName("corpus.histogram")
		hdp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
		hdp.SetCount(1)
		fill(hdp.Attributes(), v)
	}
	return md
}

func post(t *testing.T, endpoint, path string, body []byte) {
	t.Helper()
	resp, err := http.Post("http://"+endpoint+path, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s", path)
}

// allStrings collects every string value, name and status message the walker sees.
func allStrings() (*walk.Walker, *[]string) {
	var out []string
	w := walk.New(walk.VisitorFunc(func(_ *walk.Location, v string) (walk.Op, string) {
		out = append(out, v)
		return walk.Keep, ""
	}))
	return w, &out
}

var nonDigits = regexp.MustCompile(`[^0-9]`)

// assertProtected checks that no planted secret survives in any string, also with separators
// removed for the numeric ones, and that every clean value passes verbatim.
func assertProtected(t *testing.T, what string, strs []string) {
	t.Helper()
	text := strings.Join(strs, "\n")
	for _, p := range plantedPII {
		assert.NotContains(t, text, p.secret, "%s: %q survived", what, p.value)
		if digits := nonDigits.ReplaceAllString(p.secret, ""); len(digits) >= 13 && digits == nonDigits.ReplaceAllString(p.value, "") {
			for _, s := range strs {
				assert.NotContains(t, nonDigits.ReplaceAllString(s, ""), digits, "%s: the digits of %q survived in %q", what, p.value, s)
			}
		}
	}
	assert.NotContains(t, text, sensitiveSecret, what)
	for _, s := range urlSecrets {
		assert.NotContains(t, text, s, what)
	}
	for _, c := range cleanValues {
		assert.Contains(t, text, c, "%s: clean value %q was changed", what, c)
	}
	assert.Contains(t, text, "q=shoes", "%s: the clean parts of a URL stay", what)
}

// TestPIICorpusNothingPlantedSurvives sends a corpus with personal data in every kind of field
// of every signal through the default config, and reads the output back.
func TestPIICorpusNothingPlantedSurvives(t *testing.T) {
	c, env := startDefault(t, "pii-corpus")
	ep, data := env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_DATA_DIR"]
	values := make([]string, 0, len(plantedPII)+len(cleanValues))
	for _, p := range plantedPII {
		values = append(values, p.value)
	}
	values = append(values, cleanValues...)

	tb, err := ptraceotlp.NewExportRequestFromTraces(corpusTraces(values)).MarshalProto()
	require.NoError(t, err)
	post(t, ep, "/v1/traces", tb)
	lb, err := plogotlp.NewExportRequestFromLogs(corpusLogs(values)).MarshalProto()
	require.NoError(t, err)
	post(t, ep, "/v1/logs", lb)
	mb, err := pmetricotlp.NewExportRequestFromMetrics(corpusMetrics(values)).MarshalProto()
	require.NoError(t, err)
	post(t, ep, "/v1/metrics", mb)

	Eventually(t, "spans", len(values), SpanCount(t, filepath.Join(data, "traces.jsonl")), 30*time.Second, c)
	Eventually(t, "log records", 3*len(values), LogCount(t, filepath.Join(data, "logs.jsonl")), 30*time.Second, c)
	Eventually(t, "data points", 3*len(values), DataPointCount(t, filepath.Join(data, "metrics.jsonl")), 30*time.Second, c)
	c.Stop()

	w, strs := allStrings()
	w.Traces(ReadTraces(t, filepath.Join(data, "traces.jsonl")))
	assertProtected(t, "traces", *strs)
	w, strs = allStrings()
	w.Logs(ReadLogs(t, filepath.Join(data, "logs.jsonl")))
	assertProtected(t, "logs", *strs)
	w, strs = allStrings()
	w.Metrics(ReadMetrics(t, filepath.Join(data, "metrics.jsonl")))
	assertProtected(t, "metrics", *strs)

	// The ledger holds one summary per batch with findings, and verifies.
	var summaries int
	for _, e := range ledgerEntries(t, filepath.Join(data, "audit")) {
		if e.Event.Action == "pii.redact" {
			summaries++
			assert.Equal(t, "corpus", e.Event.ResourceID)
			assert.Positive(t, e.Event.Counts["card.redact"]+e.Event.Counts["email.hash"])
		}
	}
	assert.GreaterOrEqual(t, summaries, 3, "one per signal at least")
	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(data, "audit"),
		"--public-key", filepath.Join(data, "audit-signing.key.pub"))
	assert.Equal(t, 0, code, out)
}

// TestPIIDefaultConfigWithTelemetrygen sends telemetrygen's own traces, logs and metrics with
// planted attributes and bodies through the default config.
func TestPIIDefaultConfigWithTelemetrygen(t *testing.T) {
	c, env := startDefault(t, "pii-telemetrygen")
	ep, data := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_DATA_DIR"]
	attrs := []string{
		"--telemetry-attributes", `user.email="jane.doe@example.com"`,
		"--telemetry-attributes", `payment.note="card 4111 1111 1111 1111"`,
		"--telemetry-attributes", `user.password="hunter2-secret-pw"`,
		"--telemetry-attributes", `order.id="ORD-2026-000123"`,
		"--telemetry-attributes", `order.number="1234567812345678"`,
	}
	common := append([]string{"--otlp-endpoint", ep, "--otlp-insecure", "--rate", "0"}, attrs...)
	Telemetrygen(t, "traces", append(common, "--traces", "5", "--service", "shop")...)
	Telemetrygen(t, "logs", append(common, "--logs", "5", "--body", "ssn 078-05-1120 for jane.doe@example.com")...)
	Telemetrygen(t, "metrics", append(common, "--metrics", "5")...)
	Eventually(t, "spans", 10, SpanCount(t, filepath.Join(data, "traces.jsonl")), 30*time.Second, c)
	Eventually(t, "log records", 5, LogCount(t, filepath.Join(data, "logs.jsonl")), 30*time.Second, c)
	Eventually(t, "data points", 5, DataPointCount(t, filepath.Join(data, "metrics.jsonl")), 30*time.Second, c)
	c.Stop()

	for _, f := range []string{"traces.jsonl", "logs.jsonl", "metrics.jsonl"} {
		raw := string(bytes.Join(jsonLines(t, filepath.Join(data, f)), []byte("\n")))
		for _, leak := range []string{"jane.doe@example.com", "4111 1111 1111 1111", "hunter2-secret-pw", "078-05-1120"} {
			assert.NotContains(t, raw, leak, f)
		}
		assert.Contains(t, raw, "[HASH:email:v1:", f)
		assert.Contains(t, raw, "card [REDACTED:card]", f)
		assert.Contains(t, raw, "[REDACTED:sensitive_key]", f)
		assert.Contains(t, raw, "ORD-2026-000123", f)
		assert.Contains(t, raw, "1234567812345678", f)
	}
	logs := string(bytes.Join(jsonLines(t, filepath.Join(data, "logs.jsonl")), nil))
	assert.Contains(t, logs, "ssn [REDACTED:ssn] for [HASH:email:v1:", "the body")
	assert.Contains(t, c.Log(), "no hash key is configured", "the default warns that hashes join within the process only")
}
