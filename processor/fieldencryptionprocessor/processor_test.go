package fieldencryptionprocessor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadatatest"
)

// localConfig is a config with a fresh keyring in a temp dir and the fields.
func localConfig(t testing.TB) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Fields = []FieldConfig{{Key: "password"}, {Key: "*.api_key"}, {Key: "http.request.header.authorization"}, {Key: "body.card.number"}}
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	cfg.Provider.Local = configoptional.Some(LocalConfig{Keyring: keyring, Create: true})
	cfg.Tenant = TenantConfig{Attribute: "tenant.id"}
	cfg.ContextAttributes = []string{"service.name"}
	require.NoError(t, cfg.Validate())
	return cfg
}

type started struct {
	logs    processor.Logs
	traces  processor.Traces
	metrics processor.Metrics
	lsink   *consumertest.LogsSink
	tsink   *consumertest.TracesSink
	msink   *consumertest.MetricsSink
	tel     *componenttest.Telemetry
	p       *fieldProcessor
}

func start(t *testing.T, cfg *Config, host component.Host) *started {
	t.Helper()
	ff := newFactory()
	f := ff.processorFactory()
	s := &started{lsink: &consumertest.LogsSink{}, tsink: &consumertest.TracesSink{}, msink: &consumertest.MetricsSink{}, tel: componenttest.NewTelemetry()}
	set := metadatatest.NewSettings(s.tel)
	var err error
	s.logs, err = f.CreateLogs(context.Background(), set, cfg, s.lsink)
	require.NoError(t, err)
	s.traces, err = f.CreateTraces(context.Background(), set, cfg, s.tsink)
	require.NoError(t, err)
	s.metrics, err = f.CreateMetrics(context.Background(), set, cfg, s.msink)
	require.NoError(t, err)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	for _, c := range []component.Component{s.logs, s.traces, s.metrics} {
		require.NoError(t, c.Start(context.Background(), host))
	}
	s.p = ff.instance(cfg)
	require.NotNil(t, s.p, "one processor serves every signal")
	t.Cleanup(func() {
		for _, c := range []component.Component{s.logs, s.traces, s.metrics} {
			require.NoError(t, c.Shutdown(context.Background()))
		}
		require.NoError(t, s.tel.Shutdown(context.Background()))
	})
	return s
}

func decryptor(t testing.TB, cfg *Config) *fieldcrypt.Decryptor {
	t.Helper()
	lp, err := fieldcrypt.NewLocalProvider(cfg.Provider.Local.Get().Keyring)
	require.NoError(t, err)
	d, err := fieldcrypt.NewDecryptor(lp, fieldcrypt.DecryptorConfig{})
	require.NoError(t, err)
	return d
}

// valuesOfEveryType puts one attribute of each type under keys the config selects.
func valuesOfEveryType(m pcommon.Map) map[string]any {
	m.PutStr("password", "hunter2")
	m.PutInt("billing.api_key", math.MaxInt64)
	m.PutDouble("search.api_key", 0.25)
	m.PutBool("feature.api_key", true)
	m.PutEmptyBytes("raw.api_key").FromRaw([]byte{0, 1, 2, 255})
	nested := m.PutEmptyMap("nested.api_key")
	nested.PutStr("secret", "s3cr3t")
	if err := errors.Join(nested.PutEmptySlice("list").FromRaw([]any{int64(1), "two", 3.5}),
		m.PutEmptySlice("list.api_key").FromRaw([]any{"a", int64(2), map[string]any{"k": "v"}})); err != nil {
		panic(err) // fixed values that always convert
	}
	m.PutStr("http.request.header.authorization", "Bearer abc.def.ghi")
	m.PutStr("user.id", "42") // not selected
	return m.AsRaw()
}

