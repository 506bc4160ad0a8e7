package piiredactionprocessor

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/sample"
)

// FuzzNoPlantedValueSurvives surrounds a planted value with arbitrary text, puts it in every
// kind of field, and checks that the processor neither panics nor lets the value through.
func FuzzNoPlantedValueSurvives(f *testing.F) {
	f.Add("", "", uint8(0))
	f.Add("user ", " logged in", uint8(1))
	f.Add("https://x.example/?q=", "&sig=abc", uint8(2))
	f.Add("Bearer ", "", uint8(3))
	f.Add("{\"a\":\"", "\"}", uint8(4))
	f.Add("\xff\xfe", "\x00", uint8(1))
	f.Add(strings.Repeat("9", 40), strings.Repeat("-", 30), uint8(1))
	f.Add("email=jane%40example.com&n=", "%2", uint8(2))
	f.Add(`{"m":"\u0040\n`, `\u00"}`, uint8(5))
	f.Add("a&#64;b&commat;", "&#x", uint8(6))
	f.Add("https://15550001111%40example.com@", "/p", uint8(7))
	f.Add("tel+", " ext. 12", uint8(3))
	f.Add("(+45) 32 10 ", "x42 #1", uint8(3))
	f.Add("call", "0044 20 7946 ", uint8(3))
	p := newTestProcessor(f, testConfig(nil))
	f.Fuzz(func(t *testing.T, prefix, suffix string, which uint8) {
		planted := sample.Planted[int(which)%len(sample.Planted)]
		value := prefix + "\n" + planted + "\n" + suffix

		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetEmptyMap().PutEmptySlice("items").AppendEmpty().SetStr(value)
		lr.Attributes().PutStr("message", value)
		// A URL-ish value: the planted value as a query value. (Glued to other digits, a card
		// is part of a longer number, which is not a card: the separators keep it a card.)
		lr.Attributes().PutStr("url.full", prefix+"?v="+planted+"&"+suffix)
		if _, err := p.processLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		items, _ := lr.Body().Map().Get("items")
		msg, _ := lr.Attributes().Get("message")
		u, _ := lr.Attributes().Get("url.full")
		for _, got := range []string{items.Slice().At(0).Str(), msg.Str(), u.Str()} {
			if strings.Contains(got, planted) {
				t.Fatalf("%q survived in %q", planted, got)
			}
		}

		td := ptrace.NewTraces()
		span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(value)
		span.Events().AppendEmpty().SetName(value)
		if _, err := p.processTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(span.Name(), planted) || strings.Contains(span.Events().At(0).Name(), planted) {
			t.Fatalf("%q survived in a name: %q", planted, span.Name())
		}
	})
}
