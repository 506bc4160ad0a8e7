package cardinality

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// decision is what becomes of a series that is not passed on as it is, as the diverted table
// keeps it: a kind, a reason and an index (a plan or a folded series).
type decision uint32

type kind uint8

const (
	// kindRewrite: the values of a plan's keys are replaced or removed (delta and gauge
	// points, and every point in report mode); the rewritten series is in the budget.
	kindRewrite kind = iota
	// kindFold: folded into the overflow series (delta and gauge points, and every point in
	// report mode).
	kindFold
	// kindDrop: dropped.
	kindDrop
	// kindMember: a cumulative series folded, rewritten or not, into a running total; the
	// index is its member in state.folds.
	kindMember
)

func newDecision(k kind, r Reason, index int) decision {
	return decision(uint32(k)<<29 | uint32(r)<<26 | uint32(index)&(1<<26-1))
}

func (d decision) kind() kind     { return kind(d >> 29 & 3) }
func (d decision) reason() Reason { return Reason(d >> 26 & 7) }
func (d decision) index() int     { return int(d & (1<<26 - 1)) }

// DataPoint decides about one data point and returns what the walker is to do with it. The
// point's series (its attribute set within its metric, scope and point kind) is looked up in
// its metric's budget: a series seen in this window passes at the cost of one hash and one
// probe; a new one has its attribute values checked against their keys' budgets and takes a
// place in the metric's budget if one is left, or is folded into the overflow series (or
// dropped); the decision is kept for the series' next points.
func (b *Batch) DataPoint(e *walk.Element) walk.Op {
	if !b.hasRes || e.Resource != b.res {
		b.setResource(e.Resource)
	}
	if !b.hasScope || e.Scope != b.scope {
		b.setScope(e.Scope)
	}
	if !b.hasMet || e.Metric != b.metric {
		b.setMetric(e.Metric)
	}
	if b.m.exempt {
		return walk.Keep
	}
	st := b.st
	if st == nil {
		return b.untracked(e)
	}
	sum := b.g.h.mapSum(e.Attributes)
	id := identity(sum, b.m.within)
	i, l := st.series.find(id, st.epoch)
	if l == fresh {
		return walk.Keep
	}
	return b.slow(e, st, sum, id, i, l)
}

// setMetric works out what the batch needs about the metric of the next points and takes its
// state's lock.
func (b *Batch) setMetric(m pmetric.Metric) {
	b.leaveMetric()
	g := b.g
	b.metric, b.hasMet = m, true
	info := metricInfo{typ: m.Type(), series: g.series}
	temporality := pmetric.AggregationTemporalityUnspecified
	switch info.typ {
	case pmetric.MetricTypeSum:
		temporality = m.Sum().AggregationTemporality()
		info.monotonic = m.Sum().IsMonotonic()
	case pmetric.MetricTypeHistogram:
		temporality = m.Histogram().AggregationTemporality()
		info.monotonic = true
	case pmetric.MetricTypeExponentialHistogram:
		temporality = m.ExponentialHistogram().AggregationTemporality()
		info.monotonic = true
	case pmetric.MetricTypeSummary:
		info.monotonic = true
	case pmetric.MetricTypeEmpty:
		info.exempt = true
	}
	// Summaries are cumulative; a sum or histogram of unspecified temporality is taken as
	// cumulative, the safe way round (its decisions stay).
	info.cumulative = info.typ != pmetric.MetricTypeGauge && temporality != pmetric.AggregationTemporalityDelta
	var mono uint64
	if info.monotonic {
		mono = 1
	}
	info.within = mix(b.scopeHash ^ uint64(info.typ)<<40 ^ uint64(temporality)<<48 ^ mono<<56)
	info.overflowID = identity(g.overflowSum, info.within)
	name := m.Name()
	if p := g.metrics[name]; p != nil {
		info.policy, info.series = p, p.series
		info.exempt = info.exempt || p.exempt
	}
	b.m = info
	if info.exempt {
		return
	}
	b.mkey = mix(b.resSum ^ g.h.str(name)*0x94d049bb133111eb)
	b.st = g.lookup(b.mkey, walk.SignalMetrics, name, b.service, info.policy, b.epoch)
}

// op is Delete in enforce mode and Keep in report mode.
func (b *Batch) op(o walk.Op) walk.Op {
	if b.g.enforce {
		return o
	}
	return walk.Keep
}

