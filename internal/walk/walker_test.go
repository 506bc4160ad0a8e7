package walk

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/sample"
)

// recorder keeps every visit as "location=value" and applies the ops it was given by value.
type recorder struct {
	seen    []string
	service []string
	ops     map[string]Op
	repl    string
}

func (r *recorder) VisitString(loc *Location, v string) (Op, string) {
	r.seen = append(r.seen, loc.String()+"="+v)
	r.service = append(r.service, ServiceName(loc.Resource))
	if op, ok := r.ops[v]; ok {
		return op, r.repl
	}
	return Keep, ""
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func buildTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("scope.attr", "s1")
	ss.Scope().SetName("scope-name")
	ss.Scope().SetVersion("scope-version")
	sp := ss.Spans().AppendEmpty()
	sp.TraceState().FromRaw("vendor=not-visited")
	sp.SetName("span-name")
	sp.Status().SetMessage("status-msg")
	sp.Attributes().PutStr("a", "v-a")
	sp.Attributes().PutInt("n", 42)
	m := sp.Attributes().PutEmptyMap("m")
	m.PutStr("inner", "v-inner")
	sl := m.PutEmptySlice("list")
	sl.AppendEmpty().SetStr("v-0")
	sl.AppendEmpty().SetBool(true)
	ev := sp.Events().AppendEmpty()
	ev.SetName("event-name")
	ev.Attributes().PutStr("e", "v-e")
	ln := sp.Links().AppendEmpty()
	ln.Attributes().PutStr("l", "v-l")
	return td
}

func TestTracesVisitsEveryString(t *testing.T) {
	r := &recorder{}
	New(r).Traces(buildTraces())
	assert.Equal(t, sorted([]string{
		`traces/resource/attribute["service.name"]=svc`,
		`traces/scope/attribute["scope.attr"]=s1`,
		`traces/scope/name=scope-name`,
		`traces/scope/version=scope-version`,
		`traces/span/attribute["a"]=v-a`,
		`traces/span/attribute["m"]["inner"]=v-inner`,
		`traces/span/attribute["m"]["list"][0]=v-0`,
		`traces/span/name=span-name`,
		`traces/span/status_message=status-msg`,
		`traces/span_event/attribute["e"]=v-e`,
		`traces/span_event/name=event-name`,
		`traces/span_link/attribute["l"]=v-l`,
	}), sorted(r.seen))
	for _, s := range r.service {
		assert.Equal(t, "svc", s, "every visit knows its resource")
	}
}

func TestLogsVisitsBodiesRecursively(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("scope-name")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("v-event")
	lr.SetSeverityText("INFO")
	lr.Attributes().PutStr("k", "v-k")
	body := lr.Body().SetEmptyMap()
	body.PutStr("msg", "v-msg")
	user := body.PutEmptyMap("user")
	emails := user.PutEmptySlice("emails")
	emails.AppendEmpty().SetStr("v-e0")
	emails.AppendEmpty().SetEmptyMap().PutStr("addr", "v-e1")
	lr2 := sl.LogRecords().AppendEmpty()
	lr2.Body().SetStr("plain body")

	r := &recorder{}
	New(r).Logs(ld)
	assert.Equal(t, sorted([]string{
		`logs/resource/attribute["service.name"]=svc`,
		`logs/scope/name=scope-name`,
		`logs/log_record/attribute["k"]=v-k`,
		`logs/log_record/event_name=v-event`,
		`logs/log_record/body["msg"]=v-msg`,
		`logs/log_record/body["user"]["emails"][0]=v-e0`,
		`logs/log_record/body["user"]["emails"][1]["addr"]=v-e1`,
		`logs/log_record/body=plain body`,
	}), sorted(r.seen))
}

func TestMetricsVisitsEveryPointType(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetVersion("v1.2.3")
	ms := sm.Metrics()
	gm := ms.AppendEmpty()
	gm.SetName("not.visited")
	gm.SetUnit("ms")
	gm.SetDescription("description")
	gm.Metadata().PutStr("prometheus.type", "gauge")
	g := gm.SetEmptyGauge().DataPoints().AppendEmpty()
	g.Attributes().PutStr("k", "gauge")
	g.Exemplars().AppendEmpty().FilteredAttributes().PutStr("k", "gauge-exemplar")
	ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("k", "sum")
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	h.Attributes().PutStr("k", "histogram")
	h.Exemplars().AppendEmpty().FilteredAttributes().PutStr("k", "histogram-exemplar")
	e := ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	e.Attributes().PutStr("k", "exp")
	e.Exemplars().AppendEmpty().FilteredAttributes().PutStr("k", "exp-exemplar")
	ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty().Attributes().PutStr("k", "summary")

	r := &recorder{}
	New(r).Metrics(md)
	assert.Equal(t, sorted([]string{
		`metrics/scope/version=v1.2.3`,
		`metrics/metric/description=description`,
		`metrics/metric/attribute["prometheus.type"]=gauge`,
		`metrics/datapoint/attribute["k"]=gauge`,
		`metrics/exemplar/attribute["k"]=gauge-exemplar`,
		`metrics/datapoint/attribute["k"]=sum`,
		`metrics/datapoint/attribute["k"]=histogram`,
		`metrics/exemplar/attribute["k"]=histogram-exemplar`,
		`metrics/datapoint/attribute["k"]=exp`,
		`metrics/exemplar/attribute["k"]=exp-exemplar`,
		`metrics/datapoint/attribute["k"]=summary`,
	}), sorted(r.seen))
}

