package walk

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Op is what a visitor decided about what it was shown.
type Op uint8

const (
	// Keep leaves the value or element as it is.
	Keep Op = iota
	// Replace says the value changed: a string Visitor's value is set to the string it
	// returned (a number visited as text becomes a string); a ValueVisitor or an
	// ElementVisitor has changed it in place, and Replace then acts like Keep.
	Replace
	// Delete removes the attribute, map entry or slice element; a name, a status message or
	// a body root, which cannot be removed, is emptied. From an ElementVisitor it drops the
	// span, log record or data point.
	Delete
)

// Walker walks pdata. Its exported fields configure the string walk (Traces, Logs, Metrics,
// and the Walk methods when Visitor is set); the zero Levels and Fields select nothing, use
// AllLevels and AllFields to see everything. Selection walks (Select...) and element walks
// (EachSpan, EachLogRecord, EachDataPoint) need only a zero Walker.
//
// A Walker reuses its buffers: keep one per goroutine (or in a sync.Pool).
type Walker struct {
	Visitor Visitor
	Levels  LevelSet
	Fields  FieldSet
	// Numbers also shows int and double values, as decimal text. A number that is replaced
	// becomes a string.
	Numbers bool
	// SkipResource, when set, is asked once per resource; true skips the resource and
	// everything under it (e.g. services that are allow-listed), in every kind of walk.
	SkipResource func(pcommon.Resource) bool

	// The current walk's parts, set by begin and cleared by end.
	ctx      context.Context
	strs     bool // the string Visitor takes part
	sel      *Selector
	values   ValueVisitor
	elements ElementVisitor
	// visit has the levels whose fields or attributes anything in this walk looks at;
	// selAttrs those whose attributes the selector looks at, strAttrs those whose attributes
	// the string walk looks at.
	visit, selAttrs, strAttrs LevelSet

	loc    Location
	elem   Element
	del    []int
	numBuf [32]byte
}

// New returns a Walker that shows every string of every level and field to v.
func New(v Visitor) *Walker {
	return &Walker{Visitor: v, Levels: AllLevels, Fields: AllFields}
}

// Pass is what a Walk method does besides the Walker's own string walk.
type Pass struct {
	// Selector selects values for Values; both or neither.
	Selector *Selector
	// Values is shown each selected value.
	Values ValueVisitor
	// Elements is shown each span, log record or data point, after everything else in the
	// walk has seen it.
	Elements ElementVisitor
}

var errSelectorWithoutVisitor = errors.New("walk: a Selector needs a ValueVisitor (and a ValueVisitor a Selector)")

func (w *Walker) begin(ctx context.Context, sig Signal, strs bool, p Pass) error {
	if (p.Selector == nil) != (p.Values == nil) {
		return errSelectorWithoutVisitor
	}
	w.ctx, w.strs = ctx, strs && w.Visitor != nil
	w.sel, w.values, w.elements = p.Selector, p.Values, p.Elements
	w.visit, w.selAttrs, w.strAttrs = 0, 0, 0
	if w.strs && w.Fields != 0 {
		w.visit = w.Levels
		if w.Fields.Has(FieldAttribute) {
			w.strAttrs = w.Levels
		}
	}
	if w.sel != nil {
		w.selAttrs = w.sel.attrLevels
		w.visit |= w.sel.attrLevels
		if w.sel.body != nil {
			w.visit |= Levels(LevelLogRecord)
		}
	}
	w.loc = Location{Signal: sig, path: w.loc.path[:0]}
	w.elem = Element{Signal: sig}
	w.del = w.del[:0]
	return nil
}

// end drops the references to the walked data and the visitors.
func (w *Walker) end() {
	w.ctx, w.sel, w.values, w.elements = nil, nil, nil, nil
	w.loc.Resource = pcommon.Resource{}
	w.elem = Element{}
}

// Traces walks resource, scope, span, span event and span link attributes, scope names and
// versions, span and event names and span status messages.
func (w *Walker) Traces(td ptrace.Traces) {
	_ = w.walkTraces(context.Background(), td, true, Pass{})
}