// untracked decides about a point of a metric that cannot be tracked (limits.max_keys).
func (b *Batch) untracked(e *walk.Element) walk.Op {
	switch {
	case b.g.pass:
		b.count(ActionPass, ReasonTrackerFull, 1)
		return walk.Keep
	case b.m.cumulative:
		b.count(ActionDrop, ReasonTrackerFull, 1)
		return b.op(walk.Delete)
	}
	if !b.g.enforce {
		b.count(ActionOverflow, ReasonTrackerFull, 1)
		return walk.Keep
	}
	op, ok := b.fold(e, b.m.overflowID, true)
	if ok {
		b.count(ActionOverflow, ReasonTrackerFull, 1)
	} else {
		b.count(ActionDrop, ReasonIncompatible, 1)
	}
	return op
}

// slow decides about a point whose series was not seen in this window.
func (b *Batch) slow(e *walk.Element, st *state, sum, id uint64, i int, l lookup) walk.Op {
	g := b.g
	if l == stale { // admitted in the previous window: stays
		st.series.touch(i, st.epoch)
		b.refreshValues(st, e.Attributes, true)
		return walk.Keep
	}
	di, dl := -1, absent
	if st.div != nil {
		di, dl = st.div.diverted.find(id, st.epoch)
	}
	switch {
	case dl == fresh:
		return b.apply(e, st, decision(st.div.diverted.val(di)), sum)
	case dl == stale && b.m.cumulative:
		// A cumulative series keeps its decision while it reports: admitted or not, its
		// values never move between its own series and a total.
		st.div.diverted.touch(di, st.epoch)
		d := decision(st.div.diverted.val(di))
		b.refreshDiverted(st, d, e.Attributes, sum)
		return b.apply(e, st, d, sum)
	}
	// A new series, or a delta or gauge series diverted in the previous window only, which is
	// decided again.
	if id == b.m.overflowID && g.enforce {
		// An overflow point from upstream: the guard's own overflow series takes it in.
		return b.divert(e, st, sum, id, di, newDecision(kindFold, ReasonUpstreamOverflow, 0), -1)
	}
	b.checkValues(st, e.Attributes)
	target, planIdx := id, -1
	reason := ReasonSeriesLimit
	if len(b.over) > 0 {
		if p, ok := st.diversion().planFor(b.over); ok {
			planIdx = p
			target = identity(b.rewrittenSum(sum, e.Attributes, b.over), b.m.within)
		} else {
			target, reason = b.m.overflowID, ReasonValueLimit
		}
	}
	if target != b.m.overflowID {
		admitted, r := b.admit(st, target)
		if admitted && planIdx < 0 {
			return walk.Keep
		}
		if admitted {
			return b.divert(e, st, sum, id, di, newDecision(kindRewrite, ReasonValueLimit, planIdx), planIdx)
		}
		reason = r
	}
	if b.m.series.drop {
		return b.divert(e, st, sum, id, di, newDecision(kindDrop, reason, 0), -1)
	}
	return b.divert(e, st, sum, id, di, newDecision(kindFold, reason, 0), -1)
}

// admit gives the series target a place in its metric's budget, unless it has one already;
// false and why when it cannot.
func (b *Batch) admit(st *state, target uint64) (bool, Reason) {
	i, l := st.series.find(target, st.epoch)
	switch l {
	case stale:
		st.series.touch(i, st.epoch)
		return true, 0
	case fresh:
		return true, 0
	}
	if st.series.len() >= b.m.series.max {
		return false, ReasonSeriesLimit
	}
	if !b.g.reserveSeries(1) {
		if b.g.pass {
			b.count(ActionPass, ReasonTrackerFull, 1)
			return true, 0
		}
		return false, ReasonTrackerFull
	}
	st.series.insert(target, 0, st.epoch)
	return true, 0
}