func TestReplaceAndDelete(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("secret-name")
	a := sp.Attributes()
	a.PutStr("keep1", "keep")
	a.PutStr("del1", "delete-me")
	a.PutStr("keep2", "keep")
	a.PutStr("del2", "delete-me")
	a.PutStr("rep", "replace-me")
	nested := a.PutEmptyMap("nested")
	nested.PutStr("del", "delete-me")
	nested.PutStr("keep", "keep")
	list := a.PutEmptySlice("list")
	list.AppendEmpty().SetStr("delete-me")
	list.AppendEmpty().SetStr("keep")
	list.AppendEmpty().SetStr("delete-me")
	list.AppendEmpty().SetStr("replace-me")

	r := &recorder{ops: map[string]Op{"delete-me": Delete, "replace-me": Replace, "secret-name": Delete}, repl: "NEW"}
	New(r).Traces(td)

	assert.Equal(t, map[string]any{
		"keep1":  "keep",
		"keep2":  "keep",
		"rep":    "NEW",
		"nested": map[string]any{"keep": "keep"},
		"list":   []any{"keep", "NEW"},
	}, a.AsRaw())
	assert.Empty(t, sp.Name(), "a deleted name is emptied")
}

// Deleting a field that cannot be removed empties it; replacing sets it.
func TestNewStringsReplaceAndDelete(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("jane@example.com")
	sl.Scope().SetVersion("1.0")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("jane@example.com")
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetDescription("jane@example.com")
	m.Metadata().PutStr("owner", "jane@example.com")

	r := &recorder{ops: map[string]Op{"jane@example.com": Delete, "1.0": Replace}, repl: "2.0"}
	New(r).Logs(ld)
	New(r).Metrics(md)
	assert.Empty(t, sl.Scope().Name())
	assert.Equal(t, "2.0", sl.Scope().Version())
	assert.Empty(t, lr.EventName())
	assert.Empty(t, m.Description())
	assert.Zero(t, m.Metadata().Len())
}

func TestNewStringsFollowFields(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("scope")
	sl.Scope().SetVersion("1.0")
	sl.LogRecords().AppendEmpty().SetEventName("event")
	for _, tc := range []struct {
		fields FieldSet
		want   []string
	}{
		{Fields(FieldName), []string{"logs/scope/name=scope"}},
		{Fields(FieldVersion), []string{"logs/scope/version=1.0"}},
		{Fields(FieldEventName), []string{"logs/log_record/event_name=event"}},
		{Fields(FieldAttribute, FieldBody), nil},
	} {
		r := &recorder{}
		(&Walker{Visitor: r, Levels: AllLevels, Fields: tc.fields}).Logs(ld)
		assert.Equal(t, tc.want, r.seen, "%b", tc.fields)
	}
}

func TestDeleteBodyRoot(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("delete-me")
	New(&recorder{ops: map[string]Op{"delete-me": Delete}}).Logs(ld)
	assert.Equal(t, pcommon.ValueTypeEmpty, lr.Body().Type())
}

func TestSelection(t *testing.T) {
	r := &recorder{}
	w := &Walker{Visitor: r, Levels: Levels(LevelSpan), Fields: Fields(FieldName)}
	w.Traces(buildTraces())
	assert.Equal(t, []string{"traces/span/name=span-name"}, r.seen)

	r = &recorder{}
	w = &Walker{Visitor: r, Levels: Levels(LevelSpanEvent, LevelSpanLink), Fields: AllFields}
	w.Traces(buildTraces())
	assert.Len(t, r.seen, 3)
}

