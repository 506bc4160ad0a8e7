package apikeyscopeprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/processor/apikeyscopeprocessor/internal/metadatatest"
)

// hundredSpans is a batch of 100 spans under 5 resources, each claiming a tenant.
func hundredSpans() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range 5 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "checkout")
		rs.Resource().Attributes().PutStr("host.name", "node-1")
		rs.Resource().Attributes().PutStr("tenant.id", []string{"acme", "globex"}[r%2])
		ss := rs.ScopeSpans().AppendEmpty()
		for i := range 20 {
			s := ss.Spans().AppendEmpty()
			s.SetName("GET /cart")
			s.SetTraceID([16]byte{byte(r), byte(i)})
			s.SetSpanID([8]byte{byte(r), byte(i)})
			s.Attributes().PutStr("http.request.method", "GET")
			s.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td
}

// BenchmarkTraces is the per-batch cost of the processor on 100 spans: the batch is reused,
// so what is measured is the check and the stamping (after the first iteration the tenant is
// already right), not building pdata.
func BenchmarkTraces(b *testing.B) {
	for _, bc := range []struct {
		name string
		ctx  context.Context
		cfg  func(*Config)
	}{
		{name: "no_auth", ctx: context.Background()},
		{name: "key_stamp", ctx: ctxWith(keyAuth("acme", "k1", "logs", "traces"))},
		{name: "key_stamp_key_id", ctx: ctxWith(keyAuth("acme", "k1", "logs", "traces")), cfg: func(c *Config) { c.KeyIDAttribute = "warden.api_key.id" }},
		{name: "refused", ctx: ctxWith(keyAuth("acme", "k1", "logs"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(b, tel.Shutdown(context.Background())) }()
			cfg := createDefaultConfig().(*Config)
			if bc.cfg != nil {
				bc.cfg(cfg)
			}
			proc, err := NewFactory().CreateTraces(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
			require.NoError(b, err)
			td := hundredSpans()
			var last error
			b.ReportAllocs()
			for b.Loop() {
				last = proc.ConsumeTraces(bc.ctx, td)
			}
			require.Equal(b, bc.name == "refused", last != nil, "%v", last)
			if bc.name == "key_stamp" {
				v, _ := td.ResourceSpans().At(1).Resource().Attributes().Get("tenant.id")
				require.Equal(b, "acme", v.Str())
			}
		})
	}
}