func TestEncryptsEveryTypeAndDecryptsBack(t *testing.T) {
	cfg := localConfig(t)
	s := start(t, cfg, nil)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("tenant.id", "acme")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	want := valuesOfEveryType(lr.Attributes())
	lr.Body().SetEmptyMap().PutEmptyMap("card").PutStr("number", "4111 1111 1111 1111")
	wantBody := lr.Body().Map().AsRaw()

	require.NoError(t, s.logs.ConsumeLogs(context.Background(), ld))
	out := s.lsink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	d := decryptor(t, cfg)
	for k, v := range out.Attributes().All() {
		if k == "user.id" {
			assert.Equal(t, "42", v.Str(), "an unselected value passes")
			continue
		}
		require.Equal(t, pcommon.ValueTypeStr, v.Type(), k)
		require.True(t, fieldcrypt.IsCiphertext(v.Str()), "%s: %s", k, v.Str())
		assert.NotContains(t, v.Str(), "hunter2")
		back, err := d.Decrypt(context.Background(), k, v.Str())
		require.NoError(t, err, k)
		assert.Equal(t, want[k], back.AsRaw(), "%s decrypts to the same type and value", k)
	}
	num, ok := out.Body().Map().Get("card")
	require.True(t, ok)
	ct, _ := num.Map().Get("number")
	require.True(t, fieldcrypt.IsCiphertext(ct.Str()))
	back, err := d.Decrypt(context.Background(), "body.card.number", ct.Str())
	require.NoError(t, err)
	assert.Equal(t, wantBody["card"].(map[string]any)["number"], back.AsRaw())

	// A ciphertext moved to another field does not decrypt.
	pw, _ := out.Attributes().Get("password")
	_, err = d.Decrypt(context.Background(), "user.id", pw.Str())
	require.ErrorIs(t, err, fieldcrypt.ErrTampered)

	// Encrypting again leaves ciphertext as it is (a second collector on the path).
	again := plog.NewLogs()
	out.CopyTo(again.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	require.NoError(t, s.logs.ConsumeLogs(context.Background(), again))
	twice, _ := s.lsink.AllLogs()[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("password")
	assert.Equal(t, pw.Str(), twice.Str())

	metadatatest.AssertEqualProcessorFieldEncryptionValues(t, s.tel, []metricdata.DataPoint[int64]{
		{Value: 9, Attributes: attribute.NewSet(attribute.String("outcome", "encrypted"), attribute.String("signal", "logs"))},
	}, metricdatatest.IgnoreTimestamp())
	// One data key per field (the field is part of the encryption context), the second batch
	// reusing them.
	metadatatest.AssertEqualProcessorFieldEncryptionDataKeys(t, s.tel, []metricdata.DataPoint[int64]{{Value: 9}}, metricdatatest.IgnoreTimestamp())
}

func TestEverySignalAndLevel(t *testing.T) {
	cfg := localConfig(t)
	cfg.Fields = []FieldConfig{{Key: "password"}, {Key: "db.secret", Levels: []string{"span"}}}
	s := start(t, cfg, nil)

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("password", "resource-level")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("password", "scope-level")
	span := ss.Spans().AppendEmpty()
	span.Attributes().PutStr("password", "span-level")
	span.Attributes().PutStr("db.secret", "span-only")
	span.Events().AppendEmpty().Attributes().PutStr("db.secret", "not at this level")
	span.Links().AppendEmpty().Attributes().PutStr("password", "link-level")
	require.NoError(t, s.traces.ConsumeTraces(context.Background(), td))
	out := s.tsink.AllTraces()[0].ResourceSpans().At(0)
	for _, m := range []pcommon.Map{out.Resource().Attributes(), out.ScopeSpans().At(0).Scope().Attributes(),
		out.ScopeSpans().At(0).Spans().At(0).Attributes(), out.ScopeSpans().At(0).Spans().At(0).Links().At(0).Attributes()} {
		v, _ := m.Get("password")
		assert.True(t, fieldcrypt.IsCiphertext(v.Str()), v.Str())
	}
	sec, _ := out.ScopeSpans().At(0).Spans().At(0).Attributes().Get("db.secret")
	assert.True(t, fieldcrypt.IsCiphertext(sec.Str()))
	ev, _ := out.ScopeSpans().At(0).Spans().At(0).Events().At(0).Attributes().Get("db.secret")
	assert.Equal(t, "not at this level", ev.Str(), "levels narrow a field")

	md := pmetric.NewMetrics()
	dp := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("password", "point-level")
	dp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("password", "exemplar-level")
	require.NoError(t, s.metrics.ConsumeMetrics(context.Background(), md))
	mdp := s.msink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0)
	v, _ := mdp.Attributes().Get("password")
	assert.True(t, fieldcrypt.IsCiphertext(v.Str()))
	v, _ = mdp.Exemplars().At(0).FilteredAttributes().Get("password")
	assert.True(t, fieldcrypt.IsCiphertext(v.Str()))
}

// failingProvider refuses every data key, as KMS does in an outage.
type failingProvider struct {
	fieldcrypt.Provider
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *failingProvider) GenerateDataKey(ctx context.Context, keyID string, ec fieldcrypt.Context) ([]byte, []byte, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, nil, fmt.Errorf("injected outage: %w", fieldcrypt.ErrUnavailable)
	}
	return f.Provider.GenerateDataKey(ctx, keyID, ec)
}

