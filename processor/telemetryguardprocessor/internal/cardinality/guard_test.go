package cardinality

import (
	"fmt"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func seriesBatch(temporality pmetric.AggregationTemporality, at, n int, value func(i int) int64) pmetric.Metrics {
	pts := make([]sumPoint, n)
	for i := range pts {
		pts[i] = sumPoint{attrs: user(i), value: value(i)}
	}
	return sums("http.server.requests", temporality, at, pts...)
}

func TestDeltaSeriesPastTheBudgetFoldIntoTheOverflowSeries(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 10 })
	md := seriesBatch(pmetric.AggregationTemporalityDelta, 60, 25, func(i int) int64 { return int64(i + 1) })
	want := sumTotal(md)
	c := process(t, g, md)

	got := points(md)
	require.Len(t, got, 11, "the budget, and the overflow series")
	over := got[overflowKey]
	var folded int64
	for i := 10; i < 25; i++ {
		folded += int64(i + 1)
	}
	assert.Equal(t, folded, over.IntValue())
	assert.Equal(t, want, sumTotal(md), "the sum is kept")
	assert.Equal(t, ts(50), over.StartTimestamp())
	assert.Equal(t, ts(60), over.Timestamp())
	assert.EqualValues(t, 15, c[ActionOverflow][ReasonSeriesLimit])

	rm := md.ResourceMetrics().At(0)
	assert.Equal(t, 1, md.ResourceMetrics().Len(), "the overflow point stays in its resource and scope")
	assert.Equal(t, "io.opentelemetry.http", rm.ScopeMetrics().At(0).Scope().Name())

	// The next batch: the same ten pass, the others fold again; a series seen before is not
	// counted twice in the budget.
	md = seriesBatch(pmetric.AggregationTemporalityDelta, 120, 25, func(int) int64 { return 1 })
	c = process(t, g, md)
	got = points(md)
	require.Len(t, got, 11)
	assert.EqualValues(t, 15, got[overflowKey].IntValue())
	assert.EqualValues(t, 15, c[ActionOverflow][ReasonSeriesLimit])
	_, ok := got[fmt.Sprint(user(3))]
	assert.True(t, ok, "an admitted series keeps its place")
}

func TestSeriesPastTheBudgetAreDroppedWhenConfigured(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) {
		c.Series.MaxPerMetric = 100
		c.Metrics = map[string]MetricConfig{"http.server.requests": {MaxSeries: 4, OverLimit: SeriesDrop}}
	})
	md := seriesBatch(pmetric.AggregationTemporalityCumulative, 60, 10, func(int) int64 { return 5 })
	c := process(t, g, md)
	assert.Len(t, points(md), 4)
	assert.EqualValues(t, 6, c[ActionDrop][ReasonSeriesLimit])
}

// cumulativeRound sends one export of series 0..n-1 (those for which report says so) with
// their cumulative values.
func cumulativeRound(t *testing.T, g *Guard, at int, values map[int]int64) (pmetric.Metrics, Counts) {
	t.Helper()
	var pts []sumPoint
	for i := 0; i < 100; i++ {
		if v, ok := values[i]; ok {
			pts = append(pts, sumPoint{attrs: user(i), value: v})
		}
	}
	md := sums("http.server.requests", pmetric.AggregationTemporalityCumulative, at, pts...)
	return md, process(t, g, md)
}

