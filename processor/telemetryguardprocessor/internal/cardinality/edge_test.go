package cardinality

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/walk"
)

func TestGlobalSeriesCap(t *testing.T) {
	for _, tc := range []struct {
		name        string
		whenFull    FullAction
		temporality pmetric.AggregationTemporality
		wantPoints  int
		want        func(c Counts) int64
	}{
		{"delta folds", FullOverflow, pmetric.AggregationTemporalityDelta, 5 + 1, func(c Counts) int64 { return c[ActionOverflow][ReasonTrackerFull] }},
		{"cumulative drops", FullOverflow, pmetric.AggregationTemporalityCumulative, 5, func(c Counts) int64 { return c[ActionDrop][ReasonTrackerFull] }},
		{"pass", FullPass, pmetric.AggregationTemporalityCumulative, 20, func(c Counts) int64 { return c[ActionPass][ReasonTrackerFull] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := testGuard(t, func(c *Config) {
				c.Limits.MaxSeries = 5
				c.Limits.WhenFull = tc.whenFull
			})
			md := seriesBatch(tc.temporality, 60, 20, func(int) int64 { return 1 })
			c := process(t, g, md)
			assert.Len(t, points(md), tc.wantPoints)
			assert.EqualValues(t, 15, tc.want(c))
			assert.LessOrEqual(t, g.Stats().Series, int64(5))
		})
	}
}

func TestGlobalKeysCapLeavesNewMetricsUntracked(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Limits.MaxKeys = 3 }) // one metric and its two keys
	process(t, g, sums("a", pmetric.AggregationTemporalityDelta, 60, sumPoint{attrs: user(1), value: 1}))
	md := sums("b", pmetric.AggregationTemporalityDelta, 60, sumPoint{attrs: user(1), value: 2}, sumPoint{attrs: user(2), value: 3})
	c := process(t, g, md)
	got := points(md)
	require.Len(t, got, 1, "an untracked metric's delta points fold into its overflow series")
	assert.EqualValues(t, 5, got[overflowKey].IntValue())
	assert.EqualValues(t, 2, c[ActionOverflow][ReasonTrackerFull])
	assert.EqualValues(t, 3, g.Stats().Keys)

	md = sums("c", pmetric.AggregationTemporalityCumulative, 60, sumPoint{attrs: user(1), value: 2})
	c = process(t, g, md)
	assert.Zero(t, md.DataPointCount(), "a cumulative point cannot be folded untracked: dropped")
	assert.EqualValues(t, 1, c[ActionDrop][ReasonTrackerFull])
}

func TestExemptMetricsAndKeys(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) {
		c.Series.MaxPerMetric = 2
		c.Attributes.MaxValues = 2
		c.Attributes.ExemptKeys = []string{"http.request.method"}
		c.Metrics = map[string]MetricConfig{
			"free":   {Exempt: true},
			"custom": {MaxSeries: 100, ExemptKeys: []string{"user.id"}},
			"strict": {MaxSeries: 100, Keys: map[string]KeyConfig{
				"user.id":             {MaxValues: 1},
				"http.request.method": {MaxValues: 1}, // exempt everywhere: no effect
			}},
		}
	})
	many := func(name string) pmetric.Metrics {
		return sums(name, pmetric.AggregationTemporalityDelta, 60, func() []sumPoint {
			var pts []sumPoint
			for i := range 10 {
				pts = append(pts, sumPoint{attrs: map[string]any{"http.request.method": fmt.Sprint("M", i), "user.id": fmt.Sprint(i)}, value: 1})
			}
			return pts
		}()...)
	}
	md := many("free")
	assert.Zero(t, process(t, g, md)[ActionOverflow][ReasonSeriesLimit])
	assert.Len(t, points(md), 10, "an exempt metric is untouched")

	md = many("custom")
	c := process(t, g, md)
	assert.Len(t, points(md), 10, "its own budget, user.id exempt, method exempt everywhere")
	assert.Zero(t, c[ActionReplaceValue][ReasonValueLimit])

	md = many("strict")
	c = process(t, g, md)
	assert.EqualValues(t, 9, c[ActionReplaceValue][ReasonValueLimit], "one user, the method exempt")

	md = many("other")
	c = process(t, g, md)
	// Two users; the others' series, rewritten, find the budget of two series spent: folded.
	assert.EqualValues(t, 8, c[ActionOverflow][ReasonSeriesLimit])
	assert.Len(t, points(md), 3)
}

func TestUpstreamOverflowPointsJoinTheGuardsOwn(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 2 })
	md := seriesBatch(pmetric.AggregationTemporalityDelta, 60, 4, func(int) int64 { return 10 })
	dp := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().AppendEmpty()
	dp.Attributes().PutBool(OverflowKey, true) // from an SDK that overflowed already
	dp.SetIntValue(7)
	c := process(t, g, md)
	got := points(md)
	require.Len(t, got, 3)
	assert.EqualValues(t, 27, got[overflowKey].IntValue())
	assert.EqualValues(t, 1, c[ActionOverflow][ReasonUpstreamOverflow])
}

