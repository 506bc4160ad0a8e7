package walk

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelwarden/warden/internal/sample"
)

// FuzzWalkOTLP decodes arbitrary bytes as OTLP requests of each signal (as a receiver would)
// and walks whatever decodes twice. First the string walk, with a visitor that replaces some
// values and deletes others: no panic, the result still encodes, and a second walk finds no
// attribute that was deleted. Then one pass with a selector (exact keys, globs, body paths),
// a visitor that changes the type of what it is shown or deletes it, and an element hook
// that drops some elements: no panic, the result encodes, and exactly the kept elements
// remain; and a selection walk that deletes some values leaves exactly the others selected.
func FuzzWalkOTLP(f *testing.F) {
	for _, items := range []int{1, 5} {
		tb, _ := ptraceotlp.NewExportRequestFromTraces(sample.Traces(sample.Options{Items: items, PIIEvery: 2})).MarshalProto()
		lb, _ := plogotlp.NewExportRequestFromLogs(sample.Logs(sample.Options{Items: items, PIIEvery: 2})).MarshalProto()
		mb, _ := pmetricotlp.NewExportRequestFromMetrics(sample.Metrics(sample.Options{Items: items, PIIEvery: 2})).MarshalProto()
		f.Add(tb)
		f.Add(lb)
		f.Add(mb)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		edit := VisitorFunc(func(_ *Location, v string) (Op, string) {
			switch {
			case strings.Contains(v, "@"):
				return Delete, ""
			case len(v)%3 == 0:
				return Replace, "[X]"
			}
			return Keep, ""
		})
		check := VisitorFunc(func(loc *Location, v string) (Op, string) {
			if strings.Contains(v, "@") && loc.Field == FieldAttribute {
				t.Fatalf("%s: a deleted value is still there: %q", loc, v)
			}
			return Keep, ""
		})
		w, c := New(edit), New(check)
		w.Numbers, c.Numbers = true, true

		sw := &selectWalk{t: t}
		ctx := context.Background()

		tr := ptraceotlp.NewExportRequest()
		if tr.UnmarshalProto(data) == nil {
			w.Traces(tr.Traces())
			c.Traces(tr.Traces())
			if _, err := tr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
			sw.reset()
			require.NoError(t, sw.w.WalkTraces(ctx, tr.Traces(), sw.pass()))
			before := sw.count(func(v ValueVisitor) error { return sw.w.SelectTraces(ctx, tr.Traces(), fuzzSelector, v) })
			deleted := sw.count(func(v ValueVisitor) error { return sw.w.SelectTraces(ctx, tr.Traces(), fuzzSelector, sw.deleter(v)) })
			after := sw.count(func(v ValueVisitor) error { return sw.w.SelectTraces(ctx, tr.Traces(), fuzzSelector, v) })
			require.Equal(t, before-deleted, after, "values selected after deletes")
			require.Equal(t, sw.kept, tr.Traces().SpanCount())
			if _, err := tr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
		}
		lr := plogotlp.NewExportRequest()
		if lr.UnmarshalProto(data) == nil {
			w.Logs(lr.Logs())
			c.Logs(lr.Logs())
			if _, err := lr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
			sw.reset()
			require.NoError(t, sw.w.WalkLogs(ctx, lr.Logs(), sw.pass()))
			before := sw.count(func(v ValueVisitor) error { return sw.w.SelectLogs(ctx, lr.Logs(), fuzzSelector, v) })
			deleted := sw.count(func(v ValueVisitor) error { return sw.w.SelectLogs(ctx, lr.Logs(), fuzzSelector, sw.deleter(v)) })
			after := sw.count(func(v ValueVisitor) error { return sw.w.SelectLogs(ctx, lr.Logs(), fuzzSelector, v) })
			require.Equal(t, before-deleted, after, "values selected after deletes")
			require.Equal(t, sw.kept, lr.Logs().LogRecordCount())
			if _, err := lr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
		}
		mr := pmetricotlp.NewExportRequest()
		if mr.UnmarshalProto(data) == nil {
			w.Metrics(mr.Metrics())
			c.Metrics(mr.Metrics())
			if _, err := mr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
			sw.reset()
			require.NoError(t, sw.w.WalkMetrics(ctx, mr.Metrics(), sw.pass()))
			before := sw.count(func(v ValueVisitor) error { return sw.w.SelectMetrics(ctx, mr.Metrics(), fuzzSelector, v) })
			deleted := sw.count(func(v ValueVisitor) error { return sw.w.SelectMetrics(ctx, mr.Metrics(), fuzzSelector, sw.deleter(v)) })
			after := sw.count(func(v ValueVisitor) error { return sw.w.SelectMetrics(ctx, mr.Metrics(), fuzzSelector, v) })
			require.Equal(t, before-deleted, after, "values selected after deletes")
			require.Equal(t, sw.kept, mr.Metrics().DataPointCount())
			if _, err := mr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// fuzzSelector selects what the sample batches hold and more: exact keys, globs, levels,
// body paths (and a body path under another).
var fuzzSelector = func() *Selector {
	sel, err := CompileSelector(
		Pattern{Key: "service.name", Levels: Levels(LevelResource)},
		Pattern{Key: "order.id"},
		Pattern{Key: "http.*"},
		Pattern{Key: "*.id"},
		Pattern{Key: "*"},
		Pattern{Key: "body.user"},
		Pattern{Key: "body.user.card"},
		Pattern{Key: `body["a.b"].c`},
	)
	if err != nil {
		panic(err)
	}
	return sel
}()

// selectWalk changes the type of every other selected value, deletes every third, and drops
// every third element, counting the elements it keeps.
type selectWalk struct {
	t    *testing.T
	w    Walker
	n    int
	kept int
}

func (s *selectWalk) reset() { s.n, s.kept = 0, 0 }

func (s *selectWalk) pass() Pass {
	return Pass{Selector: fuzzSelector, Values: s, Elements: s}
}

func (s *selectWalk) VisitValue(_ context.Context, loc *Location, v pcommon.Value) (Op, error) {
	if loc.Depth() == 0 && loc.Field != FieldBody {
		s.t.Fatalf("%s: a selected value without a key", loc)
	}
	s.n++
	switch s.n % 3 {
	case 0:
		return Delete, nil
	case 1:
		if v.Type() == pcommon.ValueTypeStr {
			v.SetEmptyMap().PutStr("was", "str")
		} else {
			v.SetStr("was " + v.Type().String())
		}
		return Replace, nil
	}
	return Keep, nil
}

func (s *selectWalk) VisitElement(_ context.Context, e *Element) (Op, error) {
	s.n++
	if s.n%3 == 0 {
		return Delete, nil
	}
	s.kept++
	return Keep, nil
}

// count runs walk with a visitor that counts what it is shown (or what the visitor built
// from it by deleter deletes) and returns the count.
func (s *selectWalk) count(walk func(ValueVisitor) error) int {
	n := 0
	counter := ValueVisitorFunc(func(context.Context, *Location, pcommon.Value) (Op, error) {
		n++
		return Keep, nil
	})
	require.NoError(s.t, walk(counter))
	return n
}

// deleter deletes every other value it is shown, and shows count the deleted ones.
func (s *selectWalk) deleter(count ValueVisitor) ValueVisitor {
	i := 0
	return ValueVisitorFunc(func(ctx context.Context, loc *Location, v pcommon.Value) (Op, error) {
		i++
		if i%2 == 0 {
			return Keep, nil
		}
		if _, err := count.VisitValue(ctx, loc, v); err != nil {
			return Keep, err
		}
		return Delete, nil
	})
}