func logsWithPassword(tenant string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	if tenant != "" {
		rl.Resource().Attributes().PutStr("tenant.id", tenant)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Attributes().PutStr("password", "hunter2")
	lrs.AppendEmpty().Attributes().PutStr("other", "clean")
	return ld
}

// TestFailsClosed: with no data key, refuse refuses the batch (retryably) and nothing reaches
// the next consumer; drop_field replaces the value with a marker. Plaintext never passes.
func TestFailsClosed(t *testing.T) {
	for _, mode := range []OnKeyError{OnKeyErrorRefuse, OnKeyErrorDropField} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := localConfig(t)
			cfg.OnKeyError = mode
			ledger := &audittest.Ledger{}
			id := component.MustNewID("audit_ledger")
			cfg.Ledger = &id
			cfg.SummaryInterval = time.Hour
			s := start(t, cfg, audittest.Host{id: ledger})
			p := s.p
			fp := &failingProvider{Provider: p.provider}
			fp.fail.Store(true)
			p.encryptor.Close()
			enc, err := fieldcrypt.NewEncryptor(fp, fieldcrypt.CacheConfig{MaxAge: time.Minute})
			require.NoError(t, err)
			p.encryptor = enc

			err = s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme"))
			switch mode {
			case OnKeyErrorRefuse:
				require.Error(t, err)
				assert.False(t, consumererror.IsPermanent(err), "retryable: the sender keeps the batch")
				assert.ErrorIs(t, err, fieldcrypt.ErrUnavailable)
				assert.Empty(t, s.lsink.AllLogs(), "nothing leaves")
			case OnKeyErrorDropField:
				require.NoError(t, err)
				got := s.lsink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
				v, _ := got.Attributes().Get("password")
				assert.Equal(t, FailedMarker, v.Str())
			}

			// The provider recovers: a batch is encrypted again (after the encryptor's pause
			// between attempts), never passed in clear meanwhile.
			fp.fail.Store(false)
			require.Eventually(t, func() bool {
				n := len(s.lsink.AllLogs())
				_ = s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme"))
				if len(s.lsink.AllLogs()) == n {
					return false
				}
				v, _ := s.lsink.AllLogs()[n].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("password")
				return fieldcrypt.IsCiphertext(v.Str())
			}, 20*time.Second, 50*time.Millisecond)
			for _, ld := range s.lsink.AllLogs() {
				v, _ := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("password")
				assert.NotEqual(t, "hunter2", v.Str(), "never in clear")
			}

			require.NoError(t, p.agg.Flush(context.Background()))
			evs := ledger.Events()
			require.NotEmpty(t, evs)
			var counts = map[string]int64{}
			for _, ev := range evs {
				assert.Equal(t, summaryAction, ev.Action)
				for k, n := range ev.Counts {
					counts[k] += n
				}
			}
			assert.Equal(t, int64(1), counts[countEncrypted])
			if mode == OnKeyErrorRefuse {
				assert.Positive(t, counts[countRefused])
			} else {
				assert.Positive(t, counts[countDropped])
			}
		})
	}
}

func TestTenantKeysAndShredding(t *testing.T) {
	cfg := localConfig(t)
	keyring := cfg.Provider.Local.Get().Keyring
	_, err := fieldcrypt.GenerateKeyring(keyring)
	require.NoError(t, err)
	acme, err := fieldcrypt.Rotate(keyring, "acme")
	require.NoError(t, err)
	s := start(t, cfg, nil)
	require.NoError(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme")))
	require.NoError(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("globex")))
	value := func(i int) string {
		v, _ := s.lsink.AllLogs()[i].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("password")
		return v.Str()
	}
	assert.True(t, strings.HasPrefix(value(0), fieldcrypt.Prefix+acme.ID+":"), "acme's own key: %s", value(0))
	assert.False(t, strings.HasPrefix(value(1), fieldcrypt.Prefix+acme.ID+":"), "globex uses the default key")

	_, err = fieldcrypt.Shred(keyring, "acme")
	require.NoError(t, err)
	d := decryptor(t, cfg)
	_, err = d.Decrypt(context.Background(), "password", value(0))
	require.ErrorIs(t, err, fieldcrypt.ErrShredded, "acme's fields are unrecoverable")
	back, err := d.Decrypt(context.Background(), "password", value(1))
	require.NoError(t, err, "globex's still decrypt")
	assert.Equal(t, "hunter2", back.Str())
}

func TestOneDataKeyServesManyBatches(t *testing.T) {
	cfg := localConfig(t)
	s := start(t, cfg, nil)
	for range 200 {
		require.NoError(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme")))
	}
	assert.Equal(t, uint64(1), s.p.encryptor.Stats().DataKeys, "one data key per key, context and field")
}

var _ audit.Recorder = (*audittest.Ledger)(nil)
