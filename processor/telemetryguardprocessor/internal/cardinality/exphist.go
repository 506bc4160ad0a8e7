package cardinality

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// maxExpBuckets bounds the buckets of each range (positive, negative) of a merged exponential
// histogram, the OpenTelemetry SDK's default: merging histograms whose buckets lie far apart
// lowers the scale instead of growing the buckets without bound.
const maxExpBuckets = 160

// expAgg is an exponential histogram being merged: adding histograms of different scales
// downscales to the lowest (each bucket's count goes whole into the bucket that contains it,
// so counts stay exact and only resolution is lost).
type expAgg struct {
	init          bool
	scale         int32
	zeroCount     uint64
	zeroThreshold float64
	pos, neg      expBuckets
	count         uint64
	sum           float64
	hasSum        bool
	min, max      float64
	hasMin        bool
	hasMax        bool
	start, time   pcommon.Timestamp
}

type expBuckets struct {
	offset int32
	counts []uint64
}

// load sets a to p, downscaled when p has more buckets than maxExpBuckets.
func (a *expAgg) load(p pmetric.ExponentialHistogramDataPoint) {
	a.init = true
	a.scale = p.Scale()
	a.zeroCount, a.zeroThreshold = p.ZeroCount(), p.ZeroThreshold()
	a.pos.load(p.Positive())
	a.neg.load(p.Negative())
	a.count, a.sum, a.hasSum = p.Count(), p.Sum(), p.HasSum()
	a.min, a.hasMin = p.Min(), p.HasMin()
	a.max, a.hasMax = p.Max(), p.HasMax()
	a.start, a.time = p.StartTimestamp(), p.Timestamp()
	for len(a.pos.counts) > maxExpBuckets || len(a.neg.counts) > maxExpBuckets {
		a.downscale(1)
	}
}

func (b *expBuckets) load(src pmetric.ExponentialHistogramDataPointBuckets) {
	b.offset = src.Offset()
	counts := src.BucketCounts()
	b.counts = b.counts[:0]
	for i := 0; i < counts.Len(); i++ {
		b.counts = append(b.counts, counts.At(i))
	}
}

func (a *expAgg) copyFrom(o *expAgg) {
	pos, neg := a.pos.counts, a.neg.counts
	*a = *o
	a.pos.counts = append(pos[:0], o.pos.counts...)
	a.neg.counts = append(neg[:0], o.neg.counts...)
}

// downscale lowers the scale by by: every 2^by adjacent buckets become one.
func (a *expAgg) downscale(by int32) {
	if by <= 0 {
		return
	}
	a.scale -= by
	a.pos.downscale(by)
	a.neg.downscale(by)
}

func (b *expBuckets) downscale(by int32) {
	if len(b.counts) == 0 {
		b.offset >>= by
		return
	}
	lo := int64(b.offset) >> by
	last := -1
	for j, c := range b.counts {
		idx := int((int64(b.offset)+int64(j))>>by - lo) // idx <= j: written after being read
		if idx != last {
			b.counts[idx], last = c, idx
		} else {
			b.counts[idx] += c
		}
	}
	b.counts = b.counts[:last+1]
	b.offset = int32(lo)
}

// span is the range of bucket indexes of b and of src (at src's scale, shifted right by
// shift to b's) together.
func span(b, src expBuckets, shift int32) (lo, hi int64, ok bool) {
	if len(src.counts) == 0 {
		if len(b.counts) == 0 {
			return 0, 0, false
		}
		return int64(b.offset), int64(b.offset) + int64(len(b.counts)) - 1, true
	}
	lo, hi = int64(src.offset)>>shift, (int64(src.offset)+int64(len(src.counts))-1)>>shift
	if len(b.counts) > 0 {
		lo, hi = min(lo, int64(b.offset)), max(hi, int64(b.offset)+int64(len(b.counts))-1)
	}
	return lo, hi, true
}

func fits(b, src expBuckets, shift int32) bool {
	lo, hi, ok := span(b, src, shift)
	return !ok || hi-lo+1 <= maxExpBuckets
}

