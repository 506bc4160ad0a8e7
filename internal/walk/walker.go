package walk

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Op is what a Visitor wants done with the value it was shown.
type Op uint8

const (
	// Keep leaves the value as it is.
	Keep Op = iota
	// Replace sets the value to the returned string (a number visited as text becomes a string).
	Replace
	// Delete removes the attribute, map entry or slice element. For a name, a status message or
	// a body root, which cannot be removed, it empties the value.
	Delete
)

// Visitor is shown each selected string value.
type Visitor interface {
	// VisitString returns Keep, Replace with the new value, or Delete. loc and value are only
	// valid during the call.
	VisitString(loc *Location, value string) (Op, string)
}

// VisitorFunc adapts a function to the Visitor interface.
type VisitorFunc func(loc *Location, value string) (Op, string)

// VisitString calls f.
func (f VisitorFunc) VisitString(loc *Location, value string) (Op, string) { return f(loc, value) }

// Walker walks pdata and shows the selected values to its Visitor. The zero Levels and
// Fields select nothing; use AllLevels and AllFields to see everything.
type Walker struct {
	Visitor Visitor
	Levels  LevelSet
	Fields  FieldSet
	// Numbers also shows int and double values, as decimal text. A number that is replaced
	// becomes a string.
	Numbers bool
	// SkipResource, when set, is asked once per resource; true skips the resource and
	// everything under it (e.g. services that are allow-listed).
	SkipResource func(pcommon.Resource) bool

	loc    Location
	del    []int
	numBuf [32]byte
}

// New returns a Walker that shows every string of every level and field to v.
func New(v Visitor) *Walker {
	return &Walker{Visitor: v, Levels: AllLevels, Fields: AllFields}
}

// Traces walks resource, scope, span, span event and span link attributes, span and event
// names and span status messages.
func (w *Walker) Traces(td ptrace.Traces) {
	w.loc.Signal = SignalTraces
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if w.SkipResource != nil && w.SkipResource(rs.Resource()) {
			continue
		}
		w.resource(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			w.attributes(LevelScope, ss.Scope().Attributes())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				w.span(spans.At(k))
			}
		}
	}
	w.loc.Resource = pcommon.Resource{}
}

func (w *Walker) span(span ptrace.Span) {
	w.attributes(LevelSpan, span.Attributes())
	if w.wants(LevelSpan, FieldName) {
		if s, ok := w.visitRoot(LevelSpan, FieldName, span.Name()); ok {
			span.SetName(s)
		}
	}
	if w.wants(LevelSpan, FieldStatusMessage) && span.Status().Message() != "" {
		if s, ok := w.visitRoot(LevelSpan, FieldStatusMessage, span.Status().Message()); ok {
			span.Status().SetMessage(s)
		}
	}
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		w.attributes(LevelSpanEvent, ev.Attributes())
		if w.wants(LevelSpanEvent, FieldName) {
			if s, ok := w.visitRoot(LevelSpanEvent, FieldName, ev.Name()); ok {
				ev.SetName(s)
			}
		}
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		w.attributes(LevelSpanLink, links.At(i).Attributes())
	}
}

// Logs walks resource, scope and log record attributes and log bodies.
func (w *Walker) Logs(ld plog.Logs) {
	w.loc.Signal = SignalLogs
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if w.SkipResource != nil && w.SkipResource(rl.Resource()) {
			continue
		}
		w.resource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			w.attributes(LevelScope, sl.Scope().Attributes())
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				w.attributes(LevelLogRecord, lr.Attributes())
				if w.wants(LevelLogRecord, FieldBody) {
					w.loc.Level, w.loc.Field = LevelLogRecord, FieldBody
					if w.value(lr.Body()) {
						pcommon.NewValueEmpty().CopyTo(lr.Body())
					}
				}
			}
		}
	}
	w.loc.Resource = pcommon.Resource{}
}

// Metrics walks resource, scope, data point and exemplar attributes of every metric type.
func (w *Walker) Metrics(md pmetric.Metrics) {
	w.loc.Signal = SignalMetrics
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if w.SkipResource != nil && w.SkipResource(rm.Resource()) {
			continue
		}
		w.resource(rm.Resource())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			w.attributes(LevelScope, sm.Scope().Attributes())
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				w.metric(ms.At(k))
			}
		}
	}
	w.loc.Resource = pcommon.Resource{}
}