func TestGaugeOverflowKeepsTheLatestValue(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 1 })
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("queue.depth")
	dps := m.SetEmptyGauge().DataPoints()
	for i, at := range []int{10, 30, 20} {
		dp := dps.AppendEmpty()
		dp.Attributes().PutInt("queue", int64(i))
		dp.SetIntValue(int64(100 + i))
		dp.SetTimestamp(ts(at))
	}
	process(t, g, md)
	got := points(md)
	require.Len(t, got, 2)
	assert.EqualValues(t, 101, got[overflowKey].IntValue(), "the value of the latest point")
	assert.Equal(t, ts(30), got[overflowKey].Timestamp())
}

func TestHistogramsWithOtherBoundsAreDroppedAndCounted(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 1 })
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for i, bounds := range [][]float64{{1}, {1, 2}, {1, 2}, {5}} {
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutInt("i", int64(i))
		dp.ExplicitBounds().FromRaw(bounds)
		dp.BucketCounts().FromRaw(make([]uint64, len(bounds)+1))
		dp.BucketCounts().SetAt(0, 1)
		dp.SetCount(1)
	}
	c := process(t, g, md)
	assert.Equal(t, 2, md.DataPointCount(), "the admitted series and the overflow point")
	assert.EqualValues(t, 2, c[ActionOverflow][ReasonSeriesLimit])
	assert.EqualValues(t, 1, c[ActionDrop][ReasonIncompatible], "a point whose bounds differ from the overflow point's")
	over := m.Histogram().DataPoints().At(1)
	assert.EqualValues(t, 2, over.Count())
}

func TestOutOfOrderCumulativePointsDoNotCountTwice(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 1 })
	cumulativeRound(t, g, 60, map[int]int64{0: 1, 1: 10})
	md, _ := cumulativeRound(t, g, 120, map[int]int64{1: 15})
	assert.EqualValues(t, 15, points(md)[overflowKey].IntValue())
	md, _ = cumulativeRound(t, g, 90, map[int]int64{1: 12}) // older than the last: ignored
	assert.EqualValues(t, 15, points(md)[overflowKey].IntValue())
	md, _ = cumulativeRound(t, g, 180, map[int]int64{1: 16})
	assert.EqualValues(t, 16, points(md)[overflowKey].IntValue())
}

func TestValuesAndStatesExpireWithTheWindow(t *testing.T) {
	g, clk := testGuard(t, func(c *Config) { c.Attributes.MaxValues = 3 })
	process(t, g, seriesBatch(pmetric.AggregationTemporalityDelta, 60, 3, func(int) int64 { return 1 }))
	require.NotZero(t, g.Stats().Series)
	// The three users stop; two windows later new users have their places.
	clk.add(g.Window())
	clk.add(g.Window())
	md := sums("http.server.requests", pmetric.AggregationTemporalityDelta, 60,
		sumPoint{attrs: user(10), value: 1}, sumPoint{attrs: user(11), value: 1}, sumPoint{attrs: user(12), value: 1})
	c := process(t, g, md)
	assert.Zero(t, c[ActionReplaceValue][ReasonValueLimit])
	// Nothing reports for two windows: the sweep forgets everything.
	clk.add(2 * g.Window())
	g.Sweep()
	assert.Equal(t, Stats{MaxSeries: g.maxSeries, MaxValues: g.maxValues, MaxKeys: g.maxKeys}, g.Stats())
}

func TestSpansPerServiceRemoveKey(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) {
		c.Attributes.Signals = []string{SignalTraces}
		c.Attributes.Keys = map[string]KeyConfig{"session.id": {MaxValues: 2, OverLimit: ValueRemoveKey}}
	})
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 4 {
		spans.AppendEmpty().Attributes().PutStr("session.id", fmt.Sprint(i))
	}
	var w walk.Walker
	b := g.NewBatch(walk.SignalTraces)
	require.NoError(t, w.EachSpan(t.Context(), td, hookFunc(b.Record)))
	b.End()
	c := *b.Total()
	b.Release()
	assert.EqualValues(t, 2, c[ActionRemoveKey][ReasonValueLimit])
	_, ok := spans.At(3).Attributes().Get("session.id")
	assert.False(t, ok)
	_, ok = spans.At(1).Attributes().Get("session.id")
	assert.True(t, ok)
}

// Batches of one metric from many goroutines at once: the budget holds exactly.
func TestConcurrentBatchesShareOneBudget(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 50 })
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := map[string]bool{}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				pts := make([]sumPoint, 20)
				for i := range pts {
					pts[i] = sumPoint{attrs: user(w*1000 + round*20 + i), value: 1}
				}
				md := sums("http.server.requests", pmetric.AggregationTemporalityDelta, 60, pts...)
				process(t, g, md)
				mu.Lock()
				for k := range points(md) {
					if k != overflowKey {
						admitted[k] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, admitted, 50)
}

type hookFunc func(e *walk.Element) walk.Op

func (f hookFunc) VisitElement(_ context.Context, e *walk.Element) (walk.Op, error) { return f(e), nil }
