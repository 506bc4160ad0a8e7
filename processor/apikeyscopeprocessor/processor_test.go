package apikeyscopeprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/processor/apikeyscopeprocessor/internal/metadatatest"
)

// fakeAuth is client.AuthData as api_key_auth fills it, or as another authenticator might.
type fakeAuth map[string]any

func (a fakeAuth) GetAttribute(name string) any { return a[name] }

func (a fakeAuth) GetAttributeNames() []string {
	names := make([]string, 0, len(a))
	for k := range a {
		names = append(names, k)
	}
	return names
}

func keyAuth(tenant, keyID string, scopes ...string) fakeAuth {
	return fakeAuth{"tenant": tenant, "key_id": keyID, "scopes": scopes}
}

func ctxWith(auth client.AuthData) context.Context {
	return client.NewContext(context.Background(), client.Info{Auth: auth})
}

// pipeline is one signal's processor with its sink and telemetry.
type pipeline struct {
	tel     *componenttest.Telemetry
	traces  *consumertest.TracesSink
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	send    func(ctx context.Context) error
	// resources returns the resources that reached the sink.
	resources func() []pcommon.Resource
}

func newPipeline(t *testing.T, signal string, tweak func(*Config)) *pipeline {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if tweak != nil {
		tweak(cfg)
	}
	require.NoError(t, cfg.Validate())
	p := &pipeline{tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, p.tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(p.tel)
	f := NewFactory()
	ctx := context.Background()
	switch signal {
	case "traces":
		p.traces = new(consumertest.TracesSink)
		proc, err := f.CreateTraces(ctx, set, cfg, p.traces)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, proc.Shutdown(ctx)) })
		p.send = func(ctx context.Context) error { return proc.ConsumeTraces(ctx, twoResourceTraces()) }
		p.resources = func() []pcommon.Resource {
			var out []pcommon.Resource
			for _, td := range p.traces.AllTraces() {
				for i := range td.ResourceSpans().Len() {
					out = append(out, td.ResourceSpans().At(i).Resource())
				}
			}
			return out
		}
	case "logs":
		p.logs = new(consumertest.LogsSink)
		proc, err := f.CreateLogs(ctx, set, cfg, p.logs)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, proc.Shutdown(ctx)) })
		p.send = func(ctx context.Context) error { return proc.ConsumeLogs(ctx, twoResourceLogs()) }
		p.resources = func() []pcommon.Resource {
			var out []pcommon.Resource
			for _, ld := range p.logs.AllLogs() {
				for i := range ld.ResourceLogs().Len() {
					out = append(out, ld.ResourceLogs().At(i).Resource())
				}
			}
			return out
		}
	case "metrics":
		p.metrics = new(consumertest.MetricsSink)
		proc, err := f.CreateMetrics(ctx, set, cfg, p.metrics)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, proc.Shutdown(ctx)) })
		p.send = func(ctx context.Context) error { return proc.ConsumeMetrics(ctx, twoResourceMetrics()) }
		p.resources = func() []pcommon.Resource {
			var out []pcommon.Resource
			for _, md := range p.metrics.AllMetrics() {
				for i := range md.ResourceMetrics().Len() {
					out = append(out, md.ResourceMetrics().At(i).Resource())
				}
			}
			return out
		}
	default:
		t.Fatalf("unknown signal %q", signal)
	}
	return p
}

// The batches have two resources: checkout, which claims tenant globex, and cart, which
// claims none; 3 items in all (2 under checkout, 1 under cart).
func twoResourceTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	for _, r := range []struct {
		service, tenant string
		spans           int
	}{{"checkout", "globex", 2}, {"cart", "", 1}} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", r.service)
		if r.tenant != "" {
			rs.Resource().Attributes().PutStr("tenant.id", r.tenant)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		for i := range r.spans {
			s := ss.Spans().AppendEmpty()
			s.SetName("GET /cart")
			s.SetTraceID([16]byte{1, byte(i)})
			s.SetSpanID([8]byte{2, byte(i)})
		}
	}
	return td
}

func twoResourceLogs() plog.Logs {
	ld := plog.NewLogs()
	for _, r := range []struct {
		service, tenant string
		records         int
	}{{"checkout", "globex", 2}, {"cart", "", 1}} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", r.service)
		if r.tenant != "" {
			rl.Resource().Attributes().PutStr("tenant.id", r.tenant)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for range r.records {
			sl.LogRecords().AppendEmpty().Body().SetStr("order placed")
		}
	}
	return ld
}

func twoResourceMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, r := range []struct {
		service, tenant string
		points          int
	}{{"checkout", "globex", 2}, {"cart", "", 1}} {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", r.service)
		if r.tenant != "" {
			rm.Resource().Attributes().PutStr("tenant.id", r.tenant)
		}
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration")
		g := m.SetEmptyGauge()
		for i := range r.points {
			g.DataPoints().AppendEmpty().SetDoubleValue(float64(i))
		}
	}
	return md
}

var signals = []string{"traces", "logs", "metrics"}

func TestScopePerSignal(t *testing.T) {
	for _, signal := range signals {
		for _, scopes := range [][]string{{"traces"}, {"logs"}, {"metrics"}, {"traces", "logs", "metrics"}, {"audit"}, {}} {
			has := false
			for _, s := range scopes {
				has = has || s == signal
			}
			t.Run(signal+"/"+joinOrNone(scopes), func(t *testing.T) {
				p := newPipeline(t, signal, nil)
				err := p.send(ctxWith(keyAuth("acme", "k1", scopes...)))
				if has {
					require.NoError(t, err)
					require.Len(t, p.resources(), 2)
					return
				}
				require.Error(t, err)
				assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
				assert.Contains(t, err.Error(), "API key k1")
				assert.Contains(t, err.Error(), "lacks the "+signal+" scope")
				assert.Empty(t, p.resources(), "nothing of a refused batch goes on")
				metadatatest.AssertEqualProcessorAPIKeyScopeRefused(t, p.tel, []metricdata.DataPoint[int64]{{
					Value:      3,
					Attributes: attribute.NewSet(attribute.String("signal", signal), attribute.String("reason", "missing_scope")),
				}}, metricdatatest.IgnoreTimestamp())
			})
		}
	}
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	out := s[0]
	for _, x := range s[1:] {
		out += "+" + x
	}
	return out
}

func TestWithoutAPIKeyAuth(t *testing.T) {
	for _, signal := range signals {
		for name, ctx := range map[string]context.Context{
			"no client info":         context.Background(),
			"no auth":                client.NewContext(context.Background(), client.Info{}),
			"auth without scopes":    ctxWith(fakeAuth{"subject": "alice", "tenant": "acme"}),
			"scopes of another type": ctxWith(fakeAuth{"scopes": "traces logs metrics", "tenant": "acme"}),
		} {
			t.Run(signal+"/"+name, func(t *testing.T) {
				p := newPipeline(t, signal, nil)
				require.NoError(t, p.send(ctx))
				res := p.resources()
				require.Len(t, res, 2)
				tenant, ok := res[0].Attributes().Get("tenant.id")
				require.True(t, ok)
				assert.Equal(t, "globex", tenant.Str(), "unauthenticated: what the sender claimed stays")
				_, ok = res[1].Attributes().Get("tenant.id")
				assert.False(t, ok)

				p = newPipeline(t, signal, func(c *Config) { c.RequireAuth = true })
				err := p.send(ctx)
				assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
				assert.Empty(t, p.resources())
				metadatatest.AssertEqualProcessorAPIKeyScopeRefused(t, p.tel, []metricdata.DataPoint[int64]{{
					Value:      3,
					Attributes: attribute.NewSet(attribute.String("signal", signal), attribute.String("reason", "unauthenticated")),
				}}, metricdatatest.IgnoreTimestamp())
			})
		}
	}
}

func TestRequireAuthLetsKeysThrough(t *testing.T) {
	p := newPipeline(t, "logs", func(c *Config) { c.RequireAuth = true })
	require.NoError(t, p.send(ctxWith(keyAuth("acme", "k1", "logs"))))
	require.Len(t, p.resources(), 2)
}

func TestAuditScope(t *testing.T) {
	for _, tt := range []struct {
		scopes []string
		ok     bool
		lacks  string
	}{
		{scopes: []string{"logs", "audit"}, ok: true},
		{scopes: []string{"logs"}, lacks: "audit"},
		{scopes: []string{"audit"}, lacks: "logs"},
		{scopes: []string{"traces", "metrics", "audit"}, lacks: "logs"},
	} {
		t.Run(joinOrNone(tt.scopes), func(t *testing.T) {
			p := newPipeline(t, "logs", func(c *Config) { c.AuditScope = true })
			err := p.send(ctxWith(keyAuth("acme", "k1", tt.scopes...)))
			if tt.ok {
				require.NoError(t, err)
				require.Len(t, p.resources(), 2)
				return
			}
			assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			assert.Contains(t, err.Error(), "lacks the "+tt.lacks+" scope")
			assert.Contains(t, err.Error(), "use a key with logs and audit")
			assert.Empty(t, p.resources())
		})
	}
}

