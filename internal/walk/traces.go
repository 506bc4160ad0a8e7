package walk

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func (w *Walker) walkTraces(ctx context.Context, td ptrace.Traces, strs bool, p Pass) error {
	if err := w.begin(ctx, SignalTraces, strs, p); err != nil {
		return err
	}
	defer w.end()
	rss := td.ResourceSpans()
	base := len(w.del)
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if w.SkipResource != nil && w.SkipResource(rs.Resource()) {
			continue
		}
		if err := w.resource(rs.Resource()); err != nil {
			return err
		}
		emptied, err := w.scopeSpans(rs.ScopeSpans())
		if err != nil {
			return err
		}
		if emptied {
			w.del = append(w.del, i)
		}
	}
	if len(w.del) > base {
		d := w.pending(base)
		rss.RemoveIf(func(ptrace.ResourceSpans) bool { return d.drop() })
	}
	return nil
}

func (w *Walker) scopeSpans(sss ptrace.ScopeSpansSlice) (emptied bool, err error) {
	base := len(w.del)
	for j := 0; j < sss.Len(); j++ {
		ss := sss.At(j)
		if err := w.scope(ss.Scope()); err != nil {
			return false, err
		}
		gone, err := w.spans(ss.Spans())
		if err != nil {
			return false, err
		}
		if gone {
			w.del = append(w.del, j)
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	sss.RemoveIf(func(ptrace.ScopeSpans) bool { return d.drop() })
	return sss.Len() == 0, nil
}

// spans walks a span slice and removes the spans the element hook drops; it reports whether
// that left the slice empty.
func (w *Walker) spans(spans ptrace.SpanSlice) (emptied bool, err error) {
	base := len(w.del)
	n := spans.Len() // spans that the hook appends are not shown to it
	for k := 0; k < n; k++ {
		sp := spans.At(k)
		if w.visit != 0 {
			if err := w.span(sp); err != nil {
				return false, err
			}
		}
		if w.elements != nil {
			w.elem.Span, w.elem.Attributes = sp, sp.Attributes()
			if err := w.element(LevelSpan, k); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	spans.RemoveIf(func(ptrace.Span) bool { return d.drop() })
	return spans.Len() == 0, nil
}

func (w *Walker) span(span ptrace.Span) error {
	if err := w.attrs(LevelSpan, span.Attributes()); err != nil {
		return err
	}
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
	if w.visit.Has(LevelSpanEvent) {
		events := span.Events()
		for i := 0; i < events.Len(); i++ {
			ev := events.At(i)
			if err := w.attrs(LevelSpanEvent, ev.Attributes()); err != nil {
				return err
			}
			if w.wants(LevelSpanEvent, FieldName) {
				if s, ok := w.visitRoot(LevelSpanEvent, FieldName, ev.Name()); ok {
					ev.SetName(s)
				}
			}
		}
	}
	if w.visit.Has(LevelSpanLink) {
		links := span.Links()
		for i := 0; i < links.Len(); i++ {
			if err := w.attrs(LevelSpanLink, links.At(i).Attributes()); err != nil {
				return err
			}
		}
	}
	return nil
}
