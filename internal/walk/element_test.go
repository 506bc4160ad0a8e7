package walk

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/sample"
)

// dropWhere drops the elements whose "drop" attribute is true and records what it saw.
type dropWhere struct{ seen []string }

func (d *dropWhere) VisitElement(_ context.Context, e *Element) (Op, error) {
	id, _ := e.Attributes.Get("id")
	d.seen = append(d.seen, fmt.Sprintf("%s/%s %s", e.Signal, e.Level, id.AsString()))
	if v, ok := e.Attributes.Get("drop"); ok && v.Bool() {
		return Delete, nil
	}
	return Keep, nil
}

func tag(m pcommon.Map, id string, drop bool) {
	m.PutStr("id", id)
	if drop {
		m.PutBool("drop", true)
	}
}

// dropTraces has: resource r0 with scope s0 (spans a kept, b dropped) and scope s1 (span c
// dropped: the scope goes); resource r1 whose only span d is dropped (the resource goes);
// resource r2 with an empty scope and resource r3 with nothing (both stay: they arrived so).
func dropTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	r0 := td.ResourceSpans().AppendEmpty()
	r0.Resource().Attributes().PutStr("r", "r0")
	s0 := r0.ScopeSpans().AppendEmpty()
	s0.Scope().SetName("s0")
	tag(s0.Spans().AppendEmpty().Attributes(), "a", false)
	tag(s0.Spans().AppendEmpty().Attributes(), "b", true)
	s1 := r0.ScopeSpans().AppendEmpty()
	s1.Scope().SetName("s1")
	tag(s1.Spans().AppendEmpty().Attributes(), "c", true)
	r1 := td.ResourceSpans().AppendEmpty()
	r1.Resource().Attributes().PutStr("r", "r1")
	tag(r1.ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes(), "d", true)
	r2 := td.ResourceSpans().AppendEmpty()
	r2.Resource().Attributes().PutStr("r", "r2")
	r2.ScopeSpans().AppendEmpty()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("r", "r3")
	return td
}

func TestEachSpanDrops(t *testing.T) {
	td := dropTraces()
	h := &dropWhere{}
	var w Walker
	require.NoError(t, w.EachSpan(context.Background(), td, h))
	assert.Equal(t, []string{"traces/span a", "traces/span b", "traces/span c", "traces/span d"}, h.seen)

	var got []string
	for _, rs := range td.ResourceSpans().All() {
		r, _ := rs.Resource().Attributes().Get("r")
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				id, _ := sp.Attributes().Get("id")
				got = append(got, r.Str()+"/"+ss.Scope().Name()+"/"+id.Str())
			}
			if ss.Spans().Len() == 0 {
				got = append(got, r.Str()+"/empty scope")
			}
		}
		if rs.ScopeSpans().Len() == 0 {
			got = append(got, r.Str()+"/empty resource")
		}
	}
	assert.Equal(t, []string{"r0/s0/a", "r2/empty scope", "r3/empty resource"}, got)
}

func TestEachLogRecordDrops(t *testing.T) {
	ld := plog.NewLogs()
	r0 := ld.ResourceLogs().AppendEmpty()
	s0 := r0.ScopeLogs().AppendEmpty()
	for i, drop := range []bool{true, false, true, false} {
		tag(s0.LogRecords().AppendEmpty().Attributes(), fmt.Sprint(i), drop)
	}
	s1 := r0.ScopeLogs().AppendEmpty()
	tag(s1.LogRecords().AppendEmpty().Attributes(), "x", true)
	r1 := ld.ResourceLogs().AppendEmpty()
	tag(r1.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes(), "y", true)

	h := &dropWhere{}
	var w Walker
	require.NoError(t, w.EachLogRecord(context.Background(), ld, h))
	assert.Len(t, h.seen, 6)
	require.Equal(t, 1, ld.ResourceLogs().Len(), "a resource left empty is removed")
	require.Equal(t, 1, ld.ResourceLogs().At(0).ScopeLogs().Len(), "a scope left empty is removed")
	var ids []string
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		id, _ := lr.Attributes().Get("id")
		ids = append(ids, id.Str())
	}
	assert.Equal(t, []string{"1", "3"}, ids)
}