func TestTenantStampingAndOverrides(t *testing.T) {
	for _, signal := range signals {
		t.Run(signal, func(t *testing.T) {
			p := newPipeline(t, signal, nil)
			ctx := ctxWith(keyAuth("acme", "k1", signal))
			require.NoError(t, p.send(ctx))
			require.NoError(t, p.send(ctx))
			res := p.resources()
			require.Len(t, res, 4)
			for i, r := range res {
				v, ok := r.Attributes().Get("tenant.id")
				require.True(t, ok, "resource %d", i)
				assert.Equal(t, "acme", v.Str(), "resource %d", i)
				_, ok = r.Attributes().Get("key_id")
				assert.False(t, ok, "no key id attribute by default")
				assert.Equal(t, 2, r.Attributes().Len(), "service.name and tenant.id only")
			}
			// One resource per batch claimed globex; the other claimed nothing, which is not an
			// override.
			metadatatest.AssertEqualProcessorAPIKeyScopeTenantOverrides(t, p.tel, []metricdata.DataPoint[int64]{{
				Value:      2,
				Attributes: attribute.NewSet(attribute.String("signal", signal)),
			}}, metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestSameTenantClaimedIsNoOverride(t *testing.T) {
	p := newPipeline(t, "traces", nil)
	require.NoError(t, p.send(ctxWith(keyAuth("globex", "k1", "traces"))))
	for _, r := range p.resources() {
		v, _ := r.Attributes().Get("tenant.id")
		assert.Equal(t, "globex", v.Str())
	}
	_, err := p.tel.GetMetric("otelcol_processor_api_key_scope_tenant_overrides")
	assert.Error(t, err, "no override was counted")
}

func TestNonStringTenantClaimIsOverridden(t *testing.T) {
	p := newPipeline(t, "traces", nil)
	proc, err := NewFactory().CreateTraces(context.Background(), metadatatest.NewSettings(p.tel), createDefaultConfig(), p.traces)
	require.NoError(t, err)
	td := twoResourceTraces()
	td.ResourceSpans().At(1).Resource().Attributes().PutInt("tenant.id", 7)
	require.NoError(t, proc.ConsumeTraces(ctxWith(keyAuth("acme", "k1", "traces")), td))
	require.NoError(t, proc.Shutdown(context.Background()))
	for _, r := range p.resources() {
		v, _ := r.Attributes().Get("tenant.id")
		assert.Equal(t, pcommon.NewValueStr("acme"), v)
	}
	metadatatest.AssertEqualProcessorAPIKeyScopeTenantOverrides(t, p.tel, []metricdata.DataPoint[int64]{{
		Value:      2,
		Attributes: attribute.NewSet(attribute.String("signal", "traces")),
	}}, metricdatatest.IgnoreTimestamp())
}

func TestKeyIDAndCustomTenantAttribute(t *testing.T) {
	for _, signal := range signals {
		t.Run(signal, func(t *testing.T) {
			p := newPipeline(t, signal, func(c *Config) {
				c.TenantAttribute = "warden.tenant"
				c.KeyIDAttribute = "warden.api_key.id"
			})
			require.NoError(t, p.send(ctxWith(keyAuth("acme", "k1", signal))))
			res := p.resources()
			require.Len(t, res, 2)
			for _, r := range res {
				v, _ := r.Attributes().Get("warden.tenant")
				assert.Equal(t, "acme", v.Str())
				v, _ = r.Attributes().Get("warden.api_key.id")
				assert.Equal(t, "k1", v.Str())
			}
			v, _ := res[0].Attributes().Get("tenant.id")
			assert.Equal(t, "globex", v.Str(), "another attribute than tenant_attribute is left alone")
		})
	}
}

func TestEmptyTenantStampsNothing(t *testing.T) {
	p := newPipeline(t, "traces", func(c *Config) { c.KeyIDAttribute = "key.id" })
	require.NoError(t, p.send(ctxWith(fakeAuth{"scopes": []string{"traces"}})))
	for _, r := range p.resources() {
		_, ok := r.Attributes().Get("key.id")
		assert.False(t, ok)
	}
	v, _ := p.resources()[0].Attributes().Get("tenant.id")
	assert.Equal(t, "globex", v.Str())
}
