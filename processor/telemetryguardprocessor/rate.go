package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
)

// rateGuard is the rate guard: a batch is decided, per source, before it is walked, so that a
// refused batch costs nothing else and leaves no trace in the other guards' state.
type rateGuard struct {
	lim         *ratelimit.Limiter
	report      bool
	drop        bool // on_limit: drop (else refuse)
	perResource bool // the source is a resource attribute
	bytes       bool // some limit is in bytes: batches are measured
}

func newRateGuard(cfg ratelimit.Config) (*rateGuard, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	lim, err := ratelimit.New(cfg)
	if err != nil {
		return nil, err
	}
	r := &rateGuard{lim: lim, report: cfg.Mode == ratelimit.ModeReport, drop: cfg.OnLimit == ratelimit.OnLimitDrop,
		perResource: lim.PerResource(), bytes: cfg.Limits.BytesPerSecond > 0}
	for _, o := range cfg.Overrides {
		r.bytes = r.bytes || o.Limits.BytesPerSecond > 0
	}
	return r, nil
}

// The rate guard's actions and reasons, as counted.
const (
	rateRefuse = iota
	rateDrop
	numRateActions
)

var (
	rateActions = [numRateActions]string{"refuse", "drop"}
	rateReasons = [...]ratelimit.Exceeded{ratelimit.ExceededRecords, ratelimit.ExceededBytes, ratelimit.ExceededRecords | ratelimit.ExceededBytes}
)

const numRateReasons = len(rateReasons)

func rateReason(e ratelimit.Exceeded) int {
	for i, r := range rateReasons {
		if r == e {
			return i
		}
	}
	return 0
}

// resources is a batch of any signal, by resource, as the rate guard sees it.
type resources interface {
	len() int
	resource(i int) pcommon.Resource
	records(i int) int
	size(i int) int
	size0() int // the whole batch's
	removeIf(drop []bool)
}

type traceResources struct{ td ptrace.Traces }

func (t traceResources) len() int { return t.td.ResourceSpans().Len() }
func (t traceResources) resource(i int) pcommon.Resource {
	return t.td.ResourceSpans().At(i).Resource()
}
func (t traceResources) records(i int) int {
	n, sss := 0, t.td.ResourceSpans().At(i).ScopeSpans()
	for j := 0; j < sss.Len(); j++ {
		n += sss.At(j).Spans().Len()
	}
	return n
}
func (t traceResources) size(i int) int {
	return (&ptrace.ProtoMarshaler{}).ResourceSpansSize(t.td.ResourceSpans().At(i))
}
func (t traceResources) size0() int { return (&ptrace.ProtoMarshaler{}).TracesSize(t.td) }
func (t traceResources) removeIf(drop []bool) {
	i := 0
	t.td.ResourceSpans().RemoveIf(func(ptrace.ResourceSpans) bool { i++; return drop[i-1] })
}

type logResources struct{ ld plog.Logs }

func (l logResources) len() int                        { return l.ld.ResourceLogs().Len() }
func (l logResources) resource(i int) pcommon.Resource { return l.ld.ResourceLogs().At(i).Resource() }
func (l logResources) records(i int) int {
	n, sls := 0, l.ld.ResourceLogs().At(i).ScopeLogs()
	for j := 0; j < sls.Len(); j++ {
		n += sls.At(j).LogRecords().Len()
	}
	return n
}
func (l logResources) size(i int) int {
	return (&plog.ProtoMarshaler{}).ResourceLogsSize(l.ld.ResourceLogs().At(i))
}
func (l logResources) size0() int { return (&plog.ProtoMarshaler{}).LogsSize(l.ld) }
func (l logResources) removeIf(drop []bool) {
	i := 0
	l.ld.ResourceLogs().RemoveIf(func(plog.ResourceLogs) bool { i++; return drop[i-1] })
}

type metricResources struct{ md pmetric.Metrics }