// metricsOfEveryType has one metric of each type with two points: "<type>-keep" and
// "<type>-drop"; the metric "<type>-gone" has only points to drop.
func metricsOfEveryType() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("scope")
	ms := sm.Metrics()
	add := func(name string, points func(m pmetric.Metric) []pcommon.Map) {
		for _, suffix := range []string{"", "-gone"} {
			m := ms.AppendEmpty()
			m.SetName(name + suffix)
			for i, attrs := range points(m) {
				tag(attrs, fmt.Sprintf("%s%s-%d", name, suffix, i), suffix != "" || i == 1)
			}
		}
	}
	add("gauge", func(m pmetric.Metric) []pcommon.Map {
		dps := m.SetEmptyGauge().DataPoints()
		return []pcommon.Map{dps.AppendEmpty().Attributes(), dps.AppendEmpty().Attributes()}
	})
	add("sum", func(m pmetric.Metric) []pcommon.Map {
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return []pcommon.Map{s.DataPoints().AppendEmpty().Attributes(), s.DataPoints().AppendEmpty().Attributes()}
	})
	add("histogram", func(m pmetric.Metric) []pcommon.Map {
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		return []pcommon.Map{h.DataPoints().AppendEmpty().Attributes(), h.DataPoints().AppendEmpty().Attributes()}
	})
	add("exponential_histogram", func(m pmetric.Metric) []pcommon.Map {
		h := m.SetEmptyExponentialHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		return []pcommon.Map{h.DataPoints().AppendEmpty().Attributes(), h.DataPoints().AppendEmpty().Attributes()}
	})
	add("summary", func(m pmetric.Metric) []pcommon.Map {
		dps := m.SetEmptySummary().DataPoints()
		return []pcommon.Map{dps.AppendEmpty().Attributes(), dps.AppendEmpty().Attributes()}
	})
	ms.AppendEmpty().SetName("empty-type") // no points: not an element, stays
	return md
}

