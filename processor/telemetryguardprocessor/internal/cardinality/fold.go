package cardinality

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// Folding. The points that go to the same series in a batch (the overflow series, or a
// series whose over-budget values were replaced) leave as one point: the first of them
// carries the others, which are dropped from the batch once merged into it.
//
// Delta sums, delta histograms and gauges need nothing but the batch: the carrier adds the
// others' sums, counts and buckets (a gauge keeps the latest value). Cumulative points carry
// their whole history, so adding them would count it again at every export; instead each
// folded cumulative series is a member of a running total, which keeps its last value: a
// point adds what changed since (all of its value at its first point, or after a reset: a
// new start time, or a monotonic value going down), and the carrier leaves with the total.
// The total of the overflow series is therefore the sum of its members' latest values, and
// it never goes down while they do not. A member keeps its place while it reports (and one
// window more), so a series never moves between its own series and the total while it
// reports; one that stops for longer than the window and comes back is a new member, and its
// value is counted from its start again.

// carrierKey names a folded series in a batch: its metric (resource and name) and its
// identity within the metric.
type carrierKey struct{ metric, target uint64 }

// carrier is the point of a batch that carries a folded series.
type carrier struct {
	num  pmetric.NumberDataPoint
	hist pmetric.HistogramDataPoint
	exp  pmetric.ExponentialHistogramDataPoint
	sum  pmetric.SummaryDataPoint
	// target is the running total it leaves with (cumulative), or -1; tid is its identity.
	target int32
	tid    uint64
	typ    pmetric.MetricType
	// agg is the merge of a delta exponential histogram, in Batch.aggs, or -1.
	agg int32
	// The value of a number carrier, written once at the end (setting a number point's value
	// allocates).
	i       int64
	f       float64
	double  bool
	changed bool
	touched bool // in Batch.touched
}

// fold merges a delta or gauge point into the batch's carrier of target, or makes it the
// carrier (rewritten into the overflow series when overflow is set). False when the point
// cannot be merged (other histogram bounds): it is dropped.
func (b *Batch) fold(e *walk.Element, target uint64, overflow bool) (walk.Op, bool) {
	key := carrierKey{b.mkey, target}
	if ci, ok := b.carriers[key]; ok {
		b.touch(ci)
		return walk.Delete, b.merge(&b.list[ci], e)
	}
	if overflow {
		setOverflow(e.Attributes)
	}
	c := carrier{target: -1, agg: -1, typ: b.m.typ}
	b.setCarrierPoint(&c, e)
	switch b.m.typ {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		p := e.NumberDataPoint
		if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
			c.i = p.IntValue()
		} else {
			c.f, c.double = p.DoubleValue(), true
		}
	case pmetric.MetricTypeExponentialHistogram:
		c.agg = b.takeAgg()
		b.aggs[c.agg].load(e.ExponentialHistogramDataPoint)
	}
	b.add(key, c)
	return walk.Keep, true
}

// add makes c the carrier of key.
func (b *Batch) add(key carrierKey, c carrier) {
	ci := int32(len(b.list))
	b.carriers[key] = ci
	b.list = append(b.list, c)
	b.touch(ci)
}

// touch notes that the current metric entry made or merged into carrier ci.
func (b *Batch) touch(ci int32) {
	if c := &b.list[ci]; !c.touched {
		c.touched = true
		b.touched = append(b.touched, ci)
	}
}

func (b *Batch) setCarrierPoint(c *carrier, e *walk.Element) {
	switch b.m.typ {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		c.num = e.NumberDataPoint
	case pmetric.MetricTypeHistogram:
		c.hist = e.HistogramDataPoint
	case pmetric.MetricTypeExponentialHistogram:
		c.exp = e.ExponentialHistogramDataPoint
	case pmetric.MetricTypeSummary:
		c.sum = e.SummaryDataPoint
	}
}

// takeAgg returns the index of a free exponential histogram merge of the batch.
func (b *Batch) takeAgg() int32 {
	if b.nAggs == len(b.aggs) {
		b.aggs = append(b.aggs, &expAgg{})
	}
	b.nAggs++
	return int32(b.nAggs - 1)
}

