package walk

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Element is one span, log record or data point, with what it belongs to. It belongs to the
// Walker and is only valid during the call it is shown to; copy what you need to keep.
type Element struct {
	Signal Signal
	// Level is LevelSpan, LevelLogRecord or LevelDataPoint.
	Level    Level
	Resource pcommon.Resource
	Scope    pcommon.InstrumentationScope
	// Attributes is the element's own attribute map: the span's, the log record's or the
	// data point's.
	Attributes pcommon.Map

	// Span is the span, in traces.
	Span ptrace.Span
	// LogRecord is the log record, in logs.
	LogRecord plog.LogRecord
	// Metric is the data point's metric, in metrics: its name, unit, description and type,
	// and through the type its aggregation temporality (see Temporality).
	Metric pmetric.Metric
	// The data point, in the one field that Metric.Type() calls for (gauge and sum points
	// are number data points); the others are zero.
	NumberDataPoint               pmetric.NumberDataPoint
	HistogramDataPoint            pmetric.HistogramDataPoint
	ExponentialHistogramDataPoint pmetric.ExponentialHistogramDataPoint
	SummaryDataPoint              pmetric.SummaryDataPoint
}

// Temporality is the aggregation temporality of the data point's metric: that of a sum, a
// histogram or an exponential histogram, and Unspecified for gauges, summaries and anything
// that is not a data point.
func (e *Element) Temporality() pmetric.AggregationTemporality {
	if e.Level != LevelDataPoint {
		return pmetric.AggregationTemporalityUnspecified
	}
	switch e.Metric.Type() {
	case pmetric.MetricTypeSum:
		return e.Metric.Sum().AggregationTemporality()
	case pmetric.MetricTypeHistogram:
		return e.Metric.Histogram().AggregationTemporality()
	case pmetric.MetricTypeExponentialHistogram:
		return e.Metric.ExponentialHistogram().AggregationTemporality()
	}
	return pmetric.AggregationTemporalityUnspecified
}

// ElementVisitor is shown one span, log record or data point at a time.
type ElementVisitor interface {
	// VisitElement returns Keep, Replace when it changed the element in place (attributes,
	// values), or Delete to drop it. A metric left without data points by drops is removed,
	// and so are a scope and a resource left empty; what was empty on arrival stays. The
	// visitor must not add or remove elements of the slices being walked, with one
	// exception: points appended to the data point slice being walked (an overflow point)
	// are kept and not shown. An error stops the walk at once; the walk returns it wrapped in
	// an *Error, and leaves the batch part walked (some drops applied, some not): refuse it.
	VisitElement(ctx context.Context, e *Element) (Op, error)
}

// ElementVisitorFunc adapts a function to the ElementVisitor interface.
type ElementVisitorFunc func(ctx context.Context, e *Element) (Op, error)

// VisitElement calls f.
func (f ElementVisitorFunc) VisitElement(ctx context.Context, e *Element) (Op, error) {
	return f(ctx, e)
}

// EachSpan shows h every span of td, and removes those it drops.
func (w *Walker) EachSpan(ctx context.Context, td ptrace.Traces, h ElementVisitor) error {
	return w.walkTraces(ctx, td, false, Pass{Elements: h})
}

// EachLogRecord shows h every log record of ld, and removes those it drops.
func (w *Walker) EachLogRecord(ctx context.Context, ld plog.Logs, h ElementVisitor) error {
	return w.walkLogs(ctx, ld, false, Pass{Elements: h})
}

// EachDataPoint shows h every data point of md, of every metric type, and removes those it
// drops.
func (w *Walker) EachDataPoint(ctx context.Context, md pmetric.Metrics, h ElementVisitor) error {
	return w.walkMetrics(ctx, md, false, Pass{Elements: h})
}
