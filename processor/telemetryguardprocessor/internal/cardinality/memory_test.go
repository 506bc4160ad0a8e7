package cardinality

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryStaysUnderTheCaps sends a million distinct attribute values on data points (a
// user id, spread over 500 metrics with a budget of 50 values each) and a million on log
// records (a request id, over 100 services with a budget of 1000 each): the budgets want more
// than the caps allow, and what the guard tracks stays under its caps, and its heap with it.
func TestMemoryStaysUnderTheCaps(t *testing.T) {
	const (
		distinct  = 1_000_000
		perBatch  = 1000
		maxSeries = 50_000
		maxValues = 50_000
		maxKeys   = 5_000
	)
	g, _ := testGuard(t, func(c *Config) {
		c.Attributes.Signals = []string{SignalMetrics, SignalLogs}
		c.Attributes.Keys = map[string]KeyConfig{"user.id": {MaxValues: 50}}
		c.Limits = LimitsConfig{MaxSeries: maxSeries, MaxValues: maxValues, MaxKeys: maxKeys, WhenFull: FullOverflow}
	})
	before := heapInUse()
	var folded, replaced, full int64
	for off := 0; off < distinct; off += perBatch {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "checkout")
		sm := rm.ScopeMetrics().AppendEmpty()
		for m := range 5 {
			metric := sm.Metrics().AppendEmpty()
			metric.SetName("app.requests." + strconv.Itoa((off/perBatch*5+m)%500))
			s := metric.SetEmptySum()
			s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			for i := range perBatch / 5 {
				dp := s.DataPoints().AppendEmpty()
				dp.Attributes().PutStr("http.route", "/orders")
				dp.Attributes().PutStr("user.id", "u"+strconv.Itoa(off+m*perBatch/5+i))
				dp.SetIntValue(1)
			}
		}
		c := process(t, g, md)
		folded += c[ActionOverflow][ReasonSeriesLimit] + c[ActionOverflow][ReasonTrackerFull]
		replaced += c[ActionReplaceValue][ReasonValueLimit]
		full += c[ActionReplaceValue][ReasonTrackerFull]

		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty()
		lrs.Resource().Attributes().PutStr("service.name", "svc-"+strconv.Itoa(off/perBatch%100))
		recs := lrs.ScopeLogs().AppendEmpty().LogRecords()
		for i := range perBatch {
			recs.AppendEmpty().Attributes().PutStr("request.id", "r"+strconv.Itoa(off+i))
		}
		processLogs(t, g, ld)
	}
	after := heapInUse()
	st := g.Stats()
	t.Logf("tracked: %d series, %d values, %d keys; heap %.1f MiB more; folded %d points, replaced %d values (%d for the cap)",
		st.Series, st.Values, st.Keys, float64(after-before)/(1<<20), folded, replaced, full)
	assert.LessOrEqual(t, st.Series, int64(maxSeries))
	assert.LessOrEqual(t, st.Values, int64(maxValues))
	assert.LessOrEqual(t, st.Keys, int64(maxKeys))
	assert.Equal(t, int64(maxValues), st.Values, "the flood fills the values' cap, no more")
	assert.Equal(t, int64(maxSeries), st.Series, "and the series' cap")
	require.NotZero(t, replaced)
	require.NotZero(t, full)
	// 50k series and 50k values at under 64 bytes each, and 600 states (500 metrics, 100
	// services, with their keys): well under 16 MiB whatever came in.
	const bound = 16 << 20
	assert.Less(t, after-before, uint64(bound), "heap grew by %d bytes", after-before)
	fmt.Fprintf(testOutput{t}, "heap per tracked entry: %.1f bytes\n", float64(after-before)/float64(st.Series+st.Values))
}

type testOutput struct{ t *testing.T }

func (o testOutput) Write(p []byte) (int, error) { o.t.Log(string(p)); return len(p), nil }