func (w *Walker) metric(m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		w.numberPoints(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		w.numberPoints(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			w.attributes(LevelDataPoint, dps.At(i).Attributes())
			w.exemplars(dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			w.attributes(LevelDataPoint, dps.At(i).Attributes())
			w.exemplars(dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			w.attributes(LevelDataPoint, dps.At(i).Attributes())
		}
	}
}

func (w *Walker) numberPoints(dps pmetric.NumberDataPointSlice) {
	for i := 0; i < dps.Len(); i++ {
		w.attributes(LevelDataPoint, dps.At(i).Attributes())
		w.exemplars(dps.At(i).Exemplars())
	}
}

func (w *Walker) exemplars(es pmetric.ExemplarSlice) {
	for i := 0; i < es.Len(); i++ {
		w.attributes(LevelExemplar, es.At(i).FilteredAttributes())
	}
}

func (w *Walker) resource(res pcommon.Resource) {
	w.loc.Resource = res
	w.attributes(LevelResource, res.Attributes())
}

func (w *Walker) wants(l Level, f Field) bool { return w.Levels.Has(l) && w.Fields.Has(f) }

func (w *Walker) attributes(l Level, m pcommon.Map) {
	if !w.wants(l, FieldAttribute) || m.Len() == 0 {
		return
	}
	w.loc.Level, w.loc.Field = l, FieldAttribute
	w.mapEntries(m)
}

// visitRoot shows a name or status message; it returns the new value when it changed.
func (w *Walker) visitRoot(l Level, f Field, s string) (string, bool) {
	w.loc.Level, w.loc.Field = l, f
	switch op, ns := w.Visitor.VisitString(&w.loc, s); op {
	case Replace:
		return ns, true
	case Delete:
		return "", true
	}
	return "", false
}

// mapEntries walks the entries of m at the current location and removes the ones whose
// visit asked for deletion, in one pass after the walk (pdata maps cannot shrink mid-range).
func (w *Walker) mapEntries(m pcommon.Map) {
	base := len(w.del)
	i := 0
	for k, v := range m.All() {
		w.loc.path = append(w.loc.path, PathElem{Key: k})
		if w.value(v) {
			w.del = append(w.del, i)
		}
		w.loc.path = w.loc.path[:len(w.loc.path)-1]
		i++
	}
	if len(w.del) == base {
		return
	}
	pending, idx := w.del[base:], 0
	m.RemoveIf(func(string, pcommon.Value) bool {
		drop := len(pending) > 0 && pending[0] == idx
		if drop {
			pending = pending[1:]
		}
		idx++
		return drop
	})
	w.del = w.del[:base]
}

func (w *Walker) sliceElems(s pcommon.Slice) {
	base := len(w.del)
	for i := 0; i < s.Len(); i++ {
		w.loc.path = append(w.loc.path, PathElem{Index: i, IsIndex: true})
		if w.value(s.At(i)) {
			w.del = append(w.del, i)
		}
		w.loc.path = w.loc.path[:len(w.loc.path)-1]
	}
	if len(w.del) == base {
		return
	}
	pending, idx := w.del[base:], 0
	s.RemoveIf(func(pcommon.Value) bool {
		drop := len(pending) > 0 && pending[0] == idx
		if drop {
			pending = pending[1:]
		}
		idx++
		return drop
	})
	w.del = w.del[:base]
}

// value shows v (or walks into it) and reports whether it is to be deleted.
func (w *Walker) value(v pcommon.Value) bool {
	var s string
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s = v.Str()
	case pcommon.ValueTypeMap:
		w.mapEntries(v.Map())
		return false
	case pcommon.ValueTypeSlice:
		w.sliceElems(v.Slice())
		return false
	case pcommon.ValueTypeInt:
		if !w.Numbers {
			return false
		}
		s = bytesView(strconv.AppendInt(w.numBuf[:0], v.Int(), 10))
	case pcommon.ValueTypeDouble:
		if !w.Numbers {
			return false
		}
		s = bytesView(strconv.AppendFloat(w.numBuf[:0], v.Double(), 'f', -1, 64))
	default:
		return false
	}
	switch op, ns := w.Visitor.VisitString(&w.loc, s); op {
	case Replace:
		v.SetStr(ns)
	case Delete:
		return true
	}
	return false
}
