package piiredactionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadatatest"
)

var nameHashToken = `^\[HASH:name:v1:[0-9a-f]{8}:[0-9a-f]{32}\]$`

func TestNamesAreKeptAndCountedByDefault(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newProcessor(metadatatest.NewSettings(tel), testConfig(nil))
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))

	for key, value := range map[string]string{
		"user.full_name": "Albert Einstein",
		"customerName":   "Jane Doe",
		"service.name":   "checkout",   // not a person
		"name":           "Jane Doe",   // a bare name key is not a person
		"last_name":      "unknown",    // a placeholder
		"first_name":     "12345",      // no letter
		"user.name":      "",           // empty
		"display_name":   "jane@x.org", // a name, and an e-mail inside it: both counted
	} {
		got, ok := redactAttr(t, p, key, value)
		require.True(t, ok)
		if key == "display_name" {
			assert.Regexp(t, `^\[HASH:email:`, got)
			continue
		}
		assert.Equal(t, value, got, key)
	}
	require.NoError(t, p.shutdown(context.Background()))
	metadatatest.AssertEqualProcessorPiiRedactionFindings(t, tel, []metricdata.DataPoint[int64]{
		finding("name", "keep", "logs", 3),
		finding("email", "hash", "logs", 1),
	}, metricdatatest.IgnoreTimestamp())
}

func TestNameActionsTakeTheWholeValue(t *testing.T) {
	for _, tc := range []struct {
		cfg  ActionConfig
		in   string
		want string // a regexp; "" means the attribute is deleted
	}{
		{ActionConfig{Action: ActionRedact}, "Jane Doe", `^\[REDACTED:name\]$`},
		{ActionConfig{Action: ActionRedact}, "Jane Doe <jane@example.com>", `^\[REDACTED:name\]$`},
		{ActionConfig{Action: ActionHash}, "Jane Doe", nameHashToken},
		{ActionConfig{Action: ActionMask, KeepFirst: 1}, "Jane Doe", `^J\*\*\* \*\*\*$`},
		{ActionConfig{Action: ActionDrop}, "Jane Doe", ""},
	} {
		p := newTestProcessor(t, testConfig(func(c *Config) { c.Names.ActionConfig = tc.cfg }))
		got, ok := redactAttr(t, p, "customer_name", tc.in)
		if tc.want == "" {
			assert.False(t, ok, "%s should drop", tc.cfg.Action)
			continue
		}
		require.True(t, ok)
		assert.Regexp(t, tc.want, got, tc.cfg.Action)
		// A second pass changes nothing: tokens are not names.
		again, _ := redactAttr(t, p, "customer_name", got)
		assert.Equal(t, got, again)
	}
}

func TestNameHashesJoinWhateverTheCase(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Names.Action = ActionHash }))
	a, _ := redactAttr(t, p, "user.full_name", "Jane Doe")
	b, _ := redactAttr(t, p, "customerName", "jane doe")
	c, _ := redactAttr(t, p, "customerName", "John Doe")
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
}

func TestNamesPrecedence(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Names.Action = ActionRedact
		c.SensitiveKeys.Extra = []string{"secret_name"}
		c.Allow.Keys = []string{"billing.first_name"}
		c.Allow.Values = []string{"Support Team"}
	}))
	for key, tc := range map[string]struct{ in, want string }{
		"secret_name":        {"Jane Doe", "[REDACTED:sensitive_key]"}, // sensitive keys first
		"billing.first_name": {"Jane", "Jane"},                         // allow.keys before everything
		"contact_name":       {"Support Team", "Support Team"},         // allow.values
		"user.name":          {"a.einstein", "[REDACTED:name]"},
		"process.user.name":  {"postgres", "postgres"}, // an OS account
		"note":               {"call Jane Doe", "call Jane Doe"},
	} {
		got, _ := redactAttr(t, p, key, tc.in)
		assert.Equal(t, tc.want, got, key)
	}
}

func TestNamesExtraAndExclude(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Names = NamesConfig{ActionConfig: ActionConfig{Action: ActionRedact}, Extra: []string{"passenger"}, Exclude: []string{"user.name"}}
	}))
	got, _ := redactAttr(t, p, "booking.passenger", "Jane Doe")
	assert.Equal(t, "[REDACTED:name]", got)
	got, _ = redactAttr(t, p, "user.name", "a.einstein")
	assert.Equal(t, "a.einstein", got)
	got, _ = redactAttr(t, p, "user.full_name", "Albert Einstein")
	assert.Equal(t, "[REDACTED:name]", got)
}