// divert keeps decision d about the series id (in slot di when it was there in the previous
// window) and applies it. A cumulative series folded in enforce mode becomes a member of its
// running total first; when that cannot be tracked, its point is dropped (or passed, with
// limits.when_full: pass). A delta or gauge decision that cannot be kept is simply taken again
// at the series' next point.
func (b *Batch) divert(e *walk.Element, st *state, sum, id uint64, di int, d decision, planIdx int) walk.Op {
	g := b.g
	div := st.diversion()
	kept := di >= 0 || g.reserveSeries(1)
	if g.enforce && b.m.cumulative && d.kind() != kindDrop {
		w := pointWeight(e)
		switch {
		case !kept || (w > 0 && !g.reserveSeries(w)):
			if kept && di < 0 {
				g.tracked.series.Add(-1)
			}
			if g.pass {
				b.count(ActionPass, ReasonTrackerFull, 1)
				return walk.Keep
			}
			b.count(ActionDrop, ReasonTrackerFull, 1)
			return walk.Delete
		case w < 0:
			d = newDecision(kindDrop, ReasonIncompatible, 0)
		default:
			target := b.m.overflowID
			if planIdx >= 0 {
				target = identity(b.rewrittenSum(sum, e.Attributes, div.plans[planIdx].keys), b.m.within)
			}
			if mi, ok := div.folds.join(target, planIdx, w, b.m.typ, e); ok {
				d = newDecision(kindMember, d.reason(), mi)
			} else {
				g.tracked.series.Add(-int64(w))
				d = newDecision(kindDrop, ReasonIncompatible, 0)
			}
		}
	}
	if kept {
		if di >= 0 {
			div.diverted.setVal(di, uint32(d))
			div.diverted.touch(di, st.epoch)
		} else {
			div.diverted.insert(id, uint32(d), st.epoch)
		}
	}
	return b.apply(e, st, d, sum)
}

// apply carries out decision d on a point and counts it.
func (b *Batch) apply(e *walk.Element, st *state, d decision, sum uint64) walk.Op {
	var op walk.Op
	ok := true
	switch d.kind() {
	case kindDrop:
		b.count(ActionDrop, d.reason(), 1)
		st.over++
		return b.op(walk.Delete)
	case kindFold:
		st.over++
		if b.g.enforce {
			op, ok = b.fold(e, b.m.overflowID, true)
		}
		if ok {
			b.count(ActionOverflow, d.reason(), 1)
		}
	case kindRewrite:
		p := &st.div.plans[d.index()]
		b.countPlan(st, p)
		if b.g.enforce {
			newSum := b.rewrite(e.Attributes, p, sum)
			op, ok = b.fold(e, identity(newSum, b.m.within), false)
		}
	case kindMember:
		m := &st.div.folds.members[d.index()]
		if m.plan >= 0 {
			b.countPlan(st, &st.div.plans[m.plan])
		} else {
			st.over++
		}
		op, ok = b.foldMember(e, st, m, sum)
		if ok && m.plan < 0 {
			b.count(ActionOverflow, d.reason(), 1)
		}
	}
	if !ok {
		b.count(ActionDrop, ReasonIncompatible, 1)
	}
	return op
}

func (b *Batch) countPlan(st *state, p *plan) {
	for _, k := range p.keys {
		a := ActionReplaceValue
		if k.remove {
			a = ActionRemoveKey
		}
		b.count(a, k.reason, 1)
		if i := st.findKey(k.hk, k.key); i >= 0 {
			st.keys[i].over++
		}
	}
}

// checkValues checks the values of a new series against their keys' budgets, taking places
// for new values where there are, and leaves the keys over budget in b.over, sorted.
func (b *Batch) checkValues(st *state, attrs pcommon.Map) {
	g := b.g
	b.over = b.over[:0]
	if !g.signals[walk.SignalMetrics] {
		return
	}
	for k, v := range attrs.All() {
		hk := g.h.str(k)
		i := st.key(g, hk, k)
		if i < 0 { // limits.max_keys
			if kp := g.keyPolicy(st.policy, k); !kp.exempt && !g.pass {
				b.over = append(b.over, planKey{key: k, hk: hk, remove: kp.remove, reason: ReasonTrackerFull})
			}
			continue
		}
		ks := &st.keys[i]
		if ks.policy.exempt {
			continue
		}
		if r, ok := b.checkValue(st, i, v); !ok {
			b.over = append(b.over, planKey{key: k, hk: hk, remove: ks.policy.remove, reason: r})
		}
	}
	if len(b.over) > 1 {
		slices.SortFunc(b.over, func(x, y planKey) int { return strings.Compare(x.key, y.key) })
	}
}

// checkValue checks one value of key i against the key's budget: true when it is within
// (seen, or given a place now).
func (b *Batch) checkValue(st *state, i int, v pcommon.Value) (Reason, bool) {
	ks := &st.keys[i]
	pid := identity(pair(ks.hk, b.g.h.value(v)), 0)
	slot, l := st.values.find(pid, st.epoch)
	switch l {
	case fresh:
		return 0, true
	case stale:
		st.touchValue(slot)
		return 0, true
	}
	if ks.values() >= ks.policy.max {
		return ReasonValueLimit, false
	}
	if !b.g.reserveValues(1) {
		if b.g.pass {
			b.count(ActionPass, ReasonTrackerFull, 1)
			return 0, true
		}
		return ReasonTrackerFull, false
	}
	st.values.insert(pid, uint32(i), st.epoch)
	ks.live[st.epoch&1]++
	return 0, true
}

