package walk

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ValueVisitor is shown each value that a Selector selects, whatever its type.
type ValueVisitor interface {
	// VisitValue decides about v, found at loc. To replace v, set it in place, to any type
	// (v.SetStr, v.SetEmptyMap, v.FromRaw, other.CopyTo(v)), and return Replace; return
	// Delete to remove the attribute or body map entry (a whole body is emptied). It must not
	// add or remove entries of the map that holds v. An error stops the walk at once: the
	// walk returns it wrapped in an *Error that says where. Values visited before keep what
	// the visitor did to them, so a caller that fails on error should refuse the whole batch.
	// loc and v are only valid during the call.
	VisitValue(ctx context.Context, loc *Location, v pcommon.Value) (Op, error)
}

// ValueVisitorFunc adapts a function to the ValueVisitor interface.
type ValueVisitorFunc func(ctx context.Context, loc *Location, v pcommon.Value) (Op, error)

// VisitValue calls f.
func (f ValueVisitorFunc) VisitValue(ctx context.Context, loc *Location, v pcommon.Value) (Op, error) {
	return f(ctx, loc, v)
}

// SelectTraces shows v every value of td that sel selects: resource, scope, span, span event
// and span link attributes. The first error of v stops the walk and is returned as an
// *Error; ctx is passed to v.
func (w *Walker) SelectTraces(ctx context.Context, td ptrace.Traces, sel *Selector, v ValueVisitor) error {
	return w.walkTraces(ctx, td, false, Pass{Selector: sel, Values: v})
}

// SelectLogs is SelectTraces for logs: resource, scope and log record attributes, and body
// paths.
func (w *Walker) SelectLogs(ctx context.Context, ld plog.Logs, sel *Selector, v ValueVisitor) error {
	return w.walkLogs(ctx, ld, false, Pass{Selector: sel, Values: v})
}

// SelectMetrics is SelectTraces for metrics: resource, scope, metric metadata, data point
// and exemplar attributes.
func (w *Walker) SelectMetrics(ctx context.Context, md pmetric.Metrics, sel *Selector, v ValueVisitor) error {
	return w.walkMetrics(ctx, md, false, Pass{Selector: sel, Values: v})
}

// selectAttrs shows the selected entries of the attribute map m at level l. Without globs at
// the level, each exact key is looked up with Map.Get and the map is not gone through at all
// unless the key is there; with globs every top-level key is matched once.
func (w *Walker) selectAttrs(l Level, m pcommon.Map) error {
	if m.Len() == 0 {
		return nil
	}
	lk := &w.sel.levels[l]
	w.loc.Level, w.loc.Field = l, FieldAttribute
	if len(lk.globs) > 0 {
		return w.selectEntries(m, lk, "", -1)
	}
	for i := range lk.exact {
		e := &lk.exact[i]
		if _, ok := m.Get(e.key); ok {
			if err := w.selectEntries(m, nil, e.key, e.pattern); err != nil {
				return err
			}
		}
	}
	return nil
}

// selectEntries shows the entries of m that lk matches, or, when lk is nil, the entries under
// key (OTLP maps may repeat a key on the wire, and a repeated key must not pass unseen), and
// removes those the visitor deletes.
func (w *Walker) selectEntries(m pcommon.Map, lk *levelKeys, key string, pattern int) error {
	base := len(w.del)
	i := 0
	for k, v := range m.All() {
		p := pattern
		if lk != nil {
			p = lk.match(k)
		} else if k != key {
			p = -1
		}
		if p >= 0 {
			w.loc.path = append(w.loc.path, PathElem{Key: k})
			del, err := w.visitSelected(v, p)
			w.loc.path = w.loc.path[:len(w.loc.path)-1]
			if err != nil {
				return err
			}
			if del {
				w.del = append(w.del, i)
			}
		}
		i++
	}
	if len(w.del) > base {
		d := w.pending(base)
		m.RemoveIf(func(string, pcommon.Value) bool { return d.drop() })
	}
	return nil
}

// selectBody shows the selected parts of a log body.
func (w *Walker) selectBody(body pcommon.Value) error {
	root := w.sel.body
	w.loc.Level, w.loc.Field = LevelLogRecord, FieldBody
	if root.pattern >= 0 {
		del, err := w.visitSelected(body, root.pattern)
		if err != nil {
			return err
		}
		if del {
			pcommon.NewValueEmpty().CopyTo(body)
		}
		return nil
	}
	return w.selectBodyMap(body, root)
}

// selectBodyMap follows the steps below n into v, when v is a map.
func (w *Walker) selectBodyMap(v pcommon.Value, n *bodyNode) error {
	if v.Type() != pcommon.ValueTypeMap {
		return nil
	}
	m := v.Map()
	for ci, key := range n.keys {
		if _, ok := m.Get(key); !ok {
			continue
		}
		child := n.children[ci]
		base := len(w.del)
		i := 0
		for k, cv := range m.All() {
			if k == key {
				w.loc.path = append(w.loc.path, PathElem{Key: k})
				var (
					del bool
					err error
				)
				if child.pattern >= 0 {
					del, err = w.visitSelected(cv, child.pattern)
				} else {
					err = w.selectBodyMap(cv, child)
				}
				w.loc.path = w.loc.path[:len(w.loc.path)-1]
				if err != nil {
					return err
				}
				if del {
					w.del = append(w.del, i)
				}
			}
			i++
		}
		if len(w.del) > base {
			d := w.pending(base)
			m.RemoveIf(func(string, pcommon.Value) bool { return d.drop() })
		}
	}
	return nil
}

// visitSelected shows v to the ValueVisitor and reports whether to delete it.
func (w *Walker) visitSelected(v pcommon.Value, pattern int) (bool, error) {
	w.loc.PatternIndex = pattern
	op, err := w.values.VisitValue(w.ctx, &w.loc, v)
	if err != nil {
		return false, valueError(&w.loc, err)
	}
	return op == Delete, nil
}