// Logs walks resource, scope and log record attributes, scope names and versions, log
// bodies and event names.
func (w *Walker) Logs(ld plog.Logs) {
	_ = w.walkLogs(context.Background(), ld, true, Pass{})
}

// Metrics walks resource, scope, metric metadata, data point and exemplar attributes of every
// metric type, scope names and versions, and metric descriptions.
func (w *Walker) Metrics(md pmetric.Metrics) {
	_ = w.walkMetrics(context.Background(), md, true, Pass{})
}

// WalkTraces does, in one pass over td, the Walker's string walk (when it has a Visitor) and
// what p asks for. For each span: the selected values, then the strings, then the element
// hook. A visitor's first error stops the walk and is returned, as an *Error.
func (w *Walker) WalkTraces(ctx context.Context, td ptrace.Traces, p Pass) error {
	return w.walkTraces(ctx, td, true, p)
}

// WalkLogs is WalkTraces for logs.
func (w *Walker) WalkLogs(ctx context.Context, ld plog.Logs, p Pass) error {
	return w.walkLogs(ctx, ld, true, p)
}

// WalkMetrics is WalkTraces for metrics.
func (w *Walker) WalkMetrics(ctx context.Context, md pmetric.Metrics, p Pass) error {
	return w.walkMetrics(ctx, md, true, p)
}

func (w *Walker) resource(res pcommon.Resource) error {
	w.loc.Resource = res
	w.elem.Resource = res
	if !w.visit.Has(LevelResource) {
		return nil
	}
	return w.attrs(LevelResource, res.Attributes())
}

func (w *Walker) scope(sc pcommon.InstrumentationScope) error {
	w.elem.Scope = sc
	if !w.visit.Has(LevelScope) {
		return nil
	}
	if err := w.attrs(LevelScope, sc.Attributes()); err != nil {
		return err
	}
	if w.wants(LevelScope, FieldName) && sc.Name() != "" {
		if s, ok := w.visitRoot(LevelScope, FieldName, sc.Name()); ok {
			sc.SetName(s)
		}
	}
	if w.wants(LevelScope, FieldVersion) && sc.Version() != "" {
		if s, ok := w.visitRoot(LevelScope, FieldVersion, sc.Version()); ok {
			sc.SetVersion(s)
		}
	}
	return nil
}

// wants reports whether the string walk looks at field f of level l.
func (w *Walker) wants(l Level, f Field) bool { return w.strs && w.Levels.Has(l) && w.Fields.Has(f) }

// attrs walks one attribute map: first the selected values, then the strings.
func (w *Walker) attrs(l Level, m pcommon.Map) error {
	if w.selAttrs.Has(l) {
		if err := w.selectAttrs(l, m); err != nil {
			return err
		}
	}
	if w.strAttrs.Has(l) && m.Len() > 0 {
		w.loc.Level, w.loc.Field = l, FieldAttribute
		w.mapEntries(m)
	}
	return nil
}

// element shows the element set in w.elem to the element hook; when the hook drops it, its
// index i is queued for removal.
func (w *Walker) element(l Level, i int) error {
	w.elem.Level = l
	op, err := w.elements.VisitElement(w.ctx, &w.elem)
	if err != nil {
		return elementError(&w.elem, err)
	}
	if op == Delete {
		w.del = append(w.del, i)
	}
	return nil
}

// dropper answers RemoveIf for the pending indexes (ascending) of the elements to remove.
type dropper struct {
	pending []int
	idx     int
}

// pending takes the indexes queued since base off the queue, to remove them with RemoveIf:
// a pdata slice or map cannot shrink while it is being ranged over.
func (w *Walker) pending(base int) dropper {
	d := dropper{pending: w.del[base:]}
	w.del = w.del[:base]
	return d
}

func (d *dropper) drop() bool {
	drop := len(d.pending) > 0 && d.pending[0] == d.idx
	if drop {
		d.pending = d.pending[1:]
	}
	d.idx++
	return drop
}