func TestEachDataPointDropsInEveryMetricType(t *testing.T) {
	md := metricsOfEveryType()
	var seen []string
	h := ElementVisitorFunc(func(_ context.Context, e *Element) (Op, error) {
		require.Equal(t, SignalMetrics, e.Signal)
		require.Equal(t, LevelDataPoint, e.Level)
		require.Equal(t, "svc", ServiceName(e.Resource))
		require.Equal(t, "scope", e.Scope.Name())
		// The point is in the field its metric's type calls for, and only there.
		var attrs pcommon.Map
		set := 0
		if e.NumberDataPoint != (pmetric.NumberDataPoint{}) {
			attrs, set = e.NumberDataPoint.Attributes(), set+1
		}
		if e.HistogramDataPoint != (pmetric.HistogramDataPoint{}) {
			attrs, set = e.HistogramDataPoint.Attributes(), set+1
		}
		if e.ExponentialHistogramDataPoint != (pmetric.ExponentialHistogramDataPoint{}) {
			attrs, set = e.ExponentialHistogramDataPoint.Attributes(), set+1
		}
		if e.SummaryDataPoint != (pmetric.SummaryDataPoint{}) {
			attrs, set = e.SummaryDataPoint.Attributes(), set+1
		}
		require.Equal(t, 1, set, e.Metric.Name())
		id, _ := attrs.Get("id")
		same, _ := e.Attributes.Get("id")
		require.Equal(t, id.Str(), same.Str(), "Attributes is the point's map")
		seen = append(seen, fmt.Sprintf("%s %s %s", e.Metric.Type(), e.Temporality(), id.Str()))
		if _, drop := e.Attributes.Get("drop"); drop {
			return Delete, nil
		}
		return Keep, nil
	})
	var w Walker
	require.NoError(t, w.EachDataPoint(context.Background(), md, h))
	assert.Contains(t, seen, "Gauge Unspecified gauge-0")
	assert.Contains(t, seen, "Sum Cumulative sum-1")
	assert.Contains(t, seen, "Histogram Delta histogram-gone-0")
	assert.Contains(t, seen, "ExponentialHistogram Delta exponential_histogram-0")
	assert.Contains(t, seen, "Summary Unspecified summary-1")
	assert.Len(t, seen, 5*4)

	var left []string
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for _, m := range ms.All() {
		left = append(left, fmt.Sprintf("%s:%d", m.Name(), pointCount(m)))
	}
	assert.Equal(t, []string{"gauge:1", "sum:1", "histogram:1", "exponential_histogram:1", "summary:1", "empty-type:0"}, left,
		"dropped points go, a metric left without points goes, a metric that came without points stays")
	assert.Equal(t, 5, md.DataPointCount())

	// Dropping everything removes the scope and the resource too.
	drop := ElementVisitorFunc(func(context.Context, *Element) (Op, error) { return Delete, nil })
	md = metricsOfEveryType()
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().RemoveIf(func(m pmetric.Metric) bool { return m.Name() == "empty-type" })
	require.NoError(t, w.EachDataPoint(context.Background(), md, drop))
	assert.Zero(t, md.ResourceMetrics().Len())
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

func TestElementErrorStopsTheWalk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		walk  func(w *Walker, h ElementVisitor) error
		where string
	}{
		{"traces", func(w *Walker, h ElementVisitor) error { return w.EachSpan(context.Background(), dropTraces(), h) }, "traces/span"},
		{"logs", func(w *Walker, h ElementVisitor) error {
			return w.EachLogRecord(context.Background(), sample.Logs(sample.Options{Items: 10}), h)
		}, "logs/log_record"},
		{"metrics", func(w *Walker, h ElementVisitor) error {
			return w.EachDataPoint(context.Background(), metricsOfEveryType(), h)
		}, `metrics/datapoint of "gauge-gone"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			h := ElementVisitorFunc(func(context.Context, *Element) (Op, error) {
				calls++
				if calls == 3 {
					return Keep, errKMS
				}
				return Keep, nil
			})
			var w Walker
			err := tc.walk(&w, h)
			require.ErrorIs(t, err, errKMS)
			var we *Error
			require.ErrorAs(t, err, &we)
			assert.Equal(t, tc.where, we.Where)
			assert.Equal(t, 3, calls)
		})
	}
}

func TestElementContextIsPassed(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "batch-1")
	var got []any
	h := ElementVisitorFunc(func(ctx context.Context, _ *Element) (Op, error) {
		got = append(got, ctx.Value(key{}))
		return Keep, nil
	})
	v := ValueVisitorFunc(func(ctx context.Context, _ *Location, _ pcommon.Value) (Op, error) {
		got = append(got, ctx.Value(key{}))
		return Keep, nil
	})
	var w Walker
	require.NoError(t, w.WalkLogs(ctx, sample.Logs(sample.Options{Items: 1}),
		Pass{Selector: mustSelector(t, keys("order.id")...), Values: v, Elements: h}))
	assert.Equal(t, []any{"batch-1", "batch-1"}, got)
}

// In one pass, an element's selected values are visited, then its strings, then the element
// hook sees the result.
func TestWalkCombinesInOrder(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("password", "hunter2")
	lr.Attributes().PutStr("note", "hello")
	var order []string
	w := New(VisitorFunc(func(loc *Location, v string) (Op, string) {
		order = append(order, "string "+loc.Key()+"="+v)
		return Keep, ""
	}))
	v := ValueVisitorFunc(func(_ context.Context, loc *Location, v pcommon.Value) (Op, error) {
		order = append(order, "value "+loc.Key())
		v.SetStr("enc")
		return Replace, nil
	})
	h := ElementVisitorFunc(func(_ context.Context, e *Element) (Op, error) {
		pw, _ := e.Attributes.Get("password")
		order = append(order, "element password="+pw.Str())
		return Keep, nil
	})
	require.NoError(t, w.WalkLogs(context.Background(), ld, Pass{Selector: mustSelector(t, keys("password")...), Values: v, Elements: h}))
	assert.Equal(t, []string{"value password", "string password=enc", "string note=hello", "element password=enc"}, order)
}

// A hook may append an overflow point to the slice it walks: the point is kept and not shown.
func TestElementAppendedPointIsNotShown(t *testing.T) {
	md := pmetric.NewMetrics()
	dps := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum().DataPoints()
	for i := 0; i < 3; i++ {
		tag(dps.AppendEmpty().Attributes(), fmt.Sprint(i), false)
	}
	shown := 0
	h := ElementVisitorFunc(func(_ context.Context, e *Element) (Op, error) {
		shown++
		id, _ := e.Attributes.Get("id")
		if id.Str() == "1" {
			dps.AppendEmpty().Attributes().PutBool("otel.metric.overflow", true)
			return Delete, nil
		}
		return Keep, nil
	})
	var w Walker
	require.NoError(t, w.EachDataPoint(context.Background(), md, h))
	assert.Equal(t, 3, shown)
	require.Equal(t, 3, dps.Len())
	_, overflow := dps.At(2).Attributes().Get("otel.metric.overflow")
	assert.True(t, overflow)
}

func TestElementWalkAllocatesNothingPerElement(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	ctx := context.Background()
	keep := ElementVisitorFunc(func(context.Context, *Element) (Op, error) { return Keep, nil })
	td := sample.Traces(sample.Options{Items: 200})
	ld := sample.Logs(sample.Options{Items: 200})
	md := sample.Metrics(sample.Options{Items: 200})
	var w Walker
	require.NoError(t, w.EachSpan(ctx, td, keep))
	allocs := testing.AllocsPerRun(20, func() {
		_ = w.EachSpan(ctx, td, keep)
		_ = w.EachLogRecord(ctx, ld, keep)
		_ = w.EachDataPoint(ctx, md, keep)
	})
	assert.Zero(t, allocs, "keeping")

	// Dropping every other point: copies are made beforehand, so only the walk is counted.
	const runs = 20
	copies := make([]pmetric.Metrics, runs+1)
	for i := range copies {
		copies[i] = pmetric.NewMetrics()
		md.CopyTo(copies[i])
	}
	n := 0
	half := ElementVisitorFunc(func(_ context.Context, e *Element) (Op, error) {
		n++
		if n%2 == 0 {
			return Delete, nil
		}
		return Keep, nil
	})
	require.NoError(t, w.EachDataPoint(ctx, copies[0], half)) // warms the buffers
	i := 1
	allocs = testing.AllocsPerRun(runs-1, func() {
		_ = w.EachDataPoint(ctx, copies[i], half)
		i++
	})
	assert.Zero(t, allocs, "dropping")
	assert.Equal(t, 100, copies[1].DataPointCount())
}