// merge adds a delta point into its carrier, or keeps the later of two gauge points.
func (b *Batch) merge(c *carrier, e *walk.Element) bool {
	switch b.m.typ {
	case pmetric.MetricTypeGauge:
		p := e.NumberDataPoint
		if p.Timestamp() >= c.num.Timestamp() {
			c.i, c.f, c.double = 0, 0, false
			c.add(p)
			c.num.SetTimestamp(p.Timestamp())
			c.num.SetStartTimestamp(p.StartTimestamp())
		}
	case pmetric.MetricTypeSum:
		p := e.NumberDataPoint
		c.add(p)
		start, ts := widen(c.num.StartTimestamp(), c.num.Timestamp(), p.StartTimestamp(), p.Timestamp())
		c.num.SetStartTimestamp(start)
		c.num.SetTimestamp(ts)
	case pmetric.MetricTypeHistogram:
		return mergeHistogram(c.hist, e.HistogramDataPoint)
	case pmetric.MetricTypeExponentialHistogram:
		p := e.ExponentialHistogramDataPoint
		agg := b.aggs[c.agg]
		b.cur.load(p)
		agg.add(&b.cur)
	case pmetric.MetricTypeSummary:
		p := e.SummaryDataPoint
		c.sum.SetCount(c.sum.Count() + p.Count())
		c.sum.SetSum(c.sum.Sum() + p.Sum())
		start, ts := widen(c.sum.StartTimestamp(), c.sum.Timestamp(), p.StartTimestamp(), p.Timestamp())
		c.sum.SetStartTimestamp(start)
		c.sum.SetTimestamp(ts)
	}
	return true
}

// widen returns a carrier's interval, widened to cover a merged point's.
func widen(start, ts, pStart, pTs pcommon.Timestamp) (pcommon.Timestamp, pcommon.Timestamp) {
	if pStart != 0 && (start == 0 || pStart < start) {
		start = pStart
	}
	return start, max(ts, pTs)
}

// add adds a number point's value to the carrier's.
func (c *carrier) add(p pmetric.NumberDataPoint) {
	if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
		c.i += p.IntValue()
	} else {
		c.f += p.DoubleValue()
		c.double = true
	}
	c.changed = true
}

// writeNumber sets a number carrier's value, once merged.
func (c *carrier) writeNumber() {
	switch {
	case !c.changed:
	case c.double:
		c.num.SetDoubleValue(c.f + float64(c.i))
	default:
		c.num.SetIntValue(c.i)
	}
}

