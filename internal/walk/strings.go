package walk

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Visitor is shown each selected string value of a string walk.
type Visitor interface {
	// VisitString returns Keep, Replace with the new value, or Delete. loc and value are only
	// valid during the call.
	VisitString(loc *Location, value string) (Op, string)
}

// VisitorFunc adapts a function to the Visitor interface.
type VisitorFunc func(loc *Location, value string) (Op, string)

// VisitString calls f.
func (f VisitorFunc) VisitString(loc *Location, value string) (Op, string) { return f(loc, value) }

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
	d := w.pending(base)
	m.RemoveIf(func(string, pcommon.Value) bool { return d.drop() })
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
	d := w.pending(base)
	s.RemoveIf(func(pcommon.Value) bool { return d.drop() })
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