// touchValue moves the value in slot i, and its count in its key's budget, into this window.
func (st *state) touchValue(slot int) {
	ks := &st.keys[st.values.val(slot)]
	ks.live[1-st.epoch&1]--
	ks.live[st.epoch&1]++
	st.values.touch(slot, st.epoch)
}

// refreshValues moves the values of a series that stays into this window; an admitted
// series' values that were forgotten take places again where there are.
func (b *Batch) refreshValues(st *state, attrs pcommon.Map, admitted bool) {
	g := b.g
	if !g.signals[walk.SignalMetrics] {
		return
	}
	for k, v := range attrs.All() {
		i := st.key(g, g.h.str(k), k)
		if i < 0 || st.keys[i].policy.exempt {
			continue
		}
		ks := &st.keys[i]
		pid := identity(pair(ks.hk, g.h.value(v)), 0)
		slot, l := st.values.find(pid, st.epoch)
		switch {
		case l == stale:
			st.touchValue(slot)
		case l == absent && admitted && ks.values() < ks.policy.max && g.reserveValues(1):
			st.values.insert(pid, uint32(i), st.epoch)
			ks.live[st.epoch&1]++
		}
	}
}

// refreshDiverted moves what a diverted cumulative series relies on into this window: its
// values and the series it is rewritten into.
func (b *Batch) refreshDiverted(st *state, d decision, attrs pcommon.Map, sum uint64) {
	b.refreshValues(st, attrs, false)
	planIdx := -1
	switch d.kind() {
	case kindRewrite:
		planIdx = d.index()
	case kindMember:
		planIdx = int(st.div.folds.members[d.index()].plan)
	}
	if planIdx < 0 {
		return
	}
	target := identity(b.rewrittenSum(sum, attrs, st.div.plans[planIdx].keys), b.m.within)
	if i, l := st.series.find(target, st.epoch); l == stale {
		st.series.touch(i, st.epoch)
	} else if l == absent && b.g.reserveSeries(1) {
		st.series.insert(target, 0, st.epoch)
	}
}

// rewrittenSum is the hash of attrs once the values of keys are replaced or removed.
func (b *Batch) rewrittenSum(sum uint64, attrs pcommon.Map, keys []planKey) uint64 {
	for _, k := range keys {
		v, ok := attrs.Get(k.key)
		if !ok {
			continue
		}
		sum -= pair(k.hk, b.g.h.value(v))
		if !k.remove {
			sum += pair(k.hk, b.g.overflowHV)
		}
	}
	return sum
}

// rewrite replaces or removes the values of p's keys in attrs and returns the new hash.
func (b *Batch) rewrite(attrs pcommon.Map, p *plan, sum uint64) uint64 {
	for _, k := range p.keys {
		v, ok := attrs.Get(k.key)
		if !ok {
			continue
		}
		sum -= pair(k.hk, b.g.h.value(v))
		if k.remove {
			attrs.Remove(k.key)
			continue
		}
		sum += pair(k.hk, b.g.overflowHV)
		v.SetStr(b.g.cfg.Attributes.OverflowValue)
	}
	return sum
}

// setOverflow makes attrs the overflow series' attribute set.
func setOverflow(attrs pcommon.Map) {
	attrs.RemoveIf(func(string, pcommon.Value) bool { return true })
	attrs.PutBool(OverflowKey, true)
}

// pointWeight is how many places under limits.max_series a folded cumulative point's running
// values take: one, and one more per 8 buckets; -1 when it has too many buckets to be folded.
func pointWeight(e *walk.Element) int {
	n := 0
	switch e.Metric.Type() {
	case pmetric.MetricTypeHistogram:
		n = e.HistogramDataPoint.BucketCounts().Len()
		if n > maxFoldBuckets {
			return -1
		}
	case pmetric.MetricTypeExponentialHistogram:
		n = min(maxExpBuckets, e.ExponentialHistogramDataPoint.Positive().BucketCounts().Len()) +
			min(maxExpBuckets, e.ExponentialHistogramDataPoint.Negative().BucketCounts().Len())
	}
	return 1 + n/8
}

// maxFoldBuckets bounds the buckets of a histogram that can be folded.
const maxFoldBuckets = 1024
