package auditexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/nopexporter"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadata"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/sample"
)

// BenchmarkExporterOverhead measures what auditing a delivery costs: the same batch goes to
// the bare nop exporter and to the audit exporter wrapping nop with an in-memory ledger.
func BenchmarkExporterOverhead(b *testing.B) {
	const items = 1000
	td := sample.Traces(sample.Options{Items: items})
	ld := sample.Logs(sample.Options{Items: items})

	type exporters struct {
		traces exporter.Traces
		logs   exporter.Logs
	}
	nopExporters := func(b *testing.B) exporters {
		f := nopexporter.NewFactory()
		set := exportertest.NewNopSettings(f.Type())
		t, err := f.CreateTraces(context.Background(), set, f.CreateDefaultConfig())
		require.NoError(b, err)
		l, err := f.CreateLogs(context.Background(), set, f.CreateDefaultConfig())
		require.NoError(b, err)
		return exporters{traces: t, logs: l}
	}
	auditExporters := func(b *testing.B, ledger *audittest.Ledger) exporters {
		cfg := newTestConfig(b, synchronous(map[string]any{"destination": map[string]any{"nop": nil}}))
		set := exportertest.NewNopSettings(metadata.Type)
		host := audittest.Host{ledgerID: ledger}
		t, err := NewFactory().CreateTraces(context.Background(), set, cfg)
		require.NoError(b, err)
		l, err := NewFactory().CreateLogs(context.Background(), set, cfg)
		require.NoError(b, err)
		for _, c := range []component.Component{t, l} {
			require.NoError(b, c.Start(context.Background(), host))
			b.Cleanup(func() { require.NoError(b, c.Shutdown(context.Background())) })
		}
		return exporters{traces: t, logs: l}
	}

	for _, signal := range []string{"traces", "logs"} {
		consume := func(e exporters) error {
			if signal == "traces" {
				return e.traces.ConsumeTraces(context.Background(), td)
			}
			return e.logs.ConsumeLogs(context.Background(), ld)
		}
		b.Run(signal+"/nop", func(b *testing.B) {
			e := nopExporters(b)
			b.ReportAllocs()
			for b.Loop() {
				if err := consume(e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(signal+"/audit_nop", func(b *testing.B) {
			ledger := &audittest.Ledger{}
			e := auditExporters(b, ledger)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := consume(e); err != nil {
					b.Fatal(err)
				}
				n++
			}
			evs := ledger.Events()
			require.Len(b, evs, n, "one entry per delivery")
			require.Equal(b, int64(items), evs[len(evs)-1].Counts["records"])
			require.Equal(b, signal, evs[len(evs)-1].Attributes["signal"])
		})
	}
}