func TestCumulativeSeriesFoldIntoARunningTotal(t *testing.T) {
	g, clk := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 3 })

	// Five series, three admitted: the overflow is the sum of the two others' values.
	md, c := cumulativeRound(t, g, 60, map[int]int64{0: 10, 1: 20, 2: 30, 3: 40, 4: 50})
	got := points(md)
	require.Len(t, got, 4)
	assert.EqualValues(t, 90, got[overflowKey].IntValue())
	assert.Equal(t, startTS(), got[overflowKey].StartTimestamp())
	assert.EqualValues(t, 2, c[ActionOverflow][ReasonSeriesLimit])

	// They grow: the overflow grows by what they added, not by their whole values again.
	md, _ = cumulativeRound(t, g, 120, map[int]int64{0: 11, 1: 21, 2: 31, 3: 45, 4: 57})
	assert.EqualValues(t, 45+57, points(md)[overflowKey].IntValue())

	// Only series 3 reports: the total keeps series 4's last value.
	md, _ = cumulativeRound(t, g, 180, map[int]int64{3: 46})
	got = points(md)
	require.Len(t, got, 1)
	assert.EqualValues(t, 46+57, got[overflowKey].IntValue())
	assert.Equal(t, ts(180), got[overflowKey].Timestamp())

	// Series 0 stops; two windows on it is forgotten and its place is free. Series 3 and 4
	// keep reporting: they stay in the overflow (moving them out would count them twice),
	// and a new series takes the free place.
	for w := 1; w <= 2; w++ {
		clk.add(g.Window())
		md, _ = cumulativeRound(t, g, 180+60*w, map[int]int64{1: 22, 2: 32, 3: 46 + int64(w), 4: 57 + int64(w)})
		assert.EqualValues(t, 46+57+2*w, points(md)[overflowKey].IntValue())
	}
	md, c = cumulativeRound(t, g, 400, map[int]int64{1: 23, 2: 33, 3: 50, 4: 60, 5: 7})
	got = points(md)
	require.Len(t, got, 4)
	assert.EqualValues(t, 110, got[overflowKey].IntValue())
	assert.EqualValues(t, 7, got[fmt.Sprint(user(5))].IntValue(), "the freed place goes to a new series")
	assert.EqualValues(t, 2, c[ActionOverflow][ReasonSeriesLimit])

	// Series 4 restarts (a new start time, a small value): its new value adds to the total,
	// which never goes down.
	md = sums("http.server.requests", pmetric.AggregationTemporalityCumulative, 460,
		sumPoint{attrs: user(4), value: 3})
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).SetStartTimestamp(ts(450))
	process(t, g, md)
	assert.EqualValues(t, 113, points(md)[overflowKey].IntValue())
}

func TestOverBudgetValuesAreReplacedAndTheirSeriesMerged(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) {
		c.Attributes.Keys = map[string]KeyConfig{"user.id": {MaxValues: 5}}
	})
	md := seriesBatch(pmetric.AggregationTemporalityDelta, 60, 12, func(i int) int64 { return int64(i + 1) })
	want := sumTotal(md)
	c := process(t, g, md)
	got := points(md)
	require.Len(t, got, 6, "five users, and the others as one")
	other := got[fmt.Sprint(map[string]any{"http.request.method": "GET", "user.id": "_OTHER"})]
	assert.EqualValues(t, 6+7+8+9+10+11+12, other.IntValue())
	assert.Equal(t, want, sumTotal(md))
	assert.EqualValues(t, 7, c[ActionReplaceValue][ReasonValueLimit])

	// Removing the key instead.
	g, _ = testGuard(t, func(c *Config) {
		c.Attributes.Keys = map[string]KeyConfig{"user.id": {MaxValues: 5, OverLimit: ValueRemoveKey}}
	})
	md = seriesBatch(pmetric.AggregationTemporalityDelta, 60, 12, func(i int) int64 { return int64(i + 1) })
	c = process(t, g, md)
	got = points(md)
	require.Len(t, got, 6)
	assert.EqualValues(t, 6+7+8+9+10+11+12, got[fmt.Sprint(map[string]any{"http.request.method": "GET"})].IntValue())
	assert.EqualValues(t, 7, c[ActionRemoveKey][ReasonValueLimit])
}

