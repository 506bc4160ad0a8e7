package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// work is what one batch needs: a walker, the guards' per-batch state and the batch's counts.
// It is the walk's element hook.
type work struct {
	p      *guardProcessor
	w      walk.Walker
	signal walk.Signal
	b      *cardinality.Batch // nil when the cardinality guard has nothing to do with the signal

	// The schema guard's verdicts: of the current resource, scope and metric (checked once
	// each), and of the current element.
	res                  pcommon.Resource
	scope                pcommon.InstrumentationScope
	metric               pmetric.Metric
	resV, scopeV, metV   schema.Verdict
	elemV                schema.Verdict
	service              string
	hasRes, hasScp, hasM bool

	charges []ratelimit.Charge // the rate guard's, per resource
	dropped []bool
	traces  traceResources // the batch, for the rate guard
	logs    logResources
	metrics metricResources

	schemaTotal schemaCounts
	cur         []int64 // the summary counts of the current service (in byService)
	byService   map[string][]int64
	spare       [][]int64
}

func (p *guardProcessor) newWork() *work {
	return &work{p: p, byService: map[string][]int64{}}
}

func (wk *work) begin(signal walk.Signal) {
	wk.signal = signal
	p := wk.p
	if p.walks[signal] && p.card != nil && (signal == walk.SignalMetrics || p.card.LimitsAttributes(signal)) {
		wk.b = p.card.NewBatch(signal)
	}
}

// finish ends the walk: the cardinality guard writes its overflow points and releases its lock.
func (wk *work) finish() {
	if wk.b != nil {
		wk.b.End()
	}
}

// end clears the batch's state for the next one.
func (wk *work) end() {
	if wk.b != nil {
		wk.b.Release()
		wk.b = nil
	}
	wk.res, wk.scope, wk.metric = pcommon.Resource{}, pcommon.InstrumentationScope{}, pmetric.Metric{}
	wk.hasRes, wk.hasScp, wk.hasM = false, false, false
	wk.service, wk.cur = "", nil
	wk.schemaTotal = schemaCounts{}
	clear(wk.charges) // they point into the batch
	wk.charges = wk.charges[:0]
	wk.traces, wk.logs, wk.metrics = traceResources{}, logResources{}, metricResources{}
	for s, c := range wk.byService {
		clear(c)
		if len(wk.spare) < 64 {
			wk.spare = append(wk.spare, c)
		}
		delete(wk.byService, s)
	}
}

// VisitElement is the walk's element hook: each span, log record or data point goes through
// the schema guard, then, unless that drops it, the cardinality guard.
func (wk *work) VisitElement(_ context.Context, e *walk.Element) (walk.Op, error) {
	if wk.p.schema != nil && wk.checkSchema(e) {
		return walk.Delete, nil
	}
	if wk.b == nil {
		return walk.Keep, nil
	}
	if e.Level == walk.LevelDataPoint {
		return wk.b.DataPoint(e), nil
	}
	return wk.b.Record(e), nil
}

// checkSchema checks an element's maps (its resource's, scope's and metric's once each) and
// reports whether a drop_record violation drops it (in enforce mode).
func (wk *work) checkSchema(e *walk.Element) bool {
	c := wk.p.schema
	if !wk.hasRes || e.Resource != wk.res {
		wk.res, wk.hasRes, wk.hasScp, wk.hasM = e.Resource, true, false, false
		wk.setService(walk.ServiceName(e.Resource))
		wk.check(&wk.resV, walk.LevelResource, e.Resource.Attributes())
	}
	if !wk.hasScp || e.Scope != wk.scope {
		wk.scope, wk.hasScp, wk.hasM = e.Scope, true, false
		wk.check(&wk.scopeV, walk.LevelScope, e.Scope.Attributes())
	}
	v := &wk.elemV
	v.Reset()
	switch e.Level {
	case walk.LevelDataPoint:
		if !wk.hasM || e.Metric != wk.metric {
			wk.metric, wk.hasM = e.Metric, true
			wk.check(&wk.metV, walk.LevelMetric, e.Metric.Metadata())
		}
		c.Check(walk.LevelDataPoint, e.Attributes, v)
		if c.Checks(walk.LevelExemplar) {
			checkExemplars(c, e, v)
		}
	case walk.LevelSpan:
		c.Check(walk.LevelSpan, e.Attributes, v)
		if c.Checks(walk.LevelSpanEvent) {
			for i := 0; i < e.Span.Events().Len(); i++ {
				c.Check(walk.LevelSpanEvent, e.Span.Events().At(i).Attributes(), v)
			}
		}
		if c.Checks(walk.LevelSpanLink) {
			for i := 0; i < e.Span.Links().Len(); i++ {
				c.Check(walk.LevelSpanLink, e.Span.Links().At(i).Attributes(), v)
			}
		}
	default:
		c.Check(e.Level, e.Attributes, v)
	}
	if v.Total() > 0 {
		wk.countVerdict(v)
	}
	// The element goes when a map of its own, or of its resource, scope or metric, breaks a
	// drop_record rule; report mode counts it and keeps it.
	reason, drop := dropReason(v)
	for _, up := range [...]*schema.Verdict{&wk.resV, &wk.scopeV, &wk.metV} {
		if !drop && (up != &wk.metV || e.Level == walk.LevelDataPoint) {
			reason, drop = dropReason(up)
		}
	}
	if !drop {
		return false
	}
	wk.countSchema(reason, dropItem, 1)
	return !c.ReportOnly()
}

// check checks one shared map (a resource's, scope's or metric's) into its own verdict.
func (wk *work) check(v *schema.Verdict, l walk.Level, attrs pcommon.Map) {
	v.Reset()
	if !wk.p.schema.Checks(l) {
		return
	}
	wk.p.schema.Check(l, attrs, v)
	if v.Total() > 0 {
		wk.countVerdict(v)
	}
}

// dropReason reports whether v found a drop_record violation, and its reason.
func dropReason(v *schema.Verdict) (schema.Reason, bool) {
	if v.Total() == 0 {
		return 0, false
	}
	for _, r := range schema.Reasons() {
		if v.Count(r, schema.ActionDropRecord) > 0 {
			return r, true
		}
	}
	return 0, false
}

// checkExemplars checks the filtered attributes of a data point's exemplars.
func checkExemplars(c *schema.Checker, e *walk.Element, v *schema.Verdict) {
	var es pmetric.ExemplarSlice
	switch e.Metric.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		es = e.NumberDataPoint.Exemplars()
	case pmetric.MetricTypeHistogram:
		es = e.HistogramDataPoint.Exemplars()
	case pmetric.MetricTypeExponentialHistogram:
		es = e.ExponentialHistogramDataPoint.Exemplars()
	default:
		return
	}
	for i := 0; i < es.Len(); i++ {
		c.Check(walk.LevelExemplar, es.At(i).FilteredAttributes(), v)
	}
}
