package cardinality

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// Action is what the guard did, or would do in report mode, to an item.
type Action uint8

const (
	// ActionOverflow folded a data point into its metric's overflow series.
	ActionOverflow Action = iota
	// ActionDrop dropped a data point.
	ActionDrop
	// ActionReplaceValue replaced an attribute value with the overflow value.
	ActionReplaceValue
	// ActionRemoveKey removed an attribute.
	ActionRemoveKey
	// ActionPass let an item through unchecked (limits.when_full: pass).
	ActionPass
	NumActions
)

var actionNames = [NumActions]string{"overflow", "drop", "replace_value", "remove_key", "pass"}

func (a Action) String() string { return actionNames[a] }

// Reason is why.
type Reason uint8

const (
	// ReasonSeriesLimit: the metric's budget of series was spent.
	ReasonSeriesLimit Reason = iota
	// ReasonValueLimit: the key's budget of values was spent.
	ReasonValueLimit
	// ReasonTrackerFull: a global bound on what is tracked was reached.
	ReasonTrackerFull
	// ReasonIncompatible: a histogram point could not be folded with the others of its
	// overflow series (other bucket bounds, or too many buckets).
	ReasonIncompatible
	// ReasonUpstreamOverflow: an overflow point from upstream (an SDK or another collector)
	// was merged into the guard's own overflow series.
	ReasonUpstreamOverflow
	NumReasons
)

var reasonNames = [NumReasons]string{"series_limit", "value_limit", "tracker_full", "incompatible", "upstream_overflow"}

func (r Reason) String() string { return reasonNames[r] }

// Counts are the decisions about a batch, by action and reason.
type Counts [NumActions][NumReasons]int64

// Batch is the guard's work on one batch: it is shown the batch's elements in order by the
// walker and keeps what it needs between them (the current resource, scope and metric, the
// metric's lock, the points that carry folded series). It is not safe for concurrent use.
// Take one with NewBatch and give it back with End.
type Batch struct {
	g      *Guard
	epoch  uint32
	signal walk.Signal

	res       pcommon.Resource
	hasRes    bool
	resSum    uint64
	service   string
	scope     pcommon.InstrumentationScope
	hasScope  bool
	scopeHash uint64

	metric   pmetric.Metric
	hasMet   bool
	st       *state // the current metric's state, locked while set
	svc      *state // the current service's state (spans, log records), locked while set
	m        metricInfo
	mkey     uint64               // the current metric's identity: resource and name
	carriers map[carrierKey]int32 // metric and target identity -> index in list, for the batch
	list     []carrier
	touched  []int32 // the carriers the current metric entry made or merged into

	over []planKey // scratch: the keys of a point over budget

	aggs       []*expAgg // merges of delta exponential histograms, nAggs of them in use
	nAggs      int
	cur, delta expAgg // scratch for cumulative exponential histograms

	counts    *Counts // of the current service
	byService map[string]*Counts
	spare     []*Counts
	total     Counts
}

// metricInfo is what a batch works out once per metric.
type metricInfo struct {
	typ        pmetric.MetricType
	cumulative bool // folding needs running totals (cumulative sums and histograms, summaries)
	monotonic  bool
	within     uint64 // scope and point kind: what tells series apart besides attributes
	overflowID uint64 // the identity of the metric's overflow series
	exempt     bool
	policy     *metricPolicy
	series     seriesPolicy
}

// NewBatch returns a Batch for one batch of signal.
func (g *Guard) NewBatch(signal walk.Signal) *Batch {
	b := g.batches.Get().(*Batch)
	b.signal = signal
	b.epoch = g.epoch(g.now())
	return b
}

// End finishes the batch: it writes the totals of its overflow points and releases the lock
// it holds. Read the counts, then give the Batch back with Release.
func (b *Batch) End() {
	b.leaveMetric()
	b.leaveService()
	clear(b.carriers)
	b.list = b.list[:0]
	b.nAggs = 0
	b.res, b.scope, b.metric = pcommon.Resource{}, pcommon.InstrumentationScope{}, pmetric.Metric{}
	b.hasRes, b.hasScope, b.hasMet = false, false, false
}

// Total returns the decisions about the batch. Valid until Release.
func (b *Batch) Total() *Counts { return &b.total }

// ByService calls f with the decisions about each service.name's items. The service strings
// may point into the batch. Valid until Release.
func (b *Batch) ByService(f func(service string, c *Counts)) {
	for s, c := range b.byService {
		f(s, c)
	}
}

// Release gives the Batch back for another batch.
func (b *Batch) Release() {
	for s, c := range b.byService {
		*c = Counts{}
		if len(b.spare) < 64 {
			b.spare = append(b.spare, c)
		}
		delete(b.byService, s)
	}
	b.total = Counts{}
	b.service, b.counts = "", nil
	b.g.batches.Put(b)
}

func (b *Batch) count(a Action, r Reason, n int64) {
	if b.counts == nil {
		if c := b.byService[b.service]; c != nil {
			b.counts = c
		} else {
			if k := len(b.spare); k > 0 {
				b.counts, b.spare = b.spare[k-1], b.spare[:k-1]
			} else {
				b.counts = &Counts{}
			}
			b.byService[b.service] = b.counts
		}
	}
	b.counts[a][r] += n
	b.total[a][r] += n
}

// setResource notes the element's resource: its hash (part of every metric's identity) and
// its service.
func (b *Batch) setResource(res pcommon.Resource) {
	b.leaveMetric()
	b.leaveService()
	b.res, b.hasRes = res, true
	b.resSum = b.g.h.mapSum(res.Attributes())
	if s := walk.ServiceName(res); s != b.service {
		b.service, b.counts = s, nil
	}
}

func (b *Batch) setScope(sc pcommon.InstrumentationScope) {
	b.leaveMetric()
	b.scope, b.hasScope = sc, true
	b.scopeHash = mix(b.g.h.str(sc.Name())*31 + b.g.h.str(sc.Version()))
}

// leaveMetric writes the totals of the overflow points that the metric entry made or merged
// into and unlocks its state. A carrier stays for the rest of the batch: a metric held in
// several entries of one batch (as concatenated requests are) leaves with one point per
// series it folded into, not one per entry.
func (b *Batch) leaveMetric() {
	if !b.hasMet {
		return
	}
	b.finishCarriers()
	if b.st != nil {
		b.st.mu.Unlock()
		b.st = nil
	}
	b.metric, b.hasMet = pmetric.Metric{}, false
}
