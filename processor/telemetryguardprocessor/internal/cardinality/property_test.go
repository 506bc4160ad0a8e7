package cardinality

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// totals are what folding must keep: per metric, the sum of the values (number points), and
// the count, sum and bucket counts (histograms; exponential histograms by range and with
// their zero bucket, since merging may lower the scale).
type totals map[string]*total

type total struct {
	value   float64
	count   uint64
	sum     float64
	buckets []uint64 // explicit buckets; exponential: [zero, positive, negative]
}

func (ts totals) of(name string) *total {
	if ts[name] == nil {
		ts[name] = &total{}
	}
	return ts[name]
}

func (t *total) add(o *total) {
	t.value += o.value
	t.count += o.count
	t.sum += o.sum
	for len(t.buckets) < len(o.buckets) {
		t.buckets = append(t.buckets, 0)
	}
	for i, b := range o.buckets {
		t.buckets[i] += b
	}
}

// pointTotals returns the total of each point of md, keyed by metric name and attributes.
func pointTotals(md pmetric.Metrics) map[string]*total {
	out := map[string]*total{}
	put := func(name string, attrs pcommon.Map, t *total) {
		key := name + fmt.Sprint(attrs.AsRaw())
		if out[key] != nil {
			panic("two points of one series in one batch: " + key)
		}
		out[key] = t
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps := m.Sum().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						put(m.Name(), dps.At(d).Attributes(), &total{value: float64(dps.At(d).IntValue())})
					}
				case pmetric.MetricTypeHistogram:
					dps := m.Histogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						p := dps.At(d)
						put(m.Name(), p.Attributes(), &total{count: p.Count(), sum: p.Sum(), buckets: p.BucketCounts().AsRaw()})
					}
				case pmetric.MetricTypeExponentialHistogram:
					dps := m.ExponentialHistogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						p := dps.At(d)
						put(m.Name(), p.Attributes(), &total{count: p.Count(), sum: p.Sum(), buckets: expBucketsAt(p, -4)})
					}
				}
			}
		}
	}
	return out
}

// expBucketsAt returns an exponential histogram's zero count and its positive buckets at a
// scale lower than any in the test (every bucket of a higher scale lies in one of its
// buckets), so that histograms merged at any scale compare exactly.
func expBucketsAt(p pmetric.ExponentialHistogramDataPoint, scale int32) []uint64 {
	out := make([]uint64, 16)
	out[0] = p.ZeroCount()
	pos := p.Positive()
	for i := 0; i < pos.BucketCounts().Len(); i++ {
		idx := (int64(pos.Offset()) + int64(i)) >> (p.Scale() - scale)
		out[1+idx+8] += pos.BucketCounts().At(i)
	}
	return out
}

// byMetric sums the totals of points (or of the latest point of each series) per metric.
func byMetric(points map[string]*total) totals {
	out := totals{}
	keys := make([]string, 0, len(points))
	for k := range points {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k[:len("m_xx")]
		out.of(name).add(points[k])
	}
	return out
}

// series is one input series of the property test, with its cumulative state.
type series struct {
	user    int
	method  string
	value   int64
	count   uint64
	sum     float64
	buckets []uint64
	scale   int32
	offset  int32
	pos     []uint64
	zero    uint64
}

