//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
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

	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/walk"
)

// plantedValue is one piece of personal data or one secret of the corpus.
type plantedValue struct {
	kind  string
	value string // as written into the telemetry
	// secrets must not survive anywhere; nil means value itself. For a masked phone number
	// this is the whole number: its last digits may stay.
	secrets []string
	// digits: the value's digits must not survive either with the separators removed
	// (cards, phone numbers).
	digits bool
}

func (p plantedValue) mustVanish() []string {
	if p.secrets == nil {
		return []string{p.value}
	}
	return p.secrets
}

// jwtOf builds a token with a real JSON header and payload, so that only its shape and its
// decodable "alg" header can give it away.
func jwtOf(header, payload, signature string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + signature
}

var (
	jwtHS256 = jwtOf(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"1234567890","name":"Jane Doe"}`, "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
	jwtRS256 = jwtOf(`{"alg":"RS256","kid":"2026-11"}`, `{"email":"jwt.user@example.org","exp":1893456000}`, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
	jwtES256 = jwtOf(`{"typ":"JWT","alg":"ES256"}`, `{"sub":"svc-checkout","scope":"orders:write"}`, "MEUCIQDx8kP2Yv3bq9Lm7Zr4Tn6Hs1Wc5Xa0Jd8Fe2Gk3Ri")
)

// jwtParts are the payload and signature of a token: none of them may survive alone.
func jwtParts(tok string) []string {
	parts := strings.Split(tok, ".")
	return []string{tok, parts[1], parts[2]}
}

const (
	pemRSA = "-----BEGIN RSA PRIVATE KEY-----\n" +
		"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
		"-----END RSA PRIVATE KEY-----"
	pemPKCS8 = "-----BEGIN PRIVATE KEY-----\n" +
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n" +
		"-----END PRIVATE KEY-----"
	pemOpenSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"-----END OPENSSH PRIVATE KEY-----"
)

// plantedPII is the corpus of personal data and secrets, several values of every type, in the
// notations real telemetry has.
var plantedPII = []plantedValue{
	{kind: "email", value: "jane.doe@example.com"},
	{kind: "email", value: "j.smith+billing@mail.example.co.uk"},
	{kind: "email", value: "ADMIN@Shop.Example.ORG"},
	{kind: "email", value: "maria_garcia-lopez@corp-mail.io"},
	{kind: "email", value: "contact me at o.reilly@sub.domain.example.travel today", secrets: []string{"o.reilly@sub.domain.example.travel"}},

	{kind: "card", value: "4111 1111 1111 1111", digits: true},
	{kind: "card", value: "4012-8888-8888-1881", digits: true},
	{kind: "card", value: "4242424242424242", digits: true},
	{kind: "card", value: "5555 5555 5555 4444", digits: true},
	{kind: "card", value: "5105-1051-0510-5100", digits: true},
	{kind: "card", value: "2223 0031 2200 3222", digits: true},
	{kind: "card", value: "3782 822463 10005", digits: true},
	{kind: "card", value: "3714-496353-98431", digits: true},
	{kind: "card", value: "378734493671000", digits: true},
	{kind: "card", value: "6011 1111 1111 1117", digits: true},
	{kind: "card", value: "card 4111-1111-1111-1111 exp 12/29", secrets: []string{"4111-1111-1111-1111"}, digits: true},

	{kind: "ssn", value: "078-05-1120"},
	{kind: "ssn", value: "219-09-9999"},
	{kind: "ssn", value: "SSN: 123-45-6789", secrets: []string{"123-45-6789"}},
	{kind: "ssn", value: "ssn 536 22 1234 on file", secrets: []string{"536 22 1234"}},

	{kind: "phone", value: "(415) 555-2671", digits: true},
	{kind: "phone", value: "415-555-2671", digits: true},
	{kind: "phone", value: "415.555.2671", digits: true},
	{kind: "phone", value: "call 415 555 2671 now", secrets: []string{"415 555 2671"}, digits: true},
	{kind: "phone", value: "+1 415 555 2671", digits: true},
	{kind: "phone", value: "1-415-555-2671", digits: true},
	{kind: "phone", value: "+1 (415) 555-0132", digits: true},
	{kind: "phone", value: "+14155552671", digits: true},
	{kind: "phone", value: "+44 20 7946 0958", digits: true},
	{kind: "phone", value: "+44 (20) 7946 0958", digits: true},
	{kind: "phone", value: "+49 30 901820", digits: true},
	{kind: "phone", value: "+33 1 23 45 67 89", digits: true},

	{kind: "iban", value: "GB82 WEST 1234 5698 7654 32", secrets: []string{"GB82 WEST 1234 5698 7654 32", "12345698765432"}},
	{kind: "iban", value: "DE89370400440532013000", secrets: []string{"DE89370400440532013000", "370400440532013000"}},
	{kind: "iban", value: "DE89 3704 0044 0532 0130 00", secrets: []string{"DE89 3704 0044 0532 0130 00", "3704 0044 0532"}},
	{kind: "iban", value: "FR14 2004 1010 0505 0001 3M02 606", secrets: []string{"FR14 2004 1010 0505 0001 3M02 606", "0505 0001 3M02"}},
	{kind: "iban", value: "NL91ABNA0417164300"},

	{kind: "jwt", value: jwtHS256, secrets: jwtParts(jwtHS256)},
	{kind: "jwt", value: "token=" + jwtRS256 + ";", secrets: jwtParts(jwtRS256)},
	{kind: "jwt", value: "Authorization: Bearer " + jwtES256, secrets: jwtParts(jwtES256)},

	{kind: "bearer", value: "Authorization: Bearer mF_9.B5f-4.1JqM", secrets: []string{"mF_9.B5f-4.1JqM"}},
	{kind: "bearer", value: "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc", secrets: []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}},
	{kind: "bearer", value: "upstream sent bearer ya29.a0AfH6SMBx3kPq9Lm", secrets: []string{"ya29.a0AfH6SMBx3kPq9Lm"}},

	{kind: "basic_auth", value: "Basic dXNlcjpwYXNz", secrets: []string{"dXNlcjpwYXNz"}},
	{kind: "basic_auth", value: "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", secrets: []string{"YWxhZGRpbjpvcGVuc2VzYW1l"}},

	{kind: "aws_key", value: "AKIAIOSFODNN7EXAMPLE"},
	{kind: "aws_key", value: "using key ASIAY34FZKBOKMUTVV7A for s3", secrets: []string{"ASIAY34FZKBOKMUTVV7A"}},
	{kind: "aws_key", value: "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", secrets: []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},

	{kind: "private_key", value: pemRSA, secrets: []string{"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK"}},
	{kind: "private_key", value: pemPKCS8, secrets: []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"}},
	{kind: "private_key", value: pemOpenSSH, secrets: []string{"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"}},
}

// cleanValues look like personal data to a careless pattern and must pass verbatim.
var cleanValues = []string{
	"550e8400-e29b-41d4-a716-446655440000",
	"4bf92f3577b34da6a3ce929d0e0e4736",
	"00f067aa0ba902b7",
	"v2.14.3",
	"1.27.0-rc.1",
	"2026-11-28T05:04:05.123Z",
	"2026-11-28 05:04:05",
	"1700000000000",
	"1700000000004",
	"SKU-00042-XL",
	"ORD-2026-000123",
	"order 1234567812345678",
	"ref 1234 5678 1234 5678",
	"ticket 3125550147",
	"GET /api/v1/orders/{id}",
	"10.0.12.34",
	"2001:db8::1",
	"https://shop.example.net/api/v1/orders?page=2&sort=desc",
	"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	"checkout-7d9f8b6c5-x2x4z",
	"latency 1234 ms over 3 retries",
}

// Values under sensitive keys: redacted whatever they look like.
var sensitiveValues = map[string]string{
	"user.password":                     "hunter2-secret-pw",
	"http.request.header.authorization": "opaque-credential-7Qx",
	"db.password":                       "db-pass-q9w8e7",
	"client_secret":                     "cs-7f3e9a1b",
	"api_key":                           "ak-live-55219",
}

// URL attributes, what must not survive in each, and what must stay.
var urlAttrs = []struct {
	key, value string
	secrets    []string
	kept       []string
}{
	{
		key:     "url.full",
		value:   "https://admin:s3cr3t-pw@shop.example.net/checkout?email=jane.doe%40example.com&X-Amz-Signature=deadbeefcafe&q=shoes",
		secrets: []string{"admin:s3cr3t-pw", "s3cr3t-pw", "deadbeefcafe", "jane.doe%40", "jane.doe@"},
		kept:    []string{"https://REDACTED:REDACTED@shop.example.net/checkout?email=", "&X-Amz-Signature=REDACTED&q=shoes"},
	},
	{
		key:     "http.url",
		value:   "https://api.example.net/v1/reset?token=tok-9f8e7d6c&lang=en",
		secrets: []string{"tok-9f8e7d6c"},
		kept:    []string{"https://api.example.net/v1/reset?token=", "&lang=en"},
	},
	{
		key:     "url.query",
		value:   "card=4111-1111-1111-1111&page=2",
		secrets: []string{"4111-1111-1111-1111"},
		kept:    []string{"&page=2"},
	},
}

// SQL literals in db.query.text.
var sqlAttrs = []struct {
	value   string
	secrets []string
	kept    string
}{
	{
		value:   "SELECT * FROM users WHERE email = 'bob@example.net' AND ssn = '219-09-9999'",
		secrets: []string{"bob@example.net", "219-09-9999"},
		kept:    "SELECT * FROM users WHERE email = '",
	},
	{
		value:   "INSERT INTO payments (card, phone) VALUES ('5105-1051-0510-5100', '+1 415 555 2671')",
		secrets: []string{"5105-1051-0510-5100", "+1 415 555 2671"},
		kept:    "INSERT INTO payments (card, phone) VALUES ('",
	},
}

// fill puts v into an attribute map (as text, and nested in a map and a slice), beside
// values under sensitive keys, URL attributes and SQL.
func fill(m pcommon.Map, v string) {
	m.PutStr("note", "ctx "+v+" end")
	m.PutEmptyMap("nested").PutEmptySlice("list").AppendEmpty().SetStr(v)
	for k, s := range sensitiveValues {
		m.PutStr(k, s)
	}
	for _, u := range urlAttrs {
		m.PutStr(u.key, u.value)
	}
	for i, q := range sqlAttrs {
		if i == 0 {
			m.PutStr("db.query.text", q.value)
		} else {
			m.PutStr("db.statement", q.value)
		}
	}
}

func corpusTraces(values []string) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, v := range values {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rs.Resource().Attributes(), v)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("corpus")
		fill(ss.Scope().Attributes(), v)
		span := ss.Spans().AppendEmpty()
		span.SetName("op " + v)
		span.SetTraceID(pcommon.TraceID{1, 2, 3, byte(i)})
		span.SetSpanID(pcommon.SpanID{4, 5, 6, byte(i)})
		fill(span.Attributes(), v)
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage("failed for " + v)
		ev := span.Events().AppendEmpty()
		ev.SetName("event " + v)
		fill(ev.Attributes(), v)
		link := span.Links().AppendEmpty()
		link.SetTraceID(pcommon.TraceID{9, 9, byte(i)})
		fill(link.Attributes(), v)
	}
	return td
}

// corpusLogs has three records per value: a string body, a nested map body and a slice body.
func corpusLogs(values []string) plog.Logs {
	ld := plog.NewLogs()
	for _, v := range values {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rl.Resource().Attributes(), v)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("corpus")
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
				user := m.PutEmptyMap("user")
				user.PutStr("password", sensitiveValues["user.password"])
				user.PutEmptySlice("notes").AppendEmpty().SetStr("see " + v)
			case 2:
				s := lr.Body().SetEmptySlice()
				s.AppendEmpty().SetStr(v)
				s.AppendEmpty().SetEmptyMap().PutStr("text", "again: "+v)
			}
		}
	}
	return ld
}

// corpusMetrics has a gauge, a sum and a histogram point per value.
func corpusMetrics(values []string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, v := range values {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "corpus")
		fill(rm.Resource().Attributes(), v)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("corpus")
		fill(sm.Scope().Attributes(), v)
		g := sm.Metrics().AppendEmpty()
		g.SetName("corpus.gauge")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetIntValue(1)
		fill(dp.Attributes(), v)
		s := sm.Metrics().AppendEmpty()
		s.SetName("corpus.sum")
		sum := s.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sdp := sum.DataPoints().AppendEmpty()
		sdp.SetDoubleValue(2)
		fill(sdp.Attributes(), v)
		h := sm.Metrics().AppendEmpty()
		h.SetName("corpus.histogram")
		hist := h.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hdp := hist.DataPoints().AppendEmpty()
		hdp.SetCount(3)
		hdp.SetSum(7.5)
		hdp.ExplicitBounds().FromRaw([]float64{1, 5})
		hdp.BucketCounts().FromRaw([]uint64{1, 1, 1})
		fill(hdp.Attributes(), v)
	}
	return md
}

func postOTLP(t *testing.T, endpoint, path string, body []byte) {
	t.Helper()
	resp, err := http.Post("http://"+endpoint+path, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s", path)
}

// seenString is one string value, name, status message or body part, with where it was.
type seenString struct{ where, value string }

// stringsOf collects every string the walker shows: all attribute levels, names, status
// messages and bodies, at any depth.
func stringsOf(walkSignal func(*walk.Walker)) []seenString {
	var out []seenString
	w := walk.New(walk.VisitorFunc(func(loc *walk.Location, v string) (walk.Op, string) {
		out = append(out, seenString{loc.String(), v})
		return walk.Keep, ""
	}))
	walkSignal(w)
	return out
}

var nonDigits = regexp.MustCompile(`[^0-9]`)

// assertNothingPlantedSurvives checks the raw bytes of an output file and every string in it.
func assertNothingPlantedSurvives(t *testing.T, file string, raw []byte, strs []seenString) {
	t.Helper()
	var vanish []string
	for _, p := range plantedPII {
		vanish = append(vanish, p.mustVanish()...)
	}
	for _, s := range sensitiveValues {
		vanish = append(vanish, s)
	}
	for _, u := range urlAttrs {
		vanish = append(vanish, u.secrets...)
	}
	for _, q := range sqlAttrs {
		vanish = append(vanish, q.secrets...)
	}
	for _, secret := range vanish {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%s: planted %q survived in the file bytes", file, secret)
		}
		for _, s := range strs {
			if strings.Contains(s.value, secret) {
				t.Errorf("%s: planted %q survived at %s: %q", file, secret, s.where, s.value)
			}
		}
	}
	// Cards and phone numbers must not survive with their separators changed or removed.
	for _, p := range plantedPII {
		if !p.digits {
			continue
		}
		for _, secret := range p.mustVanish() {
			digits := nonDigits.ReplaceAllString(secret, "")
			for _, s := range strs {
				if strings.Contains(nonDigits.ReplaceAllString(s.value, ""), digits) {
					t.Errorf("%s: the digits of planted %s %q survived at %s: %q", file, p.kind, secret, s.where, s.value)
				}
			}
		}
	}
}

// assertCleanValuesPass checks that every string holding a clean value reaches the output
// exactly as it was sent, as often as it was sent.
func assertCleanValuesPass(t *testing.T, file string, in, out []seenString) {
	t.Helper()
	for _, c := range cleanValues {
		want, got := map[string]int{}, map[string]int{}
		for _, s := range in {
			if strings.Contains(s.value, c) {
				want[s.where+" = "+s.value]++
			}
		}
		for _, s := range out {
			if strings.Contains(s.value, c) {
				got[s.where+" = "+s.value]++
			}
		}
		require.NotEmpty(t, want, "the corpus holds %q", c)
		assert.Equal(t, want, got, "%s: clean value %q must pass verbatim in every field", file, c)
	}
}

func joinValues(strs []seenString) string {
	var b strings.Builder
	for _, s := range strs {
		b.WriteString(s.value)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestPIICorpusNothingPlantedSurvives sends a corpus with personal data and secrets in every
// kind of field of every signal through the default config over OTLP/HTTP, reads the output
// back, and checks that nothing planted survives, that clean values pass verbatim and that
// nothing is lost.
func TestPIICorpusNothingPlantedSurvives(t *testing.T) {
	c, env := startDefault(t, "pii-corpus")
	ep, data := env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_DATA_DIR"]
	values := make([]string, 0, len(plantedPII)+len(cleanValues))
	for _, p := range plantedPII {
		values = append(values, p.value)
	}
	values = append(values, cleanValues...)

	td, ld, md := corpusTraces(values), corpusLogs(values), corpusMetrics(values)
	inTraces := stringsOf(func(w *walk.Walker) { w.Traces(td) })
	inLogs := stringsOf(func(w *walk.Walker) { w.Logs(ld) })
	inMetrics := stringsOf(func(w *walk.Walker) { w.Metrics(md) })
	spans, records, points := td.SpanCount(), ld.LogRecordCount(), md.DataPointCount()
	require.Equal(t, len(values), spans)
	require.Equal(t, 3*len(values), records)
	require.Equal(t, 3*len(values), points)

	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/traces", body)
	body, err = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/logs", body)
	body, err = pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	postOTLP(t, ep, "/v1/metrics", body)

	tracesOut := filepath.Join(data, "traces.jsonl")
	logsOut := filepath.Join(data, "logs.jsonl")
	metricsOut := filepath.Join(data, "metrics.jsonl")
	Eventually(t, "spans", spans, SpanCount(t, tracesOut), 20*time.Second, c)
	Eventually(t, "log records", records, LogCount(t, logsOut), 20*time.Second, c)
	Eventually(t, "data points", points, DataPointCount(t, metricsOut), 20*time.Second, c)
	c.Stop()

	outTraces := stringsOf(func(w *walk.Walker) { w.Traces(ReadTraces(t, tracesOut)) })
	outLogs := stringsOf(func(w *walk.Walker) { w.Logs(ReadLogs(t, logsOut)) })
	outMetrics := stringsOf(func(w *walk.Walker) { w.Metrics(ReadMetrics(t, metricsOut)) })

	for _, sig := range []struct {
		file    string
		in, out []seenString
	}{
		{tracesOut, inTraces, outTraces},
		{logsOut, inLogs, outLogs},
		{metricsOut, inMetrics, outMetrics},
	} {
		name := filepath.Base(sig.file)
		raw, err := os.ReadFile(sig.file)
		require.NoError(t, err)
		assertNothingPlantedSurvives(t, name, raw, sig.out)
		assertCleanValuesPass(t, name, sig.in, sig.out)

		text := joinValues(sig.out)
		for _, token := range []string{
			"[HASH:email:v1:", "[REDACTED:card]", "[REDACTED:ssn]", "[REDACTED:iban]", "[REDACTED:jwt]",
			"Bearer [REDACTED:bearer]", "Basic [REDACTED:basic_auth]", "[REDACTED:aws_key]",
			"[REDACTED:private_key]", "[REDACTED:sensitive_key]",
			// Phone numbers are masked with their last four digits kept.
			"+** ** **** 0958", "(***) ***-2671",
		} {
			assert.Contains(t, text, token, "%s: token %q", name, token)
		}
		for _, u := range urlAttrs {
			for _, kept := range u.kept {
				assert.Contains(t, text, kept, "%s: the clean parts of %s stay", name, u.key)
			}
		}
		for _, q := range sqlAttrs {
			assert.Contains(t, text, q.kept, "%s: the SQL around the literals stays", name)
		}
		assert.Contains(t, text, "corpus", "%s: service.name passes", name)
	}

	// The default config summarises the findings per service and signal over an interval,
	// recorded at its end or at shutdown: one request per signal is one summary per signal.
	summaries := map[string]int{}
	for _, e := range ledgerEntries(t, filepath.Join(data, "audit")) {
		if e.Event.Action == "pii.redact" {
			summaries[e.Event.Attributes["signal"]]++
			assert.Equal(t, "corpus", e.Event.ResourceID)
			assert.Equal(t, int64(1), e.Event.Counts["batches"])
			assert.Positive(t, e.Event.Counts["card.redact"]+e.Event.Counts["email.hash"])
			assert.NotEmpty(t, e.Event.Attributes["interval.start"])
			assert.NotEmpty(t, e.Event.Attributes["interval.end"])
		}
	}
	assert.Equal(t, map[string]int{"traces": 1, "logs": 1, "metrics": 1}, summaries)
	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(data, "audit"),
		"--public-key", filepath.Join(data+".keys", "audit-signing.key.pub"))
	assert.Equal(t, 0, code, out)
}

// TestPIIDefaultConfigRedactsTelemetrygen sends telemetrygen's own traces, logs and metrics
// over OTLP/gRPC with planted resource and item attributes and log bodies through the default
// config.
func TestPIIDefaultConfigRedactsTelemetrygen(t *testing.T) {
	c, env := startDefault(t, "pii-telemetrygen")
	ep, data := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_DATA_DIR"]
	common := []string{
		"--otlp-endpoint", ep, "--otlp-insecure", "--rate", "0",
		"--otlp-attributes", `host.owner="ops.oncall@example.com"`,
		"--telemetry-attributes", `user.email="jane.doe@example.com"`,
		"--telemetry-attributes", `card="4111 1111 1111 1111"`,
		"--telemetry-attributes", `payment.note="paid with 5555-5555-5555-4444"`,
		"--telemetry-attributes", `user.password="hunter2"`,
		"--telemetry-attributes", `client_secret="cs-7f3a9d1e"`,
		"--telemetry-attributes", `order.id="ORD-2026-000123"`,
		"--telemetry-attributes", `order.number="1234567812345678"`,
	}
	withArgs := func(extra ...string) []string { return append(append([]string(nil), common...), extra...) }
	Telemetrygen(t, "traces", withArgs("--traces", "5", "--service", "shop-checkout")...)
	Telemetrygen(t, "logs", withArgs("--logs", "5", "--service", "shop-checkout",
		"--body", "refund for jane.doe@example.com, ssn 078-05-1120, card 4111-1111-1111-1111, call +44 20 7946 0958")...)
	Telemetrygen(t, "metrics", withArgs("--metrics", "5", "--service", "shop-checkout")...)

	// telemetrygen sends a parent and a child span per trace.
	Eventually(t, "spans", 10, SpanCount(t, filepath.Join(data, "traces.jsonl")), 20*time.Second, c)
	Eventually(t, "log records", 5, LogCount(t, filepath.Join(data, "logs.jsonl")), 20*time.Second, c)
	Eventually(t, "data points", 5, DataPointCount(t, filepath.Join(data, "metrics.jsonl")), 20*time.Second, c)
	c.Stop()

	planted := []string{
		"jane.doe@example.com", "ops.oncall@example.com", "4111 1111 1111 1111", "4111111111111111",
		"4111-1111-1111-1111", "5555-5555-5555-4444", "hunter2", "cs-7f3a9d1e", "078-05-1120", "+44 20 7946 0958",
	}
	for _, f := range []string{"traces.jsonl", "logs.jsonl", "metrics.jsonl"} {
		raw, err := os.ReadFile(filepath.Join(data, f))
		require.NoError(t, err)
		text := string(raw)
		for _, leak := range planted {
			assert.NotContains(t, text, leak, "%s: planted %q survived", f, leak)
		}
		assert.Contains(t, text, "[HASH:email:v1:", f)
		assert.Contains(t, text, "[REDACTED:card]", f)
		assert.Contains(t, text, "paid with [REDACTED:card]", f)
		assert.Contains(t, text, "[REDACTED:sensitive_key]", f)
		assert.Contains(t, text, "ORD-2026-000123", f)
		assert.Contains(t, text, "1234567812345678", f)
		assert.Contains(t, text, `"shop-checkout"`, "%s: the service name passes", f)
	}

	ld := ReadLogs(t, filepath.Join(data, "logs.jsonl"))
	bodyRE := regexp.MustCompile(`^refund for \[HASH:email:v1:[0-9a-f]{8}:[0-9a-f]{32}\], ssn \[REDACTED:ssn\], card \[REDACTED:card\], call \+\*\* \*\* \*\*\*\* 0958$`)
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		owner, _ := rl.Resource().Attributes().Get("host.owner")
		assert.Regexp(t, `^\[HASH:email:v1:[0-9a-f]{8}:[0-9a-f]{32}\]$`, owner.AsString(), "resource attribute")
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				assert.Regexp(t, bodyRE, lr.Body().AsString(), "log body")
				attrs := lr.Attributes().AsRaw()
				// field_encryption runs first and encrypts passwords; pii_redaction leaves the
				// ciphertext alone and redacts the other sensitive keys.
				assert.True(t, fieldcrypt.IsCiphertext(attrs["user.password"].(string)), "user.password: %v", attrs["user.password"])
				assert.Equal(t, "[REDACTED:sensitive_key]", attrs["client_secret"])
				assert.Equal(t, "[REDACTED:card]", attrs["card"])
				assert.Equal(t, "ORD-2026-000123", attrs["order.id"])
				assert.Equal(t, "1234567812345678", attrs["order.number"])
			}
		}
	}
	assert.Contains(t, c.Log(), "no hash key is configured", "the default warns that hashes join within the process only")
}

// TestPIISummariesFollowTheInterval sends many small requests with personal data to the default
// config and checks that, while the collector runs, the ledger gets a summary at the end of the
// interval that counts them all, not one entry per request.
func TestPIISummariesFollowTheInterval(t *testing.T) {
	c, env := startDefault(t, "pii-interval")
	ep, data := env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_DATA_DIR"]
	const requests = 40
	for i := range requests {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "interval-probe")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr("refund for jane.doe@example.com")
		lr.Attributes().PutInt("request", int64(i))
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		postOTLP(t, ep, "/v1/logs", body)
	}
	Eventually(t, "log records", requests, LogCount(t, filepath.Join(data, "logs.jsonl")), 20*time.Second, c)

	// The default interval is 10 s: its summary comes without a shutdown.
	var entries, batches, hashed int64
	deadline := time.Now().Add(30 * time.Second)
	for batches < requests && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		entries, batches, hashed = 0, 0, 0
		for _, e := range ledgerEntries(t, filepath.Join(data, "audit")) {
			if e.Event.Action == "pii.redact" && e.Event.ResourceID == "interval-probe" {
				entries++
				batches += e.Event.Counts["batches"]
				hashed += e.Event.Counts["email.hash"]
			}
		}
	}
	require.Equal(t, int64(requests), batches, "every request is counted in a summary before shutdown")
	assert.Equal(t, int64(requests), hashed)
	assert.LessOrEqual(t, entries, int64(2), "one summary per interval (two if the requests straddled an interval's end), not one per request")
	c.Stop()
}