func (m metricResources) len() int { return m.md.ResourceMetrics().Len() }
func (m metricResources) resource(i int) pcommon.Resource {
	return m.md.ResourceMetrics().At(i).Resource()
}
func (m metricResources) records(i int) int {
	n, sms := 0, m.md.ResourceMetrics().At(i).ScopeMetrics()
	for j := 0; j < sms.Len(); j++ {
		ms := sms.At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			n += dataPoints(ms.At(k))
		}
	}
	return n
}
func (m metricResources) size(i int) int {
	return (&pmetric.ProtoMarshaler{}).ResourceMetricsSize(m.md.ResourceMetrics().At(i))
}
func (m metricResources) size0() int { return (&pmetric.ProtoMarshaler{}).MetricsSize(m.md) }
func (m metricResources) removeIf(drop []bool) {
	i := 0
	m.md.ResourceMetrics().RemoveIf(func(pmetric.ResourceMetrics) bool { i++; return drop[i-1] })
}

func dataPoints(m pmetric.Metric) int {
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

// admit decides a batch by its source's limits before anything else: nil to go on, a
// retryable refusal (RESOURCE_EXHAUSTED / 429) in enforce mode with on_limit refuse, or
// ErrSkipProcessingData when on_limit drop left nothing. Over-limit resources are dropped
// with on_limit drop. Every refused or dropped record is counted, in report mode as what
// enforce would have done.
func (p *guardProcessor) admit(ctx context.Context, wk *work, signal walk.Signal, b resources) error {
	r, now := p.rate, time.Now()
	n := b.len()
	if !r.perResource {
		records, size := 0, 0
		for i := range n {
			records += b.records(i)
		}
		if r.bytes {
			size = b.size0()
		}
		d := r.lim.AllowAt(now, r.lim.SourceFromContext(ctx), records, size)
		if d.Allowed {
			return nil
		}
		wk.countRate(ctx, signal, b, nil, d.Exceeded)
		switch {
		case r.report:
			return nil
		case r.drop:
			return processorhelper.ErrSkipProcessingData
		}
		return ratelimit.RefusalError(d)
	}
	wk.charges = wk.charges[:0]
	for i := range n {
		c := ratelimit.Charge{Source: r.lim.SourceFromResource(b.resource(i)), Records: b.records(i)}
		if r.bytes {
			c.Bytes = b.size(i)
		}
		wk.charges = append(wk.charges, c)
	}
	if !r.drop {
		d := r.lim.AllowAllAt(now, wk.charges)
		if d.Allowed {
			return nil
		}
		wk.countRate(ctx, signal, b, nil, d.Exceeded)
		if r.report {
			return nil
		}
		return ratelimit.RefusalError(d)
	}
	wk.dropped = wk.dropped[:0]
	some := false
	for i, c := range wk.charges {
		d := r.lim.AllowAt(now, c.Source, c.Records, c.Bytes)
		wk.dropped = append(wk.dropped, !d.Allowed)
		if !d.Allowed {
			some = true
			wk.countRate(ctx, signal, b, &i, d.Exceeded)
		}
	}
	if !some || r.report {
		return nil
	}
	b.removeIf(wk.dropped)
	if b.len() == 0 {
		return processorhelper.ErrSkipProcessingData
	}
	return nil
}

// countRate counts the records of a refused or dropped batch (or of its resource only), by
// service.
func (wk *work) countRate(ctx context.Context, signal walk.Signal, b resources, only *int, e ratelimit.Exceeded) {
	p := wk.p
	action := rateRefuse
	if p.rate.drop {
		action = rateDrop
	}
	reason := rateReason(e)
	for i := range b.len() {
		if only != nil && i != *only {
			continue
		}
		records := int64(b.records(i))
		p.tb.ProcessorTelemetryGuardDecisions.Add(ctx, records, p.counts.rateAttrs[signal][action][reason])
		if p.agg != nil {
			wk.summary(walk.ServiceName(b.resource(i)))[rateIndex(action, reason)] += records
		}
	}
}
