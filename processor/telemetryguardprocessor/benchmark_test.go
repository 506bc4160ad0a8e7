//go:build unix

// The pipeline benchmark reads the process CPU time with getrusage, hence the unix constraint.

package telemetryguardprocessor

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

const benchItems = 1000

func benchProcessor(tb testing.TB, cfg *Config, next consumer.Metrics) processor.Metrics {
	tb.Helper()
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

// BenchmarkConsumeMetrics measures the processor per data point on a realistic 1000-point
// batch (five services, 150 series each): with the default configuration (every series in
// its budget); with every guard (the semantic conventions' types and enums, a rule on the
// route's length, a rate limit per service); and with a budget of 10 series per metric (most
// points folded into the overflow series; each iteration folds a fresh copy, made, 64 at a
// time, with the timer stopped).
func BenchmarkConsumeMetrics(b *testing.B) {
	for _, tc := range []struct {
		name   string
		budget int
		all    bool
	}{{"default", 2000, false}, {"every guard", 2000, true}, {"over budget", 10, false}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testConfig(func(c *Config) {
				c.Cardinality.Series.MaxPerMetric = tc.budget
				if tc.all {
					c.Schema.Checks.Semconv = schema.SemconvConfig{Embedded: true}
					c.Schema.Checks.Rules = []schema.Rule{{Keys: []string{"http.route"}, MaxLength: 128}}
					c.Rate.Source = ratelimit.SourceConfig{ResourceAttribute: "service.name"}
					c.Rate.Limits = ratelimit.Limits{RecordsPerSecond: 1e12, RecordsBurst: 1 << 30}
				}
			})
			p := benchProcessor(b, cfg, consumertest.NewNop())
			src := sample.Metrics(sample.Options{Items: benchItems})
			md := pmetric.NewMetrics()
			src.CopyTo(md)
			require.NoError(b, p.ConsumeMetrics(context.Background(), md))
			fresh := tc.budget < 150
			var copies []pmetric.Metrics
			b.ReportAllocs()
			for b.Loop() {
				if fresh {
					if len(copies) == 0 {
						b.StopTimer()
						copies = make([]pmetric.Metrics, 64)
						for i := range copies {
							copies[i] = pmetric.NewMetrics()
							src.CopyTo(copies[i])
						}
						runtime.GC()
						b.StartTimer()
					}
					md, copies = copies[len(copies)-1], copies[:len(copies)-1]
				}
				if err := p.ConsumeMetrics(context.Background(), md); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/point")
		})
	}
}

// BenchmarkPipeline measures telemetry_guard inside an in-process otlp -> batch ->
// [telemetry_guard] -> nop pipeline: each iteration decodes a 1000-point OTLP request and
// hands it to the batch processor, which forwards merged batches on its own goroutine.
// cpu-ns/point is the process CPU time (every thread) until the last point is flushed at
// shutdown, per point; compare with and without.
func BenchmarkPipeline(b *testing.B) {
	payload, err := pmetricotlp.NewExportRequestFromMetrics(sample.Metrics(sample.Options{Items: benchItems})).MarshalProto()
	require.NoError(b, err)
	for _, with := range []bool{false, true} {
		name := "without"
		if with {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			var next consumer.Metrics = consumertest.NewNop()
			if with {
				next = benchProcessor(b, testConfig(nil), next)
			}
			bf := batchprocessor.NewFactory()
			bp, err := bf.CreateMetrics(context.Background(), processortest.NewNopSettings(bf.Type()), bf.CreateDefaultConfig(), next)
			require.NoError(b, err)
			require.NoError(b, bp.Start(context.Background(), componenttest.NewNopHost()))
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			iterations := 0
			for b.Loop() {
				req := pmetricotlp.NewExportRequest()
				if err := req.UnmarshalProto(payload); err != nil {
					b.Fatal(err)
				}
				if err := bp.ConsumeMetrics(context.Background(), req.Metrics()); err != nil {
					b.Fatal(err)
				}
				iterations++
			}
			wall := b.Elapsed()
			require.NoError(b, bp.Shutdown(context.Background()))
			cpu := cpuTime(b) - cpu0
			points := float64(iterations * benchItems)
			b.ReportMetric(points/wall.Seconds(), "points/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/points, "cpu-ns/point")
		})
	}
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
