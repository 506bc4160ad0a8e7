package cardinality

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// benchPoints is the number of data points of a benchmark batch: 10 metrics of 100 series.
const benchPoints = 1000

// benchBatch is a realistic batch: one resource, 10 metrics of 100 series each, every point
// with four attributes (method, route, status code, and an instance-level id).
func benchBatch(temporality pmetric.AggregationTemporality, seriesOffset int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("service.instance.id", "0b4f0c1e-7c2d-4a55-9d0e-3f7d2f1a9c10")
	rm.Resource().Attributes().PutStr("host.name", "ip-10-0-3-17")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for m := range 10 {
		metric := sm.Metrics().AppendEmpty()
		metric.SetName(fmt.Sprintf("http.server.metric_%d", m))
		s := metric.SetEmptySum()
		s.SetAggregationTemporality(temporality)
		s.SetIsMonotonic(true)
		for i := range benchPoints / 10 {
			dp := s.DataPoints().AppendEmpty()
			a := dp.Attributes()
			a.PutStr("http.request.method", methods[i%4])
			a.PutStr("http.route", fmt.Sprintf("/api/v1/items/%d", (i+seriesOffset)/4))
			a.PutInt("http.response.status_code", int64(200+i%3))
			a.PutStr("session.id", fmt.Sprintf("s-%08d", i+seriesOffset))
			dp.SetIntValue(int64(i))
			dp.SetStartTimestamp(ts(0))
			dp.SetTimestamp(ts(60))
		}
	}
	return md
}

// runGuard walks md with the guard's element hook, as the processor does.
func runGuard(b *testing.B, g *Guard, w *walk.Walker, md pmetric.Metrics, h *hook) {
	h.b = g.NewBatch(walk.SignalMetrics)
	if err := w.EachDataPoint(context.Background(), md, h); err != nil {
		b.Fatal(err)
	}
	h.b.End()
	h.b.Release()
}

type hook struct{ b *Batch }

func (h *hook) VisitElement(_ context.Context, e *walk.Element) (walk.Op, error) {
	return h.b.DataPoint(e), nil
}

// BenchmarkDataPoint measures the guard per data point once warm, in a batch of 1000 points
// (10 metrics of 100 series): series admitted in the budget (the common case: one hash and
// one probe); series past it, 90 of every 100, folded into the overflow series (delta: merged
// into the batch's overflow point; cumulative: added to the running total); and the same in
// report mode (decided and counted, nothing changed). Folding removes points from the batch,
// so those cases fold fresh copies, made (and their garbage collected) with the timer stopped.
func BenchmarkDataPoint(b *testing.B) {
	cases := []struct {
		name        string
		temporality pmetric.AggregationTemporality
		budget      int
		mode        Mode
	}{
		{"admitted", pmetric.AggregationTemporalityCumulative, 2000, ModeEnforce},
		{"over budget/delta", pmetric.AggregationTemporalityDelta, 10, ModeEnforce},
		{"over budget/cumulative", pmetric.AggregationTemporalityCumulative, 10, ModeEnforce},
		{"over budget/report", pmetric.AggregationTemporalityDelta, 10, ModeReport},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			g, _ := testGuard(b, func(c *Config) { c.Series.MaxPerMetric = tc.budget; c.Mode = tc.mode })
			src := benchBatch(tc.temporality, 0)
			md := pmetric.NewMetrics()
			var w walk.Walker
			h := &hook{}
			src.CopyTo(md)
			runGuard(b, g, &w, md, h) // warm: every series decided
			fresh := tc.budget < 100 && tc.mode == ModeEnforce
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
				runGuard(b, g, &w, md, h)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPoints), "ns/point")
			b.ReportMetric(float64(md.DataPointCount()), "points-out")
		})
	}
}

// BenchmarkBytesPerSeries tracks a million distinct series and reports the heap they take.
func BenchmarkBytesPerSeries(b *testing.B) {
	const series = 1_000_000
	for b.Loop() {
		g, _ := testGuard(b, func(c *Config) {
			c.Series.MaxPerMetric = series
			c.Attributes.Signals = nil // series only: values are measured apart
			c.Limits.MaxSeries = series
		})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var w walk.Walker
		h := &hook{}
		for off := 0; off < series; off += benchPoints {
			runGuard(b, g, &w, benchBatch(pmetric.AggregationTemporalityCumulative, off), h)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := g.Stats()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Series), "bytes/series")
		b.ReportMetric(float64(st.Series), "series")
		runtime.KeepAlive(g)
	}
}

// BenchmarkBytesPerMetric tracks 100,000 metrics (names, one resource), each with one series
// of two attributes, and reports the heap per metric: its state, its series and its two keys
// with their values. It bounds the memory of limits.max_keys.
func BenchmarkBytesPerMetric(b *testing.B) {
	const metrics = 100_000
	for b.Loop() {
		g, _ := testGuard(b, func(c *Config) { c.Limits.MaxKeys = 3 * metrics })
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var w walk.Walker
		h := &hook{}
		for off := 0; off < metrics; off += 1000 {
			md := pmetric.NewMetrics()
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("service.name", "checkout")
			sm := rm.ScopeMetrics().AppendEmpty()
			for i := range 1000 {
				m := sm.Metrics().AppendEmpty()
				m.SetName(fmt.Sprint("app.metric.", off+i))
				dp := m.SetEmptySum().DataPoints().AppendEmpty()
				dp.Attributes().PutStr("http.route", "/orders")
				dp.Attributes().PutStr("http.request.method", "GET")
			}
			runGuard(b, g, &w, md, h)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/metrics, "bytes/metric")
		b.ReportMetric(float64(g.Stats().Keys), "keys")
		runtime.KeepAlive(g)
	}
}