func TestNamesInEverySignal(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Names.Action = ActionRedact }))
	ctx := context.Background()
	get := func(m pcommon.Map, k string) string { v, _ := m.Get(k); return v.AsString() }

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("GET /users/{id}")
	span.Attributes().PutStr("user.full_name", "Albert Einstein")
	span.Attributes().PutStr("http.route", "/users/{id}")
	customer := span.Attributes().PutEmptyMap("customer")
	customer.PutStr("name", "Jane Doe")
	customer.PutStr("id", "C-1234")
	_, err := p.processTraces(ctx, td)
	require.NoError(t, err)
	assert.Equal(t, "[REDACTED:name]", get(span.Attributes(), "user.full_name"))
	assert.Equal(t, "/users/{id}", get(span.Attributes(), "http.route"))
	assert.Equal(t, "[REDACTED:name]", get(customer, "name"))
	assert.Equal(t, "C-1234", get(customer, "id"))
	assert.Equal(t, "checkout", get(rs.Resource().Attributes(), "service.name"))
	assert.Equal(t, "GET /users/{id}", span.Name())

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	body := lr.Body().SetEmptyMap()
	body.PutStr("name", "order placed") // a bare name key
	user := body.PutEmptyMap("user")
	user.PutStr("name", "a.einstein")
	user.PutStr("lastName", "Einstein")
	service := body.PutEmptyMap("service")
	service.PutStr("name", "checkout")
	contacts := body.PutEmptySlice("contacts")
	contact := contacts.AppendEmpty().SetEmptyMap()
	contact.PutStr("contact_name", "Marie Curie")
	_, err = p.processLogs(ctx, ld)
	require.NoError(t, err)
	assert.Equal(t, "order placed", get(body, "name"))
	assert.Equal(t, "[REDACTED:name]", get(user, "name"))
	assert.Equal(t, "[REDACTED:name]", get(user, "lastName"))
	assert.Equal(t, "checkout", get(service, "name"))
	assert.Equal(t, "[REDACTED:name]", get(contact, "contact_name"))

	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("orders")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("cardholder_name", "Jane Doe")
	dp.Attributes().PutStr("k8s.pod.name", "checkout-7d9f")
	_, err = p.processMetrics(ctx, md)
	require.NoError(t, err)
	assert.Equal(t, "[REDACTED:name]", get(dp.Attributes(), "cardholder_name"))
	assert.Equal(t, "checkout-7d9f", get(dp.Attributes(), "k8s.pod.name"))
}

func TestNamesDryRunChangesNothing(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) { c.Names.Action = ActionRedact; c.DryRun = true }))
	got, _ := redactAttr(t, p, "first_name", "Jane")
	assert.Equal(t, "Jane", got)
}

// FuzzNames puts arbitrary keys and values through the processor with names redacted: it
// never panics, and a value taken as a name under a name key never survives.
func FuzzNames(f *testing.F) {
	for _, s := range [][2]string{
		{"user.full_name", "Jane Doe"}, {"customerName", "María José"}, {"name", "Jane"},
		{"service.name", "checkout"}, {"last_name", "n/a"}, {"first_name", "\xff\xfeJ"},
		{"display_name", "jane@example.com"}, {"Customer-Name", "[REDACTED:name]"},
	} {
		f.Add(s[0], s[1])
	}
	p := newTestProcessor(f, testConfig(func(c *Config) { c.Names.Action = ActionRedact }))
	f.Fuzz(func(t *testing.T, key, value string) {
		ld, lr := logWith(key, value)
		body := lr.Body().SetEmptyMap().PutEmptyMap("customer")
		body.PutStr(key, value)
		if _, err := p.processLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		if key == "service.name" || p.nameKeys.Match(key) != detect.NameKey || !detect.LooksLikeName(value) {
			return
		}
		if v, ok := lr.Attributes().Get(key); ok && v.Str() != "[REDACTED:name]" {
			t.Fatalf("%q under %q became %q", value, key, v.Str())
		}
	})
}
