package cardinality

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// clock is a settable clock for windows.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)} }
func ts(sec int) pcommon.Timestamp   { return pcommon.Timestamp(uint64(1_772_323_200+sec) * 1e9) }
func startTS() pcommon.Timestamp     { return ts(0) }
func testGuard(t testing.TB, mutate func(*Config)) (*Guard, *clock) {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := New(cfg)
	require.NoError(t, err)
	c := newClock()
	g.SetClock(c.now)
	return g, c
}

// process runs the guard over md as the processor does and returns the batch's counts.
func process(t testing.TB, g *Guard, md pmetric.Metrics) Counts {
	t.Helper()
	var w walk.Walker
	b := g.NewBatch(walk.SignalMetrics)
	err := w.EachDataPoint(context.Background(), md, walk.ElementVisitorFunc(func(_ context.Context, e *walk.Element) (walk.Op, error) {
		return b.DataPoint(e), nil
	}))
	b.End()
	c := *b.Total()
	b.Release()
	require.NoError(t, err)
	return c
}

func processLogs(t testing.TB, g *Guard, ld plog.Logs) Counts {
	t.Helper()
	var w walk.Walker
	b := g.NewBatch(walk.SignalLogs)
	err := w.EachLogRecord(context.Background(), ld, walk.ElementVisitorFunc(func(_ context.Context, e *walk.Element) (walk.Op, error) {
		return b.Record(e), nil
	}))
	b.End()
	c := *b.Total()
	b.Release()
	require.NoError(t, err)
	return c
}

// sumPoint describes one number point of a batch built by sums.
type sumPoint struct {
	attrs map[string]any
	value int64
}

// sums builds a batch of one sum metric of the given temporality, in one resource and scope.
func sums(name string, temporality pmetric.AggregationTemporality, at int, points ...sumPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("service.instance.id", "i-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("io.opentelemetry.http")
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetAggregationTemporality(temporality)
	s.SetIsMonotonic(true)
	for _, p := range points {
		dp := s.DataPoints().AppendEmpty()
		if err := dp.Attributes().FromRaw(p.attrs); err != nil {
			panic(err)
		}
		dp.SetIntValue(p.value)
		if temporality == pmetric.AggregationTemporalityCumulative {
			dp.SetStartTimestamp(startTS())
		} else {
			dp.SetStartTimestamp(ts(at - 10))
		}
		dp.SetTimestamp(ts(at))
	}
	return md
}

// user returns the attributes of series i: a method and a user id.
func user(i int) map[string]any {
	return map[string]any{"http.request.method": "GET", "user.id": fmt.Sprintf("u%05d", i)}
}

// points returns the number points of the first metric of md by their attributes' text.
func points(md pmetric.Metrics) map[string]pmetric.NumberDataPoint {
	out := map[string]pmetric.NumberDataPoint{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					continue
				}
				for d := 0; d < dps.Len(); d++ {
					key := fmt.Sprint(dps.At(d).Attributes().AsRaw())
					if _, dup := out[key]; dup {
						panic("two points of one series in a batch: " + key)
					}
					out[key] = dps.At(d)
				}
			}
		}
	}
	return out
}

const overflowKey = "map[otel.metric.overflow:true]"

func sumTotal(md pmetric.Metrics) int64 {
	var n int64
	for _, p := range points(md) {
		n += p.IntValue()
	}
	return n
}
