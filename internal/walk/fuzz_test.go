package walk

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelwarden/warden/internal/sample"
)

// FuzzWalkOTLP decodes arbitrary bytes as OTLP requests of each signal (as a receiver would)
// and walks whatever decodes with a visitor that replaces some values and deletes others: no
// panic, the result still encodes, and a second walk finds no attribute that was deleted.
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

		tr := ptraceotlp.NewExportRequest()
		if tr.UnmarshalProto(data) == nil {
			w.Traces(tr.Traces())
			c.Traces(tr.Traces())
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
		}
		mr := pmetricotlp.NewExportRequest()
		if mr.UnmarshalProto(data) == nil {
			w.Metrics(mr.Metrics())
			c.Metrics(mr.Metrics())
			if _, err := mr.MarshalProto(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
