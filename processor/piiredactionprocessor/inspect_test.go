package piiredactionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadatatest"
)

// The Inspector must find exactly what the processor counts: same code, same decisions.
func TestInspectorFindsWhatTheProcessorCounts(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"defaults": func(*Config) {},
		"tuned": func(c *Config) {
			c.Names.Action = ActionHash
			c.Custom = []CustomConfig{{Name: "order_id", Regexp: `ORD-[0-9]{6}`, ActionConfig: ActionConfig{Action: ActionRedact}}}
			c.Allow.Services = []string{"search"}
			c.Scan.MaxScanBytes = 200
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(mutate)
			opts := sample.Options{Items: 200, PIIEvery: 7}
			traces, logs, metrics := sample.Traces(opts), sample.Logs(opts), sample.Metrics(opts)

			in, err := NewInspector(cfg)
			require.NoError(t, err)
			found := map[[3]string]int64{}
			count := func(f Finding) {
				assert.NotEmpty(t, f.Key)
				assert.NotEmpty(t, f.Service)
				found[[3]string{f.Type, f.Action, f.Signal}]++
			}
			assert.Positive(t, in.Traces(traces, count))
			assert.Positive(t, in.Logs(logs, count))
			assert.Positive(t, in.Metrics(metrics, count))

			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			p, err := newProcessor(metadatatest.NewSettings(tel), cfg)
			require.NoError(t, err)
			require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))
			_, err = p.processTraces(context.Background(), traces)
			require.NoError(t, err)
			_, err = p.processLogs(context.Background(), logs)
			require.NoError(t, err)
			_, err = p.processMetrics(context.Background(), metrics)
			require.NoError(t, err)
			require.NoError(t, p.shutdown(context.Background()))

			m, err := tel.GetMetric("otelcol_processor_pii_redaction_findings")
			require.NoError(t, err)
			counted := map[[3]string]int64{}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				typ, _ := dp.Attributes.Value("pii_type")
				act, _ := dp.Attributes.Value("action")
				sig, _ := dp.Attributes.Value("signal")
				counted[[3]string{typ.AsString(), act.AsString(), sig.AsString()}] += dp.Value
			}
			require.NotEmpty(t, counted)
			assert.Equal(t, counted, found)
		})
	}
}

func TestInspectorChangesNothingAndReportsWhere(t *testing.T) {
	in, err := NewInspector(testConfig(func(c *Config) {
		c.Names.Action = ActionRedact
		c.Hash = HashConfig{Key: "${env:KEY}"} // an inspection needs no key
	}))
	require.NoError(t, err)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "users")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("user.full_name", "Jane Doe")
	lr.Attributes().PutStr("user.password", "hunter2")
	lr.Body().SetEmptyMap().PutEmptyMap("customer").PutStr("email", "jane.doe@example.com")
	before := plog.NewLogs()
	ld.CopyTo(before)

	var got []Finding
	values := in.Logs(ld, func(f Finding) { got = append(got, f) })
	assert.Equal(t, 4, values) // service.name, two attributes, the body's e-mail
	assert.ElementsMatch(t, []Finding{
		{Signal: "logs", Service: "users", Key: "user.full_name", Type: "name", Action: "redact"},
		{Signal: "logs", Service: "users", Key: "user.password", Type: "sensitive_key", Action: "redact"},
		{Signal: "logs", Service: "users", Key: "body.customer.email", Type: "email", Action: "hash"},
	}, got)
	assert.Equal(t, before, ld)

	// A disabled signal is not scanned.
	in, err = NewInspector(testConfig(func(c *Config) { c.Signals.Traces = false }))
	require.NoError(t, err)
	assert.Zero(t, in.Traces(ptrace.NewTraces(), nil))

	_, err = NewInspector(testConfig(func(c *Config) { c.Scan.MaxScanBytes = 0 }))
	assert.ErrorContains(t, err, "scan.max_scan_bytes")
}