// randomBatch makes a batch of six metrics (sum, histogram and exponential histogram, delta
// and cumulative) over a subset of the series; cumulative series grow from their last values.
func randomBatch(r *rand.Rand, all [][]*series, at int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	sm := rm.ScopeMetrics().AppendEmpty()
	bounds := []float64{1, 5, 10, 50}
	for mi, ss := range all {
		name := fmt.Sprintf("m_%02d", mi)
		cumulative := mi%2 == 1
		temporality := pmetric.AggregationTemporalityDelta
		if cumulative {
			temporality = pmetric.AggregationTemporalityCumulative
		}
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		kind := mi / 2
		switch kind {
		case 0:
			m.SetEmptySum().SetAggregationTemporality(temporality)
			m.Sum().SetIsMonotonic(true)
		case 1:
			m.SetEmptyHistogram().SetAggregationTemporality(temporality)
		case 2:
			m.SetEmptyExponentialHistogram().SetAggregationTemporality(temporality)
		}
		for _, s := range ss {
			if r.IntN(3) == 0 {
				continue // this series does not report in this batch
			}
			inc := int64(r.IntN(20))
			incBuckets := make([]uint64, len(bounds)+1)
			var incCount uint64
			for b := range incBuckets {
				incBuckets[b] = uint64(r.IntN(5))
				incCount += incBuckets[b]
			}
			incZero := uint64(r.IntN(3))
			incPos := make([]uint64, len(s.pos))
			for b := range incPos {
				incPos[b] = uint64(r.IntN(4))
			}
			start := ts(0)
			if cumulative {
				s.value += inc
				for b := range incBuckets {
					s.buckets[b] += incBuckets[b]
				}
				s.count += incCount
				s.sum += float64(incCount) * 2.5
				s.zero += incZero
				for b := range incPos {
					s.pos[b] += incPos[b]
				}
			} else {
				s.value, s.count, s.sum, s.zero = inc, incCount, float64(incCount)*2.5, incZero
				copy(s.buckets, incBuckets)
				copy(s.pos, incPos)
				start = ts(at - 60)
			}
			var attrs pcommon.Map
			switch kind {
			case 0:
				p := m.Sum().DataPoints().AppendEmpty()
				p.SetIntValue(s.value)
				p.SetStartTimestamp(start)
				p.SetTimestamp(ts(at))
				attrs = p.Attributes()
			case 1:
				p := m.Histogram().DataPoints().AppendEmpty()
				p.ExplicitBounds().FromRaw(bounds)
				p.BucketCounts().FromRaw(s.buckets)
				p.SetCount(s.count)
				p.SetSum(s.sum)
				p.SetStartTimestamp(start)
				p.SetTimestamp(ts(at))
				attrs = p.Attributes()
			case 2:
				p := m.ExponentialHistogram().DataPoints().AppendEmpty()
				p.SetScale(s.scale)
				p.SetZeroCount(s.zero)
				p.Positive().SetOffset(s.offset)
				p.Positive().BucketCounts().FromRaw(s.pos)
				p.SetCount(s.zero + sumOfSlice(s.pos))
				p.SetSum(s.sum)
				p.SetStartTimestamp(start)
				p.SetTimestamp(ts(at))
				attrs = p.Attributes()
			}
			attrs.PutStr("http.request.method", s.method)
			attrs.PutStr("user.id", fmt.Sprintf("u%03d", s.user))
		}
	}
	return md
}

func sumOfSlice(s []uint64) uint64 {
	var n uint64
	for _, v := range s {
		n += v
	}
	return n
}

// TestOverflowKeepsTotals is the property that folding keeps totals: random batches of delta
// and cumulative sums, histograms and exponential histograms, over more series than the
// series budget and more users than the user.id budget. For delta metrics the totals of each
// batch, in and out, are equal; for cumulative metrics the totals of every series' latest
// point are, batch after batch.
func TestOverflowKeepsTotals(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed*7))
			g, _ := testGuard(t, func(c *Config) {
				c.Series.MaxPerMetric = 5 + r.IntN(20)
				c.Attributes.Keys = map[string]KeyConfig{"user.id": {MaxValues: 3 + r.IntN(30)}}
			})
			all := make([][]*series, 6)
			methods := []string{"GET", "POST", "PUT"}
			for mi := range all {
				for u := range 20 + r.IntN(40) {
					nPos := 1 + r.IntN(8)
					all[mi] = append(all[mi], &series{user: u, method: methods[r.IntN(3)],
						buckets: make([]uint64, 5), scale: int32(r.IntN(4)), offset: int32(r.IntN(40) - 20), pos: make([]uint64, nPos)})
				}
				// distinct series only: one method per user
			}
			latestIn, latestOut := map[string]*total{}, map[string]*total{}
			var folded int64
			for round := range 8 {
				md := randomBatch(r, all, 60*(round+1))
				in := pointTotals(md)
				c := process(t, g, md)
				folded += c[ActionOverflow][ReasonSeriesLimit] + c[ActionReplaceValue][ReasonValueLimit]
				out := pointTotals(md)
				inDelta, outDelta := totals{}, totals{}
				for k, v := range in {
					if isCumulative(k) {
						latestIn[k] = v
					} else {
						inDelta.of(k[:4]).add(v)
					}
				}
				for k, v := range out {
					if isCumulative(k) {
						latestOut[k] = v
					} else {
						outDelta.of(k[:4]).add(v)
					}
				}
				require.Equal(t, inDelta, outDelta, "delta totals, round %d", round)
				require.Equal(t, byMetric(latestIn), byMetric(latestOut), "cumulative totals, round %d", round)
				require.LessOrEqual(t, len(out), len(in), "round %d", round)
			}
			require.NotZero(t, folded, "the budgets were exceeded")
		})
	}
}

// isCumulative tells the cumulative metrics of randomBatch (odd numbers) by their keys.
func isCumulative(key string) bool { return (key[3]-'0')%2 == 1 }
