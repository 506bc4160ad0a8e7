package walk

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/sample"
)

const benchItems = 500

// benchBatches are sample batches of benchItems spans, log records and data points, 5% of
// them with personal data (and so with the keys that field_encryption would select).
var benchBatches = []struct {
	signal string
	walk   func(w *Walker, p Pass) error
}{
	{"traces", func() func(*Walker, Pass) error {
		td := sample.Traces(sample.Options{Items: benchItems, PIIEvery: 20})
		return func(w *Walker, p Pass) error { return w.WalkTraces(context.Background(), td, p) }
	}()},
	{"logs", func() func(*Walker, Pass) error {
		ld := sample.Logs(sample.Options{Items: benchItems, PIIEvery: 20})
		return func(w *Walker, p Pass) error { return w.WalkLogs(context.Background(), ld, p) }
	}()},
	{"metrics", func() func(*Walker, Pass) error {
		md := sample.Metrics(sample.Options{Items: benchItems, PIIEvery: 20})
		return func(w *Walker, p Pass) error { return w.WalkMetrics(context.Background(), md, p) }
	}()},
}

// selectorCases are what field_encryption would be configured with: exact keys only (looked
// up with Map.Get), globs (every key of the levels matched), and a log body path.
var selectorCases = []struct {
	name     string
	patterns []Pattern
}{
	{"exact", keys("password", "http.request.header.authorization", "enduser.email", "user.phone", "enduser.id")},
	{"exact_levels", []Pattern{
		{Key: "http.request.header.authorization", Levels: Levels(LevelSpan, LevelLogRecord)},
		{Key: "enduser.email", Levels: Levels(LevelSpan)},
		{Key: "enduser.id", Levels: Levels(LevelDataPoint)},
	}},
	{"glob", keys("*.api_key", "http.request.header.*", "*password*", "enduser.*", "user.phone")},
	{"body", keys("body", "body.card.number")},
}

// BenchmarkSelect walks each batch with a selector and a value visitor that keeps what it is
// shown, and reports the cost per element and the values shown per batch.
func BenchmarkSelect(b *testing.B) {
	for _, bb := range benchBatches {
		for _, sc := range selectorCases {
			b.Run(bb.signal+"/"+sc.name, func(b *testing.B) {
				sel := mustSelector(b, sc.patterns...)
				shown := 0
				v := ValueVisitorFunc(func(context.Context, *Location, pcommon.Value) (Op, error) {
					shown++
					return Keep, nil
				})
				var w Walker
				b.ReportAllocs()
				for b.Loop() {
					if err := bb.walk(&w, Pass{Selector: sel, Values: v}); err != nil {
						b.Fatal(err)
					}
				}
				reportPerElement(b)
				b.ReportMetric(float64(shown)/float64(b.N), "values/op")
			})
		}
	}
}

// BenchmarkSelectReplace replaces every selected value, as encryption does (with a constant
// here, so that the batch stays the same from one iteration to the next).
func BenchmarkSelectReplace(b *testing.B) {
	for _, bb := range benchBatches {
		b.Run(bb.signal, func(b *testing.B) {
			sel := mustSelector(b, keys("http.request.header.authorization", "enduser.email", "enduser.id", "user.phone", "order.id")...)
			replaced := 0
			v := ValueVisitorFunc(func(_ context.Context, _ *Location, v pcommon.Value) (Op, error) {
				v.SetStr("wenc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
				replaced++
				return Replace, nil
			})
			var w Walker
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.walk(&w, Pass{Selector: sel, Values: v}); err != nil {
					b.Fatal(err)
				}
			}
			reportPerElement(b)
			if replaced == 0 {
				b.Fatal("nothing was replaced")
			}
		})
	}
}

// BenchmarkEach is the element hook alone, as telemetry_guard uses it: the hook reads the
// element's metric (for data points) and attribute count, and keeps it.
func BenchmarkEach(b *testing.B) {
	for _, bb := range benchBatches {
		b.Run(bb.signal, func(b *testing.B) {
			seen, attrs := 0, 0
			h := ElementVisitorFunc(func(_ context.Context, e *Element) (Op, error) {
				seen++
				attrs += e.Attributes.Len()
				if e.Level == LevelDataPoint && e.Metric.Name() == "" {
					return Delete, nil
				}
				return Keep, nil
			})
			var w Walker
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.walk(&w, Pass{Elements: h}); err != nil {
					b.Fatal(err)
				}
			}
			reportPerElement(b)
			if seen != b.N*benchItems || attrs == 0 {
				b.Fatalf("the hook saw %d elements in %d walks of %d", seen, b.N, benchItems)
			}
		})
	}
}

func reportPerElement(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/element")
}