func TestNumbers(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Attributes().PutInt("card", 4111111111111111)
	lr.Attributes().PutDouble("ratio", 0.25)
	lr.Attributes().PutBool("flag", true)
	ld := plog.NewLogs()
	lr.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())

	r := &recorder{ops: map[string]Op{"4111111111111111": Replace}, repl: "[REDACTED]"}
	w := New(r)
	w.Logs(ld)
	assert.Empty(t, r.seen, "numbers are not shown unless asked for")

	w.Numbers = true
	w.Logs(ld)
	assert.ElementsMatch(t, []string{
		`logs/log_record/attribute["card"]=4111111111111111`,
		`logs/log_record/attribute["ratio"]=0.25`,
	}, r.seen)
	got, _ := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("card")
	assert.Equal(t, "[REDACTED]", got.Str(), "a replaced number becomes a string")
}

func TestReadOnlyDataIsWalkable(t *testing.T) {
	ld := sample.Logs(sample.Options{Items: 20, PIIEvery: 3})
	ld.MarkReadOnly()
	r := &recorder{}
	require.NotPanics(t, func() { New(r).Logs(ld) })
	assert.NotEmpty(t, r.seen)
}

func TestLocationKeys(t *testing.T) {
	var keys [][2]string
	v := VisitorFunc(func(loc *Location, _ string) (Op, string) {
		keys = append(keys, [2]string{loc.TopKey(), loc.Key()})
		return Keep, ""
	})
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutEmptyMap("http.request.header").PutEmptySlice("authorization").AppendEmpty().SetStr("x")
	lr.Body().SetEmptyMap().PutStr("password", "y")
	New(v).Logs(ld)
	assert.ElementsMatch(t, [][2]string{
		{"http.request.header", "authorization"},
		{"", "password"},
	}, keys)
}

func TestWalkAllocatesNothingWhenWarm(t *testing.T) {
	keep := VisitorFunc(func(*Location, string) (Op, string) { return Keep, "" })
	w := New(keep)
	w.Numbers = true
	td := sample.Traces(sample.Options{Items: 50, PIIEvery: 5})
	ld := sample.Logs(sample.Options{Items: 50, PIIEvery: 5})
	md := sample.Metrics(sample.Options{Items: 50, PIIEvery: 5})
	w.Traces(td)
	w.Logs(ld)
	w.Metrics(md)
	allocs := testing.AllocsPerRun(20, func() {
		w.Traces(td)
		w.Logs(ld)
		w.Metrics(md)
	})
	assert.Zero(t, allocs)
}

func TestLevelNames(t *testing.T) {
	for _, n := range LevelNames() {
		l, ok := ParseLevel(n)
		require.True(t, ok, n)
		assert.Equal(t, n, l.String())
	}
	_, ok := ParseLevel("nope")
	assert.False(t, ok)
	assert.True(t, strings.Contains(Level(200).String(), "unknown"))

	set, err := ParseLevels([]string{"span", "metric", "exemplar"})
	require.NoError(t, err)
	assert.Equal(t, Levels(LevelSpan, LevelMetric, LevelExemplar), set)
	set, err = ParseLevels(nil)
	require.NoError(t, err)
	assert.Zero(t, set)
	_, err = ParseLevels([]string{"span", "spans"})
	require.EqualError(t, err, `unknown level "spans" (want resource, scope, span, span_event, span_link, log_record, metric, datapoint, exemplar)`)
	for f := Field(0); f < numFields; f++ {
		assert.NotContains(t, f.String(), "unknown")
	}
}

func BenchmarkWalk(b *testing.B) {
	keep := VisitorFunc(func(*Location, string) (Op, string) { return Keep, "" })
	for _, tc := range []struct {
		name string
		walk func(w *Walker)
	}{
		{"traces", func() func(*Walker) {
			td := sample.Traces(sample.Options{Items: 500})
			return func(w *Walker) { w.Traces(td) }
		}()},
		{"logs", func() func(*Walker) {
			ld := sample.Logs(sample.Options{Items: 500})
			return func(w *Walker) { w.Logs(ld) }
		}()},
		{"metrics", func() func(*Walker) {
			md := sample.Metrics(sample.Options{Items: 500})
			return func(w *Walker) { w.Metrics(md) }
		}()},
	} {
		b.Run(tc.name+"/500", func(b *testing.B) {
			w := New(keep)
			b.ReportAllocs()
			for b.Loop() {
				tc.walk(w)
			}
		})
	}
}

func TestSkipResource(t *testing.T) {
	td := sample.Traces(sample.Options{Items: 10})
	r := &recorder{}
	w := New(r)
	w.SkipResource = func(res pcommon.Resource) bool { return ServiceName(res) != "payments" }
	w.Traces(td)
	require.NotEmpty(t, r.service)
	for _, s := range r.service {
		assert.Equal(t, "payments", s)
	}
}