func sameBounds(a pcommon.Float64Slice, b []float64) bool {
	if a.Len() != len(b) {
		return false
	}
	for i := range b {
		if a.At(i) != b[i] && !(math.IsNaN(a.At(i)) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func mergeHistogram(c, p pmetric.HistogramDataPoint) bool {
	cb, pb := c.ExplicitBounds(), p.ExplicitBounds()
	if cb.Len() != pb.Len() || c.BucketCounts().Len() != p.BucketCounts().Len() {
		return false
	}
	for i := 0; i < cb.Len(); i++ {
		if cb.At(i) != pb.At(i) {
			return false
		}
	}
	cc, pc := c.BucketCounts(), p.BucketCounts()
	for i := 0; i < cc.Len(); i++ {
		cc.SetAt(i, cc.At(i)+pc.At(i))
	}
	c.SetCount(c.Count() + p.Count())
	if p.HasSum() {
		c.SetSum(c.Sum() + p.Sum())
	}
	switch {
	case c.HasMin() && p.HasMin():
		c.SetMin(math.Min(c.Min(), p.Min()))
	case c.HasMin():
		c.RemoveMin()
	}
	switch {
	case c.HasMax() && p.HasMax():
		c.SetMax(math.Max(c.Max(), p.Max()))
	case c.HasMax():
		c.RemoveMax()
	}
	start, ts := widen(c.StartTimestamp(), c.Timestamp(), p.StartTimestamp(), p.Timestamp())
	c.SetStartTimestamp(start)
	c.SetTimestamp(ts)
	return true
}

// foldMember adds a cumulative point to its member's running total; the first point of the
// total in the batch carries it (rewritten into the overflow series, or by the member's
// plan), the others are dropped. False when the point cannot be added (other histogram
// bounds): it is dropped.
func (b *Batch) foldMember(e *walk.Element, st *state, m *member, sum uint64) (walk.Op, bool) {
	d := st.div
	t := &d.folds.targets[m.target]
	if !d.folds.update(m, t, e, b) {
		return walk.Delete, false
	}
	key := carrierKey{b.mkey, t.id}
	if ci, ok := b.carriers[key]; ok {
		b.touch(ci)
		return walk.Delete, true
	}
	if m.plan < 0 {
		setOverflow(e.Attributes)
	} else {
		b.rewrite(e.Attributes, &d.plans[m.plan], sum)
	}
	c := carrier{target: m.target, tid: t.id, agg: -1, typ: b.m.typ}
	b.setCarrierPoint(&c, e)
	b.add(key, c)
	return walk.Keep, true
}

// finishCarriers writes the running totals and merges into the carriers that the metric
// entry the batch leaves made or merged into, with its state still locked. Writing is
// idempotent: a carrier merged into again by a later entry of the same metric is written again
// then.
func (b *Batch) finishCarriers() {
	for _, ci := range b.touched {
		c := &b.list[ci]
		c.touched = false
		switch {
		case c.target >= 0:
			if b.st == nil || b.st.div == nil || int(c.target) >= len(b.st.div.folds.targets) {
				continue
			}
			if t := &b.st.div.folds.targets[c.target]; t.id == c.tid {
				t.writeTo(c, c.typ)
			}
		case c.agg >= 0:
			b.aggs[c.agg].writeTo(c.exp)
		case c.typ == pmetric.MetricTypeGauge || c.typ == pmetric.MetricTypeSum:
			c.writeNumber()
		}
		if c.typ == pmetric.MetricTypeSummary {
			// Quantiles cannot be merged.
			c.sum.QuantileValues().RemoveIf(func(pmetric.SummaryDataPointValueAtQuantile) bool { return true })
		}
	}
	b.touched = b.touched[:0]
}

// folds are the running totals of a metric's folded cumulative series, and their members.
type folds struct {
	members     []member
	freeMembers []int32
	targets     []target
	freeTargets []int32
	byID        map[uint64]int32
	weight      int // places under limits.max_series held by the members' values
}

// member is a folded cumulative series: the total it is in, and its last value.
type member struct {
	target int32
	plan   int16 // the plan it is rewritten by; -1: it is folded into the overflow series
	weight int32
	seen   bool
	start  pcommon.Timestamp
	time   pcommon.Timestamp
	i      int64
	f      float64
	count  uint64
	sum    float64
	bucket []uint64
	exp    *expAgg
}

// target is a running total: the sum of its members' latest values.
type target struct {
	id          uint64
	refs        int32
	start, time pcommon.Timestamp
	i           int64
	f           float64
	double      bool
	count       uint64
	sum         float64
	hasSum      bool
	min, max    float64
	hasMin      bool
	hasMax      bool
	bounds      []float64
	bucket      []uint64
	exp         *expAgg
}

// join makes a member of the running total id for the point's series (weight places held);
// false when the point cannot be added to that total (other histogram bounds).
func (f *folds) join(id uint64, planIdx, weight int, typ pmetric.MetricType, e *walk.Element) (int, bool) {
	if f.byID == nil {
		f.byID = map[uint64]int32{}
	}
	ti, ok := f.byID[id]
	if ok {
		if typ == pmetric.MetricTypeHistogram && !sameBounds(e.HistogramDataPoint.ExplicitBounds(), f.targets[ti].bounds) {
			return 0, false
		}
	} else {
		t := target{id: id, min: math.Inf(1), max: math.Inf(-1)}
		switch typ {
		case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
			t.start = e.NumberDataPoint.StartTimestamp()
		case pmetric.MetricTypeHistogram:
			p := e.HistogramDataPoint
			t.start = p.StartTimestamp()
			t.bounds = p.ExplicitBounds().AsRaw()
			t.bucket = make([]uint64, p.BucketCounts().Len())
		case pmetric.MetricTypeExponentialHistogram:
			t.start = e.ExponentialHistogramDataPoint.StartTimestamp()
			t.exp = &expAgg{}
		case pmetric.MetricTypeSummary:
			t.start = e.SummaryDataPoint.StartTimestamp()
		}
		if n := len(f.freeTargets); n > 0 {
			ti, f.freeTargets = f.freeTargets[n-1], f.freeTargets[:n-1]
			f.targets[ti] = t
		} else {
			ti = int32(len(f.targets))
			f.targets = append(f.targets, t)
		}
		f.byID[id] = ti
	}
	f.targets[ti].refs++
	m := member{target: ti, plan: int16(planIdx), weight: int32(weight)}
	f.weight += weight
	if n := len(f.freeMembers); n > 0 {
		mi := f.freeMembers[n-1]
		f.freeMembers = f.freeMembers[:n-1]
		f.members[mi] = m
		return int(mi), true
	}
	f.members = append(f.members, m)
	return len(f.members) - 1, true
}

// release forgets member mi, and its total when it was the last member; it returns the places
// the member held.
func (f *folds) release(mi int) int {
	m := &f.members[mi]
	t := &f.targets[m.target]
	if t.refs--; t.refs == 0 {
		delete(f.byID, t.id)
		*t = target{}
		f.freeTargets = append(f.freeTargets, m.target)
	}
	w := int(m.weight)
	f.weight -= w
	*m = member{}
	f.freeMembers = append(f.freeMembers, int32(mi))
	return w
}

// update adds what changed in member m since its last point to its total t. A point older
// than the last one changes nothing; false when the point cannot be added.
func (f *folds) update(m *member, t *target, e *walk.Element, b *Batch) bool {
	switch b.m.typ {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		p := e.NumberDataPoint
		if !m.next(p.StartTimestamp(), p.Timestamp(), p.Flags()) {
			return true
		}
		reset := m.restarted(p.StartTimestamp())
		if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
			t.i += increase(&m.i, p.IntValue(), reset, b.m.monotonic)
		} else {
			t.f += increase(&m.f, p.DoubleValue(), reset, b.m.monotonic)
			t.double = true
		}
		m.done(t, p.StartTimestamp(), p.Timestamp())
	case pmetric.MetricTypeHistogram:
		p := e.HistogramDataPoint
		counts := p.BucketCounts()
		if counts.Len() != len(t.bucket) || !sameBounds(p.ExplicitBounds(), t.bounds) {
			return false
		}
		if !m.next(p.StartTimestamp(), p.Timestamp(), p.Flags()) {
			return true
		}
		if m.bucket == nil {
			m.bucket = make([]uint64, counts.Len())
		}
		reset := m.restarted(p.StartTimestamp()) || p.Count() < m.count
		for j := 0; j < counts.Len() && !reset; j++ {
			reset = counts.At(j) < m.bucket[j]
		}
		for j := 0; j < counts.Len(); j++ {
			c := counts.At(j)
			if reset {
				t.bucket[j] += c
			} else {
				t.bucket[j] += c - m.bucket[j]
			}
			m.bucket[j] = c
		}
		m.countSum(t, reset, p.Count(), p.HasSum(), p.Sum())
		t.minMax(p.HasMin(), p.Min(), p.HasMax(), p.Max())
		m.done(t, p.StartTimestamp(), p.Timestamp())
	case pmetric.MetricTypeExponentialHistogram:
		p := e.ExponentialHistogramDataPoint
		if !m.next(p.StartTimestamp(), p.Timestamp(), p.Flags()) {
			return true
		}
		if m.exp == nil {
			m.exp = &expAgg{}
		}
		cur, delta := &b.cur, &b.delta
		cur.load(p)
		reset := m.restarted(p.StartTimestamp()) || cur.count < m.exp.count
		if !reset {
			delta.copyFrom(cur)
			reset = !delta.sub(m.exp)
		}
		if reset {
			delta.copyFrom(cur)
		}
		t.exp.add(delta)
		m.exp.copyFrom(cur)
		t.minMax(p.HasMin(), p.Min(), p.HasMax(), p.Max())
		m.done(t, p.StartTimestamp(), p.Timestamp())
	case pmetric.MetricTypeSummary:
		p := e.SummaryDataPoint
		if !m.next(p.StartTimestamp(), p.Timestamp(), p.Flags()) {
			return true
		}
		reset := m.restarted(p.StartTimestamp()) || p.Count() < m.count
		m.countSum(t, reset, p.Count(), true, p.Sum())
		m.done(t, p.StartTimestamp(), p.Timestamp())
	}
	return true
}

// increase is what a cumulative value v added since the last one, which it replaces: all of
// it after a reset (or a monotonic value going down).
func increase[T int64 | float64](last *T, v T, reset, monotonic bool) T {
	d := v - *last
	if reset || (monotonic && v < *last) {
		d = v
	}
	*last = v
	return d
}

// next reports whether a point is newer than the member's last one and holds a value.
func (m *member) next(_, ts pcommon.Timestamp, flags pmetric.DataPointFlags) bool {
	if flags.NoRecordedValue() {
		return false
	}
	return !m.seen || ts >= m.time
}

// restarted reports whether the series restarted (or is seen for the first time): all of its
// value is new.
func (m *member) restarted(start pcommon.Timestamp) bool { return !m.seen || start != m.start }

func (m *member) countSum(t *target, reset bool, count uint64, hasSum bool, sum float64) {
	if reset {
		t.count += count
	} else {
		t.count += count - m.count
	}
	m.count = count
	if hasSum {
		if reset {
			t.sum += sum
		} else {
			t.sum += sum - m.sum
		}
		m.sum = sum
		t.hasSum = true
	}
}

func (m *member) done(t *target, start, ts pcommon.Timestamp) {
	m.seen, m.start, m.time = true, start, ts
	if ts > t.time {
		t.time = ts
	}
}

func (t *target) minMax(hasMin bool, lo float64, hasMax bool, hi float64) {
	if hasMin {
		t.min, t.hasMin = math.Min(t.min, lo), true
	}
	if hasMax {
		t.max, t.hasMax = math.Max(t.max, hi), true
	}
}

// writeTo sets the carrier's point to the total.
func (t *target) writeTo(c *carrier, typ pmetric.MetricType) {
	switch typ {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		p := c.num
		if t.double {
			p.SetDoubleValue(t.f + float64(t.i))
		} else {
			p.SetIntValue(t.i)
		}
		p.SetStartTimestamp(t.start)
		p.SetTimestamp(t.time)
	case pmetric.MetricTypeHistogram:
		p := c.hist
		p.BucketCounts().FromRaw(t.bucket)
		p.SetCount(t.count)
		setStats(p, t.hasSum, t.sum, t.hasMin, t.min, t.hasMax, t.max)
		p.SetStartTimestamp(t.start)
		p.SetTimestamp(t.time)
	case pmetric.MetricTypeExponentialHistogram:
		p := c.exp
		t.exp.writeTo(p)
		setStats(p, t.exp.hasSum, t.exp.sum, t.hasMin, t.min, t.hasMax, t.max)
		p.SetStartTimestamp(t.start)
		p.SetTimestamp(t.time)
	case pmetric.MetricTypeSummary:
		p := c.sum
		p.SetCount(t.count)
		p.SetSum(t.sum)
		p.SetStartTimestamp(t.start)
		p.SetTimestamp(t.time)
	}
}

// statsPoint is a histogram point of either kind: its optional sum, min and max.
type statsPoint interface {
	SetSum(float64)
	RemoveSum()
	SetMin(float64)
	RemoveMin()
	SetMax(float64)
	RemoveMax()
}

// setStats sets or removes a histogram point's sum, min and max (generic, so that the point is
// not boxed).
func setStats[P statsPoint](p P, hasSum bool, sum float64, hasMin bool, lo float64, hasMax bool, hi float64) {
	if hasSum {
		p.SetSum(sum)
	} else {
		p.RemoveSum()
	}
	if hasMin {
		p.SetMin(lo)
	} else {
		p.RemoveMin()
	}
	if hasMax {
		p.SetMax(hi)
	} else {
		p.RemoveMax()
	}
}
