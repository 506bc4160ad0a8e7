package piiredactionprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// testKey is a fixed hash key, so that tokens are stable across runs.
const testKey = "0123456789abcdef0123456789abcdef-test"

func testConfig(mutate func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Hash.Key = testKey
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

func newTestProcessor(t testing.TB, cfg *Config) *piiProcessor {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })
	return p
}

// logWith returns a log batch of one record with one attribute, and the record.
func logWith(key, value string) (plog.Logs, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr(key, value)
	return ld, lr
}

// redactAttr runs one value under key through p and returns what is left (and whether the
// attribute still exists).
func redactAttr(t testing.TB, p *piiProcessor, key, value string) (string, bool) {
	t.Helper()
	ld, lr := logWith(key, value)
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

var hashToken = `\[HASH:email:v1:[0-9a-f]{8}:[0-9a-f]{32}\]`

const pemKey = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----"

func TestDefaultsProtectEveryType(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	for _, tc := range []struct {
		name, in string
		want     string // a regular expression for the whole output
	}{
		{"email", "contact jane.doe@example.com now", `^contact ` + hashToken + ` now$`},
		{"visa with spaces", "card 4111 1111 1111 1111 used", `^card \[REDACTED:card\] used$`},
		{"mastercard with dashes", "5555-5555-5555-4444", `^\[REDACTED:card\]$`},
		{"amex 4-6-5", "paid with 3782 822463 10005.", `^paid with \[REDACTED:card\]\.$`},
		{"ssn", "ssn 078-05-1120 on file", `^ssn \[REDACTED:ssn\] on file$`},
		{"international phone", "call +44 20 7946 0958", `^call \+\*\* \*\* \*\*\*\* 0958$`},
		{"nanp phone", "call (415) 555-2671 today", `^call \(\*\*\*\) \*\*\*-2671 today$`},
		{"phone country code in parentheses", "(+45) 32 10 45 67", `^\(\+\*\*\) \*\* \*\* 45 67$`},
		{"phone 00 prefix", "tel 0044 20 7946 0958", `^tel \*\*\*\* \*\* \*\*\*\* 0958$`},
		{"phone glued to a context word", "call415-555-0199", `^call\*\*\*-\*\*\*-0199$`},
		{"bare digits without context kept", "took 4155550132 ns", `^took 4155550132 ns$`},
		{"bare digits with context", "phone: 4155550132", `^phone: \*\*\*\*\*\*0132$`},
		{"iban", "IBAN GB82 WEST 1234 5698 7654 32", `^IBAN \[REDACTED:iban\]$`},
		{"jwt", "token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", `^token \[REDACTED:jwt\]$`},
		{"bearer", "sent Bearer mF_9.B5f-4.1JqM upstream", `^sent Bearer \[REDACTED:bearer\] upstream$`},
		{"basic auth", "Authorization: Basic dXNlcjpwYXNzd29yZA==", `^Authorization: Basic \[REDACTED:basic_auth\]$`},
		{"aws key id", "key AKIAIOSFODNN7EXAMPLE", `^key \[REDACTED:aws_key\]$`},
		{"private key", "key:\n" + pemKey + "\nend", `^key:\n\[REDACTED:private_key\]\nend$`},
		{"ipv4 kept", "from 10.1.2.3", `^from 10\.1\.2\.3$`},
		{"ipv6 kept", "from 2001:db8::1", `^from 2001:db8::1$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := redactAttr(t, p, "message", tc.in)
			require.True(t, ok)
			assert.Regexp(t, regexp.MustCompile(tc.want), got)
		})
	}
}

func TestCleanValuesPassVerbatim(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	for _, v := range []string{
		"order 1234567812345678 shipped",         // 16 digits, fails Luhn
		"ORD-2026-000123",                        // order id
		"550e8400-e29b-41d4-a716-446655440000",   // UUID
		"4bf92f3577b34da6a3ce929d0e0e4736",       // trace id
		"v1.22.3",                                // version
		"2026-01-02T03:04:05.123Z",               // timestamp
		"1700000000000",                          // ms epoch
		"SKU-00042-XL",                           // SKU
		"took 1234 ms over 3 retries",            // numbers
		"GET /api/v1/users/{id}",                 // route
		"SELECT id FROM orders WHERE total > 10", // SQL without literals of note
	} {
		got, ok := redactAttr(t, p, "message", v)
		require.True(t, ok)
		assert.Equal(t, v, got)
	}
}

func TestHashTokensJoinAndAreKeyed(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	a, _ := redactAttr(t, p, "message", "Jane.Doe@Example.com")
	b, _ := redactAttr(t, p, "note", "jane.doe@example.com")
	c, _ := redactAttr(t, p, "message", "john@example.com")
	assert.Equal(t, a, b, "equal addresses hash equal, whatever their case and key")
	assert.NotEqual(t, a, c)

	other := newTestProcessor(t, testConfig(func(c *Config) { c.Hash.Key = configopaque.String(strings.Repeat("k", 32)) }))
	d, _ := redactAttr(t, other, "message", "jane.doe@example.com")
	assert.NotEqual(t, a[len(a)-33:], d[len(d)-33:], "another key, another hash")
	assert.NotEqual(t, a, d)

	// Cards joined across formatting, when hashed.
	cards := newTestProcessor(t, testConfig(func(c *Config) { c.Detectors.Card.Action = ActionHash }))
	e, _ := redactAttr(t, cards, "message", "4111 1111 1111 1111")
	f, _ := redactAttr(t, cards, "message", "4111-1111-1111-1111")
	assert.Equal(t, e, f)
	assert.True(t, strings.HasPrefix(e, "[HASH:card:v1:"), e)

	named := newTestProcessor(t, testConfig(func(c *Config) { c.Hash.KeyID = "k2026" }))
	g, _ := redactAttr(t, named, "message", "jane.doe@example.com")
	assert.True(t, strings.HasPrefix(g, "[HASH:email:v1:k2026:"), g)

	unkeyed := newTestProcessor(t, testConfig(func(c *Config) { c.Hash = HashConfig{Unkeyed: true} }))
	h, _ := redactAttr(t, unkeyed, "message", "jane.doe@example.com")
	assert.True(t, strings.HasPrefix(h, "[HASH:email:v1:unkeyed:"), h)
}

func TestHashKeySources(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "pii.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600))
	fromFile := newTestProcessor(t, testConfig(func(c *Config) { c.Hash = HashConfig{KeyFile: keyFile} }))
	t.Setenv("WARDEN_TEST_PII_KEY", testKey)
	fromEnv := newTestProcessor(t, testConfig(func(c *Config) { c.Hash = HashConfig{KeyEnv: "WARDEN_TEST_PII_KEY"} }))
	inline := newTestProcessor(t, testConfig(nil))
	a, _ := redactAttr(t, fromFile, "message", "jane.doe@example.com")
	b, _ := redactAttr(t, fromEnv, "message", "jane.doe@example.com")
	c, _ := redactAttr(t, inline, "message", "jane.doe@example.com")
	assert.Equal(t, a, b, "the trailing newline of a key file is not part of the key")
	assert.Equal(t, a, c)

	// No key: a random one, the same for every instance of the process.
	r1 := newTestProcessor(t, testConfig(func(c *Config) { c.Hash = HashConfig{} }))
	r2 := newTestProcessor(t, testConfig(func(c *Config) { c.Hash = HashConfig{} }))
	x, _ := redactAttr(t, r1, "message", "jane.doe@example.com")
	y, _ := redactAttr(t, r2, "message", "jane.doe@example.com")
	assert.Equal(t, x, y)
	assert.NotEqual(t, a, x)

	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte("short\n"), 0o600))
	for _, h := range []HashConfig{{KeyFile: short}, {KeyFile: filepath.Join(dir, "missing")}, {KeyEnv: "WARDEN_TEST_PII_UNSET"}} {
		p, err := newProcessor(processortest.NewNopSettings(NewFactory().Type()), testConfig(func(c *Config) { c.Hash = h }))
		require.NoError(t, err, "creating needs no key: validate works without the secret")
		err = p.start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err, "%+v", h)
		assert.Contains(t, err.Error(), "pii_redaction: hash.")
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action ActionConfig
		in     string
		want   string
		gone   bool
	}{
		{"redact", ActionConfig{Action: ActionRedact}, "call +1 415 555 2671", "call [REDACTED:phone]", false},
		{"mask keeps first and last", ActionConfig{Action: ActionMask, KeepFirst: 2, KeepLast: 2}, "+1 415 555 2671", "+1 4** *** **71", false},
		{"mask never shows the whole value", ActionConfig{Action: ActionMask, KeepFirst: 8, KeepLast: 8}, "+1 415 555 2671", "+* *** *** ****", false},
		{"keep", ActionConfig{Action: ActionKeep}, "call +1 415 555 2671", "call +1 415 555 2671", false},
		{"drop", ActionConfig{Action: ActionDrop}, "call +1 415 555 2671", "", true},
		{"mask keeps the number's last digits, not the extension's", ActionConfig{Action: ActionMask, KeepLast: 4}, "212.555.0187x42", "***.***.0187x**", false},
		{"mask extension after ext.", ActionConfig{Action: ActionMask, KeepLast: 4}, "call +1 212 555 0187 ext. 12 now", "call +* *** *** 0187 ext. ** now", false},
		{"mask extension after #", ActionConfig{Action: ActionMask, KeepLast: 4}, "(212) 555-0187 #12", "(***) ***-0187 #**", false},
		{"mask keep_first with extension", ActionConfig{Action: ActionMask, KeepFirst: 1, KeepLast: 2}, "+44 20 7946 0958 ext 3", "+4* ** **** **58 ext *", false},
		{"redact takes the extension", ActionConfig{Action: ActionRedact}, "212-555-0187 x 42.", "[REDACTED:phone].", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestProcessor(t, testConfig(func(c *Config) { c.Detectors.Phone.ActionConfig = tc.action }))
			got, ok := redactAttr(t, p, "message", tc.in)
			assert.Equal(t, !tc.gone, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCustomPatterns(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Custom = []CustomConfig{
			{Name: "customer_id", Regexp: `CUST-[0-9]{8}`, ActionConfig: ActionConfig{Action: ActionRedact}},
			{Name: "ticket", Regexp: `TKT-[0-9]+`, ActionConfig: ActionConfig{Action: ActionHash}},
		}
	}))
	got, _ := redactAttr(t, p, "message", "customer CUST-12345678 opened TKT-42 from jane.doe@example.com")
	assert.Regexp(t, `^customer \[REDACTED:customer_id\] opened \[HASH:ticket:v1:[0-9a-f]{8}:[0-9a-f]{32}\] from `+hashToken+`$`, got)
}

func TestSensitiveKeys(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	for _, key := range []string{"user.password", "http.request.header.authorization", "db.password", "client_secret", "api_key", "X-Api-Key", "payment.cvv", "user.ssn", "credit_card", "passport_number"} {
		got, ok := redactAttr(t, p, key, "hunter2")
		require.True(t, ok, key)
		assert.Equal(t, "[REDACTED:sensitive_key]", got, key)
	}
	for _, key := range []string{"gen_ai.usage.input_tokens", "token_count", "user.name", "password_policy", "message"} {
		got, _ := redactAttr(t, p, key, "hunter2")
		assert.Equal(t, "hunter2", got, key)
	}

	// Nested in a body: the innermost key decides.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	body := lr.Body().SetEmptyMap()
	user := body.PutEmptyMap("user")
	user.PutStr("name", "jane")
	user.PutStr("password", "hunter2")
	tokens := body.PutEmptySlice("refresh_token")
	tokens.AppendEmpty().SetStr("r1")
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"user":          map[string]any{"name": "jane", "password": "[REDACTED:sensitive_key]"},
		"refresh_token": []any{"[REDACTED:sensitive_key]"},
	}, lr.Body().Map().AsRaw())

	tuned := newTestProcessor(t, testConfig(func(c *Config) {
		c.SensitiveKeys = SensitiveKeysConfig{ActionConfig: ActionConfig{Action: ActionDrop}, Extra: []string{"pin"}, Exclude: []string{"password"}}
	}))
	_, ok := redactAttr(t, tuned, "card.pin", "1234")
	assert.False(t, ok, "extra key dropped")
	got, ok := redactAttr(t, tuned, "user.password", "hunter2")
	assert.True(t, ok)
	assert.Equal(t, "hunter2", got, "excluded from the built-in list")
}

func TestURLAttributes(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	got, _ := redactAttr(t, p, "url.full", "https://admin:s3cret@shop.example.com/checkout?email=jane.doe%40example.com&X-Amz-Signature=abc123&q=shoes&password=hunter2#top")
	assert.True(t, strings.HasPrefix(got, "https://REDACTED:REDACTED@shop.example.com/checkout?email="), got)
	assert.Contains(t, got, "&X-Amz-Signature=REDACTED&q=shoes&password=")
	assert.True(t, strings.HasSuffix(got, "#top"), got)
	for _, leak := range []string{"admin", "s3cret", "jane.doe", "abc123", "hunter2"} {
		assert.NotContains(t, got, leak)
	}

	query, _ := redactAttr(t, p, "url.query", "sig=xyz&user=jane.doe@example.com&page=2")
	assert.Contains(t, query, "sig=REDACTED&user=")
	assert.Contains(t, query, "&page=2")
	assert.NotContains(t, query, "jane.doe")

	clean := "https://shop.example.com/api/v1/orders/1234567812345678?page=2&sort=asc"
	got, _ = redactAttr(t, p, "url.full", clean)
	assert.Equal(t, clean, got)

	// Not a URL after all: scanned as text.
	got, _ = redactAttr(t, p, "http.url", "see jane.doe@example.com")
	assert.Regexp(t, `^see `+hashToken+`$`, got)
}

func TestSQLLiteralsAreScanned(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	got, _ := redactAttr(t, p, "db.query.text", "SELECT * FROM users WHERE ssn = '078-05-1120' AND card = '4111111111111111' LIMIT 10")
	assert.Equal(t, "SELECT * FROM users WHERE ssn = '[REDACTED:ssn]' AND card = '[REDACTED:card]' LIMIT 10", got)
}

func TestAllowLists(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Allow = AllowConfig{
			Keys:        []string{"support.contact"},
			KeyPatterns: []string{`^test\..*`},
			Values:      []string{`4111 1111 1111 1111`, `.*@example\.org`},
			Services:    []string{"healthcheck"},
		}
	}))
	for _, tc := range []struct{ key, in, want string }{
		{"support.contact", "jane.doe@example.com", "jane.doe@example.com"},
		{"test.password", "hunter2", "hunter2"},
		{"message", "test card 4111 1111 1111 1111", "test card 4111 1111 1111 1111"},
		{"message", "from noreply@example.org", "from noreply@example.org"},
		{"message", "real card 5555 5555 5555 4444", "real card [REDACTED:card]"},
	} {
		got, _ := redactAttr(t, p, tc.key, tc.in)
		assert.Equal(t, tc.want, got, tc.key)
	}

	ld, lr := logWith("user.email", "jane.doe@example.com")
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr("service.name", "healthcheck")
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	v, _ := lr.Attributes().Get("user.email")
	assert.Equal(t, "jane.doe@example.com", v.Str(), "allowed service passes untouched")
}

func TestEncryptedValuesAreLeftAlone(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	ct := fieldcrypt.Prefix + "tenant-a.k1:" + strings.Repeat("Ab3_-", 10)
	require.True(t, fieldcrypt.IsCiphertext(ct))
	// Under a sensitive key, too: encryption already protects it, and redacting would lose it.
	for _, key := range []string{"message", "user.password"} {
		got, _ := redactAttr(t, p, key, ct)
		assert.Equal(t, ct, got, key)
	}
}

func TestOversizeValuesAreNeverPassedUnscanned(t *testing.T) {
	long := strings.Repeat("a", 100) + " jane.doe@example.com"
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Scan.MaxScanBytes = 64 }))
	got, _ := redactAttr(t, p, "message", long)
	assert.Equal(t, "[REDACTED:oversize]", got)
	got, _ = redactAttr(t, p, "message", "short jane.doe@example.com")
	assert.Regexp(t, hashToken, got)

	drop := newTestProcessor(t, testConfig(func(c *Config) { c.Scan.MaxScanBytes = 64; c.Scan.Oversize = OversizeDrop }))
	_, ok := redactAttr(t, drop, "message", long)
	assert.False(t, ok)
}

func TestNumbersAreScannedWhenAsked(t *testing.T) {
	for _, numbers := range []bool{false, true} {
		p := newTestProcessor(t, testConfig(func(c *Config) { c.Scan.Numbers = numbers }))
		ld, lr := logWith("message", "x")
		lr.Attributes().PutInt("payment.number", 4111111111111111)
		lr.Attributes().PutInt("order.total", 1234)
		_, err := p.processLogs(context.Background(), ld)
		require.NoError(t, err)
		v, _ := lr.Attributes().Get("payment.number")
		if numbers {
			assert.Equal(t, "[REDACTED:card]", v.AsString())
		} else {
			assert.Equal(t, int64(4111111111111111), v.Int())
		}
		total, _ := lr.Attributes().Get("order.total")
		assert.Equal(t, int64(1234), total.Int(), "a clean number stays a number")
	}
}

func TestEveryFieldOfTraces(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("host.owner", "jane.doe@example.com")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("owner", "jane.doe@example.com")
	span := ss.Spans().AppendEmpty()
	span.SetName("lookup 078-05-1120")
	span.Attributes().PutStr("note", "ssn 078-05-1120")
	span.Status().SetMessage("card 4111 1111 1111 1111 declined")
	ev := span.Events().AppendEmpty()
	ev.SetName("mail to jane.doe@example.com")
	ev.Attributes().PutStr("exception.message", "bad card 4111111111111111")
	link := span.Links().AppendEmpty()
	link.Attributes().PutStr("peer", "AKIAIOSFODNN7EXAMPLE")

	_, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	get := func(m pcommon.Map, k string) string { v, _ := m.Get(k); return v.Str() }
	assert.Regexp(t, "^"+hashToken+"$", get(rs.Resource().Attributes(), "host.owner"))
	assert.Regexp(t, "^"+hashToken+"$", get(ss.Scope().Attributes(), "owner"))
	assert.Equal(t, "lookup [REDACTED:ssn]", span.Name())
	assert.Equal(t, "ssn [REDACTED:ssn]", get(span.Attributes(), "note"))
	assert.Equal(t, "card [REDACTED:card] declined", span.Status().Message())
	assert.Regexp(t, "^mail to "+hashToken+"$", ev.Name())
	assert.Equal(t, "bad card [REDACTED:card]", get(ev.Attributes(), "exception.message"))
	assert.Equal(t, "[REDACTED:aws_key]", get(link.Attributes(), "peer"))
}

// namedBatches has personal data in every name-like field: a log record's event name, scope
// names and versions of each signal, and a metric description and metadata.
func namedBatches() (plog.Logs, pmetric.Metrics, ptrace.Traces) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("audit for jane.doe@example.com")
	sl.Scope().SetVersion("078-05-1120")
	sl.LogRecords().AppendEmpty().SetEventName("signup by jane.doe@example.com")
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("meter of jane.doe@example.com")
	m := sm.Metrics().AppendEmpty()
	m.SetName("orders.count")
	m.SetDescription("orders placed by 078-05-1120")
	m.Metadata().PutStr("owner", "jane.doe@example.com")
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tracer 078-05-1120")
	ss.Spans().AppendEmpty().SetName("lookup")
	return ld, md, td
}

func TestEventScopeAndMetricNamesAreScanned(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	ld, md, td := namedBatches()
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	_, err = p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	_, err = p.processTraces(context.Background(), td)
	require.NoError(t, err)

	sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
	assert.Regexp(t, "^audit for "+hashToken+"$", sl.Scope().Name())
	assert.Equal(t, "[REDACTED:ssn]", sl.Scope().Version())
	assert.Regexp(t, "^signup by "+hashToken+"$", sl.LogRecords().At(0).EventName())
	sm := md.ResourceMetrics().At(0).ScopeMetrics().At(0)
	assert.Regexp(t, "^meter of "+hashToken+"$", sm.Scope().Name())
	m := sm.Metrics().At(0)
	assert.Equal(t, "orders.count", m.Name(), "metric names are not scanned")
	assert.Equal(t, "orders placed by [REDACTED:ssn]", m.Description())
	owner, _ := m.Metadata().Get("owner")
	assert.Regexp(t, "^"+hashToken+"$", owner.Str(), "metric metadata is scanned like attributes")
	assert.Equal(t, "tracer [REDACTED:ssn]", td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name())
}

func TestNamesCanBeLeftOut(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Scan.Names = false; c.Scan.StatusMessages = false }))
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("lookup 078-05-1120")
	span.Status().SetMessage("078-05-1120")
	_, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, "lookup 078-05-1120", span.Name())
	assert.Equal(t, "078-05-1120", span.Status().Message())

	ld, md, td := namedBatches()
	wantLogs, wantMetrics, wantTraces := plog.NewLogs(), pmetric.NewMetrics(), ptrace.NewTraces()
	ld.CopyTo(wantLogs)
	td.CopyTo(wantTraces)
	md.CopyTo(wantMetrics)
	// Metadata is attributes, scanned with or without names: leave it out of the comparison.
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Metadata().Clear()
	wantMetrics.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Metadata().Clear()
	_, err = p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	_, err = p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	_, err = p.processTraces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, wantLogs, ld)
	assert.Equal(t, wantMetrics, md)
	assert.Equal(t, wantTraces, td)
}

func TestEveryMetricKind(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	ms.AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().Attributes().PutStr("user", "jane.doe@example.com")
	ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("user", "jane.doe@example.com")
	ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty().Attributes().PutStr("user", "jane.doe@example.com")
	ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Attributes().PutStr("user", "jane.doe@example.com")
	ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty().Attributes().PutStr("user", "jane.doe@example.com")
	_, err := p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	raw, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "jane.doe")
	assert.Equal(t, 5, strings.Count(string(raw), "[HASH:email:v1:"))
}

func TestSignalsCanBeDisabled(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Signals.Logs = false }))
	got, _ := redactAttr(t, p, "message", "jane.doe@example.com")
	assert.Equal(t, "jane.doe@example.com", got)
}

func TestOverlappingMatchesResolveOnce(t *testing.T) {
	// An e-mail whose local part is a phone number, a card inside a URL-ish token: one
	// replacement per resolved match, never a replacement of a replacement.
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Detectors.Phone.Action = ActionRedact }))
	got, _ := redactAttr(t, p, "message", "4155552671@example.com and 4111111111111111")
	assert.Regexp(t, `^`+hashToken+` and \[REDACTED:card\]$`, got)
	again, _ := redactAttr(t, p, "message", got)
	assert.Equal(t, got, again, "tokens are not findings")
}

func TestFactoryBuildsEverySignal(t *testing.T) {
	f := NewFactory()
	cfg := testConfig(nil)
	set := processortest.NewNopSettings(f.Type())
	ctx := context.Background()
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.True(t, tp.Capabilities().MutatesData)
	_, err = f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)

	bad := testConfig(func(c *Config) { c.Hash = HashConfig{KeyEnv: "WARDEN_TEST_PII_UNSET"} })
	lp, err := f.CreateLogs(ctx, set, bad, consumertest.NewNop())
	require.NoError(t, err)
	err = lp.Start(ctx, componenttest.NewNopHost())
	require.ErrorContains(t, err, "hash.key_env: environment variable WARDEN_TEST_PII_UNSET is not set")
}

func TestLedgerIsOptionalButMustExistWhenNamed(t *testing.T) {
	id := component.MustNewID("audit_ledger")
	p, err := newProcessor(processortest.NewNopSettings(NewFactory().Type()), testConfig(func(c *Config) { c.Ledger = &id }))
	require.NoError(t, err)
	err = p.start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `pii_redaction: ledger "audit_ledger": audit ledger extension not found`)
}

func TestKeyCacheIsBounded(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	st := p.newState()
	for i := range maxKeyCache + 10 {
		assert.Equal(t, keyPlain, st.keyKind(fmt.Sprintf("attr.%d", i)))
		assert.LessOrEqual(t, len(st.keyCache), maxKeyCache)
	}
	assert.Equal(t, keySensitive, st.keyKind("user.password"))
	assert.Equal(t, keySensitive, st.keyKind("user.password"), "from the cache")
	assert.Equal(t, keyURL, st.keyKind("url.full"))
	assert.Equal(t, keyPlain, st.keyKind(""))
}

func TestPhoneRegions(t *testing.T) {
	for _, tc := range []struct {
		regions []string
		in      string
		want    string
	}{
		{[]string{"GB"}, "call 020 7946 0958", "call *** **** 0958"},
		{[]string{"US"}, "call 020 7946 0958", "call 020 7946 0958"},
		{[]string{"JP", "BR"}, "080-2345-6789 or (11) 98765-4321", "***-****-6789 or (**) *****-4321"},
		{[]string{"CN"}, "took 13912345678 ns, mobile 13912345678", "took 13912345678 ns, mobile *******5678"},
		{[]string{"DE"}, "Telefon 030 901820, 01.12.2026", "Telefon *** **1820, 01.12.2026"},
		{[]string{}, "415-555-0132 +1 415 555 0132", "415-555-0132 +* *** *** 0132"},
		{[]string{"ALL"}, "080-2345-6789 2026-12-01", "***-****-6789 2026-12-01"},
	} {
		t.Run(strings.Join(tc.regions, ","), func(t *testing.T) {
			cfg := testConfig(func(c *Config) { c.Detectors.Phone.Regions = tc.regions })
			require.NoError(t, cfg.Validate())
			got, _ := redactAttr(t, newTestProcessor(t, cfg), "message", tc.in)
			assert.Equal(t, tc.want, got)
		})
	}
}
