package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor"
)

// encryptedFields are the fields the tests' processor encrypts: exact keys, globs, a key at
// one level only, and body paths (one quoted).
var encryptedFields = []fieldencryptionprocessor.FieldConfig{
	{Key: "password"},
	{Key: "*.api_key"},
	{Key: "http.request.header.authorization", Levels: []string{"span", "log_record"}},
	{Key: "body.card.number"},
	{Key: `body.user["e.mail"]`},
	{Key: "body.profile"},
}

// plaintexts are the string values the batches hold in encrypted fields: none of them may
// appear in a report or a ledger entry.
var plaintexts = []string{"hunter2", "s3cr3t-nested", "Bearer abc.def.ghi", "alice@example.com", "sk_live_resource", "scope-secret"}

// keyringConfig is the processor's configuration over a keyring file.
func keyringConfig(keyring string) *fieldencryptionprocessor.Config {
	cfg := fieldencryptionprocessor.NewFactory().CreateDefaultConfig().(*fieldencryptionprocessor.Config)
	cfg.Fields = encryptedFields
	cfg.Provider.Local = configoptional.Some(fieldencryptionprocessor.LocalConfig{Keyring: keyring})
	cfg.Tenant = fieldencryptionprocessor.TenantConfig{Attribute: "tenant.id"}
	cfg.ContextAttributes = []string{"service.name"}
	return cfg
}

// encryption is the real field_encryption processor, made by its factory, in front of sinks.
type encryption struct {
	traces  processor.Traces
	logs    processor.Logs
	metrics processor.Metrics
	tsink   consumertest.TracesSink
	lsink   consumertest.LogsSink
	msink   consumertest.MetricsSink
}