// add adds o to a.
func (a *expAgg) add(o *expAgg) {
	if !a.init {
		a.copyFrom(o)
		return
	}
	if o.scale < a.scale {
		a.downscale(a.scale - o.scale)
	}
	shift := a.scaleShift(o)
	for !fits(a.pos, o.pos, shift) || !fits(a.neg, o.neg, shift) {
		a.downscale(1)
		shift++
	}
	a.pos.add(o.pos, shift)
	a.neg.add(o.neg, shift)
	a.zeroCount += o.zeroCount
	a.zeroThreshold = math.Max(a.zeroThreshold, o.zeroThreshold)
	a.count += o.count
	a.sum += o.sum
	a.hasSum = a.hasSum || o.hasSum
	a.hasMin, a.min = mergeMin(a.hasMin, a.min, o.hasMin, o.min)
	a.hasMax, a.max = mergeMax(a.hasMax, a.max, o.hasMax, o.max)
	a.start, a.time = widen(a.start, a.time, o.start, o.time)
}

// scaleShift is how far o's bucket indexes shift right to a's scale (a.scale <= o.scale).
func (a *expAgg) scaleShift(o *expAgg) int32 { return o.scale - a.scale }

func mergeMin(ha bool, a float64, hb bool, b float64) (bool, float64) {
	switch {
	case ha && hb:
		return true, math.Min(a, b)
	case hb:
		return true, b
	}
	return ha, a
}

func mergeMax(ha bool, a float64, hb bool, b float64) (bool, float64) {
	switch {
	case ha && hb:
		return true, math.Max(a, b)
	case hb:
		return true, b
	}
	return ha, a
}

// add adds src's counts, shifted to b's scale, to b, extending b to cover them.
func (b *expBuckets) add(src expBuckets, shift int32) {
	lo, hi, ok := span(*b, src, shift)
	if !ok || len(src.counts) == 0 {
		return
	}
	b.extend(lo, hi)
	for j, c := range src.counts {
		idx := (int64(src.offset)+int64(j))>>shift - int64(b.offset)
		b.counts[idx] += c
	}
}

// extend makes b cover the indexes lo to hi.
func (b *expBuckets) extend(lo, hi int64) {
	if len(b.counts) == 0 {
		b.offset = int32(lo)
		b.counts = append(b.counts[:0], make([]uint64, hi-lo+1)...)
		return
	}
	curLo := int64(b.offset)
	curHi := curLo + int64(len(b.counts)) - 1
	newLo, newHi := min(lo, curLo), max(hi, curHi)
	n := int(newHi - newLo + 1)
	front := int(curLo - newLo)
	old := len(b.counts)
	for len(b.counts) < n {
		b.counts = append(b.counts, 0)
	}
	copy(b.counts[front:front+old], b.counts[:old])
	clear(b.counts[:front])
	b.offset = int32(newLo)
}

// sub subtracts o (an earlier state of the same cumulative series) from a, leaving what was
// added since; false when a count would go below zero (the series restarted).
func (a *expAgg) sub(o *expAgg) bool {
	if o.scale < a.scale {
		a.downscale(a.scale - o.scale)
	}
	shift := o.scale - a.scale
	if !a.pos.sub(o.pos, shift) || !a.neg.sub(o.neg, shift) || o.zeroCount > a.zeroCount || o.count > a.count {
		return false
	}
	a.zeroCount -= o.zeroCount
	a.count -= o.count
	a.sum -= o.sum
	return true
}

func (b *expBuckets) sub(src expBuckets, shift int32) bool {
	for j, c := range src.counts {
		if c == 0 {
			continue
		}
		idx := (int64(src.offset)+int64(j))>>shift - int64(b.offset)
		if idx < 0 || idx >= int64(len(b.counts)) || b.counts[idx] < c {
			return false
		}
		b.counts[idx] -= c
	}
	return true
}

// writeTo sets p to a.
func (a *expAgg) writeTo(p pmetric.ExponentialHistogramDataPoint) {
	p.SetScale(a.scale)
	p.SetZeroCount(a.zeroCount)
	p.SetZeroThreshold(a.zeroThreshold)
	p.Positive().SetOffset(a.pos.offset)
	p.Positive().BucketCounts().FromRaw(a.pos.counts)
	p.Negative().SetOffset(a.neg.offset)
	p.Negative().BucketCounts().FromRaw(a.neg.counts)
	p.SetCount(a.count)
	setStats(p, a.hasSum, a.sum, a.hasMin, a.min, a.hasMax, a.max)
	p.SetStartTimestamp(a.start)
	p.SetTimestamp(a.time)
}