func TestCumulativeSeriesWithReplacedValuesKeepARunningTotal(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.Attributes.MaxValues = 2 })
	other := fmt.Sprint(map[string]any{"http.request.method": "GET", "user.id": "_OTHER"})
	md, _ := cumulativeRound(t, g, 60, map[int]int64{0: 1, 1: 2, 2: 3, 3: 4})
	got := points(md)
	require.Len(t, got, 3)
	assert.EqualValues(t, 7, got[other].IntValue())
	md, _ = cumulativeRound(t, g, 120, map[int]int64{0: 1, 1: 2, 2: 5, 3: 4})
	assert.EqualValues(t, 9, points(md)[other].IntValue())
}

func TestReportModeChangesNothingAndCountsWhatEnforceWould(t *testing.T) {
	batch := func() pmetric.Metrics {
		return seriesBatch(pmetric.AggregationTemporalityDelta, 60, 30, func(i int) int64 { return int64(i) })
	}
	setup := func(c *Config) {
		c.Series.MaxPerMetric = 10
		c.Attributes.Keys = map[string]KeyConfig{"user.id": {MaxValues: 20}}
	}
	enforce, _ := testGuard(t, setup)
	report, _ := testGuard(t, func(c *Config) { setup(c); c.Mode = ModeReport })
	for round := range 3 {
		md := batch()
		before := pmetric.NewMetrics()
		md.CopyTo(before)
		rc := process(t, report, md)
		require.NoError(t, pmetrictest.CompareMetrics(before, md), "round %d", round)
		ec := process(t, enforce, batch())
		assert.Equal(t, ec, rc, "round %d", round)
		assert.NotZero(t, rc[ActionOverflow][ReasonSeriesLimit])
	}
}

// splitBatch builds one batch holding the series [0, n) of one metric in two parts, either as
// two resource entries (as concatenated requests are) or as two metric entries of one scope.
func splitBatch(temporality pmetric.AggregationTemporality, at, n, cut int, sameScope bool, value func(i int) int64) pmetric.Metrics {
	part := func(from, to int) pmetric.Metrics {
		pts := make([]sumPoint, 0, to-from)
		for i := from; i < to; i++ {
			pts = append(pts, sumPoint{attrs: user(i), value: value(i)})
		}
		return sums("http.server.requests", temporality, at, pts...)
	}
	md, second := part(0, cut), part(cut, n)
	if sameScope {
		second.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().MoveAndAppendTo(
			md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics())
		return md
	}
	second.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	return md
}

func TestAMetricInSeveralEntriesOfABatchLeavesWithOneOverflowPoint(t *testing.T) {
	for _, temporality := range []pmetric.AggregationTemporality{pmetric.AggregationTemporalityDelta, pmetric.AggregationTemporalityCumulative} {
		for _, sameScope := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/same_scope=%v", temporality, sameScope), func(t *testing.T) {
				g, _ := testGuard(t, func(c *Config) { c.Series.MaxPerMetric = 10 })
				value := func(i int) int64 { return int64(i + 1) }
				var folded int64
				for i := 10; i < 30; i++ {
					folded += value(i)
				}
				md := splitBatch(temporality, 60, 30, 20, sameScope, value)
				want := sumTotal(md)
				c := process(t, g, md)
				got := points(md) // fails on two points of one series
				require.Len(t, got, 11, "the budget, and one overflow point")
				assert.Equal(t, folded, got[overflowKey].IntValue())
				assert.Equal(t, want, sumTotal(md))
				assert.EqualValues(t, 20, c[ActionOverflow][ReasonSeriesLimit])

				// The next export grows every series by one: the cumulative total grows by
				// what its members added, the delta one is their new values.
				md = splitBatch(temporality, 120, 30, 20, sameScope, func(i int) int64 {
					if temporality == pmetric.AggregationTemporalityDelta {
						return 1
					}
					return value(i) + 1
				})
				process(t, g, md)
				got = points(md)
				require.Len(t, got, 11)
				if temporality == pmetric.AggregationTemporalityDelta {
					assert.EqualValues(t, 20, got[overflowKey].IntValue())
				} else {
					assert.Equal(t, folded+20, got[overflowKey].IntValue())
				}
			})
		}
	}
}