func startEncryption(t *testing.T, cfg *fieldencryptionprocessor.Config) *encryption {
	t.Helper()
	require.NoError(t, cfg.Validate())
	f := fieldencryptionprocessor.NewFactory()
	set := processortest.NewNopSettings(f.Type())
	e := &encryption{}
	var err error
	e.traces, err = f.CreateTraces(context.Background(), set, cfg, &e.tsink)
	require.NoError(t, err)
	e.logs, err = f.CreateLogs(context.Background(), set, cfg, &e.lsink)
	require.NoError(t, err)
	e.metrics, err = f.CreateMetrics(context.Background(), set, cfg, &e.msink)
	require.NoError(t, err)
	for _, c := range []component.Component{e.traces, e.logs, e.metrics} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{e.traces, e.logs, e.metrics} {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return e
}

// exported is a batch as the file exporter writes it before encryption (the plaintext line)
// and after (the encrypted line).
type exported struct{ plain, encrypted string }

// encrypt passes a batch (ptrace.Traces, plog.Logs or pmetric.Metrics) through the processor.
func (e *encryption) encrypt(t *testing.T, batch any) exported {
	t.Helper()
	plain := line(t, batch)
	ctx := context.Background()
	var (
		err  error
		last any
	)
	switch b := batch.(type) {
	case ptrace.Traces:
		err = e.traces.ConsumeTraces(ctx, b)
		last = e.tsink.AllTraces()[len(e.tsink.AllTraces())-1]
	case plog.Logs:
		err = e.logs.ConsumeLogs(ctx, b)
		last = e.lsink.AllLogs()[len(e.lsink.AllLogs())-1]
	case pmetric.Metrics:
		err = e.metrics.ConsumeMetrics(ctx, b)
		last = e.msink.AllMetrics()[len(e.msink.AllMetrics())-1]
	}
	require.NoError(t, err)
	return exported{plain: plain, encrypted: line(t, last)}
}

// line is a batch as the file exporter writes it: pdata's JSON marshalers.
func line(t *testing.T, batch any) string {
	t.Helper()
	var (
		b   []byte
		err error
	)
	switch batch := batch.(type) {
	case ptrace.Traces:
		b, err = (&ptrace.JSONMarshaler{}).MarshalTraces(batch)
	case plog.Logs:
		b, err = (&plog.JSONMarshaler{}).MarshalLogs(batch)
	case pmetric.Metrics:
		b, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(batch)
	default:
		t.Fatalf("not a batch: %T", batch)
	}
	require.NoError(t, err)
	return string(b)
}

// writeLines writes the encrypted lines to a file, one a line, as the file exporter does.
func writeLines(t *testing.T, path string, batches ...exported) string {
	t.Helper()
	var b strings.Builder
	for _, e := range batches {
		b.WriteString(e.encrypted)
		b.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// plainLines are the lines the decrypt must give back.
func plainLines(batches ...exported) string {
	var b strings.Builder
	for _, e := range batches {
		b.WriteString(e.plain)
		b.WriteByte('\n')
	}
	return b.String()
}

// ciphertexts counts the field_encryption values in s.
func ciphertexts(s string) int { return strings.Count(s, fieldcrypt.Prefix) }

// resourceOf sets the resource of a tenant's service ("" for data without a tenant).
func resourceOf(res pcommon.Resource, tenant string) {
	res.Attributes().PutStr("service.name", "checkout")
	if tenant != "" {
		res.Attributes().PutStr("tenant.id", tenant)
	}
	res.Attributes().PutStr("deployment.api_key", "sk_live_resource")
}

// everyType puts one selected attribute of each type in m, and one that is not selected.
func everyType(m pcommon.Map) {
	m.PutStr("password", "hunter2")
	m.PutInt("billing.api_key", math.MaxInt64)
	m.PutDouble("search.api_key", -0.25)
	m.PutBool("feature.api_key", true)
	m.PutEmptyBytes("raw.api_key").FromRaw([]byte{0, 1, 2, 255})
	nested := m.PutEmptyMap("nested.api_key")
	nested.PutStr("secret", "s3cr3t-nested")
	if err := errors.Join(nested.PutEmptySlice("list").FromRaw([]any{int64(1), "two", 3.5}),
		m.PutEmptySlice("list.api_key").FromRaw([]any{"a", int64(2), map[string]any{"k": "v"}})); err != nil {
		panic(err) // fixed values that always convert
	}
	m.PutEmptyMap("empty.api_key")
	m.PutStr("user.id", "42")
}

// tracesBatch: encrypted attributes on the resource, scope, spans, span events and links,
// and an authorization header (encrypted on spans only).
func tracesBatch(tenant string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	resourceOf(rs.Resource(), tenant)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout-api")
	ss.Scope().Attributes().PutStr("scope.api_key", "scope-secret")
	for i := range 2 {
		span := ss.Spans().AppendEmpty()
		span.SetName("POST /pay")
		span.SetTraceID(pcommon.TraceID([16]byte{1, 2, 3, byte(i)}))
		span.SetSpanID(pcommon.SpanID([8]byte{4, 5, 6, byte(i)}))
		everyType(span.Attributes())
		span.Attributes().PutStr("http.request.header.authorization", "Bearer abc.def.ghi")
		ev := span.Events().AppendEmpty()
		ev.SetName("retry")
		ev.Attributes().PutStr("password", "hunter2")
		ev.Attributes().PutStr("http.request.header.authorization", "left in clear: not at this level")
		link := span.Links().AppendEmpty()
		link.Attributes().PutInt("password", 1234)
	}
	return td
}

// logsBatch: attributes of every type, and body paths to an int, a quoted key and a whole map.
func logsBatch(tenant string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	resourceOf(rl.Resource(), tenant)
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range 2 {
		lr := lrs.AppendEmpty()
		lr.SetSeverityText("INFO")
		everyType(lr.Attributes())
		lr.Attributes().PutStr("http.request.header.authorization", "Bearer abc.def.ghi")
		body := lr.Body().SetEmptyMap()
		body.PutStr("message", "payment accepted")
		card := body.PutEmptyMap("card")
		card.PutInt("number", 4111111111111111+int64(i))
		card.PutStr("brand", "visa")
		body.PutEmptyMap("user").PutStr("e.mail", "alice@example.com")
		profile := body.PutEmptyMap("profile")
		profile.PutStr("name", "Alice")
		roles := profile.PutEmptySlice("roles")
		roles.AppendEmpty().SetStr("admin")
		roles.AppendEmpty().SetStr("billing")
	}
	// A string body is not selected.
	lrs.AppendEmpty().Body().SetStr("health check")
	return ld
}

// metricsBatch: encrypted attributes on data points of several metric types, an exemplar and
// metric metadata.
func metricsBatch(tenant string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	resourceOf(rm.Resource(), tenant)
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	sum := ms.AppendEmpty()
	sum.SetName("payments")
	sum.Metadata().PutStr("password", "hunter2")
	dp := sum.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetIntValue(3)
	everyType(dp.Attributes())
	ex := dp.Exemplars().AppendEmpty()
	ex.SetDoubleValue(1.5)
	ex.FilteredAttributes().PutStr("password", "hunter2")
	gauge := ms.AppendEmpty()
	gauge.SetName("queue.depth")
	gdp := gauge.SetEmptyGauge().DataPoints().AppendEmpty()
	gdp.SetDoubleValue(7)
	gdp.Attributes().PutBool("feature.api_key", false)
	hist := ms.AppendEmpty()
	hist.SetName("latency")
	hdp := hist.SetEmptyHistogram().DataPoints().AppendEmpty()
	hdp.SetCount(2)
	hdp.SetSum(3)
	hdp.BucketCounts().FromRaw([]uint64{1, 1})
	hdp.ExplicitBounds().FromRaw([]float64{1})
	hdp.Attributes().PutStr("password", "hunter2")
	return md
}

// wardenctlIn runs wardenctl with in as its standard input and returns its exit code,
// standard output and standard error.
func wardenctlIn(in io.Reader, args ...string) (int, string, string) {
	stdin = in
	defer func() { stdin = os.Stdin }()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// newKeyring makes a keyring with `keys generate` in a fresh directory.
func newKeyring(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "field-keyring.json")
	code, out, errOut := runKeys("keys", "generate", "--out", path)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "key id:")
	return path
}
