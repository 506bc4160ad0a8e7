package walk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// valueRecorder keeps every selected value as "location#pattern=type:value".
type valueRecorder struct{ seen []string }

func (r *valueRecorder) VisitValue(_ context.Context, loc *Location, v pcommon.Value) (Op, error) {
	r.seen = append(r.seen, fmt.Sprintf("%s#%d=%s:%s", loc, loc.PatternIndex, v.Type(), v.AsString()))
	return Keep, nil
}

func mustSelector(t testing.TB, ps ...Pattern) *Selector {
	t.Helper()
	sel, err := CompileSelector(ps...)
	require.NoError(t, err)
	return sel
}

func keys(ks ...string) []Pattern {
	ps := make([]Pattern, len(ks))
	for i, k := range ks {
		ps[i] = Pattern{Key: k}
	}
	return ps
}

// selectionTraces has the same keys at every level of traces, plus nested values, slices,
// empty maps and dotted keys.
func selectionTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	rs.Resource().Attributes().PutStr("password", "res-pw")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("password", "scope-pw")
	sp := ss.Spans().AppendEmpty()
	a := sp.Attributes()
	a.PutStr("password", "span-pw")
	a.PutStr("x.api_key", "k1")
	a.PutStr("api_key", "k2")
	a.PutStr("http.request.header.authorization", "Bearer t")
	a.PutStr("http.request.header.cookie", "c=1")
	a.PutInt("http.response.status_code", 200)
	user := a.PutEmptyMap("user")
	user.PutStr("password", "nested-pw")
	tags := a.PutEmptySlice("tags")
	tags.AppendEmpty().SetStr("t1")
	tags.AppendEmpty().SetInt(2)
	a.PutEmptyMap("empty")
	ev := sp.Events().AppendEmpty()
	ev.Attributes().PutStr("password", "event-pw")
	ln := sp.Links().AppendEmpty()
	ln.Attributes().PutStr("password", "link-pw")
	// A span without attributes and a resource without anything.
	ss.Spans().AppendEmpty()
	td.ResourceSpans().AppendEmpty()
	return td
}

func TestSelectTraces(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []Pattern
		want     []string
	}{
		{"exact key at every level", keys("password"), []string{
			`traces/resource/attribute["password"]#0=Str:res-pw`,
			`traces/scope/attribute["password"]#0=Str:scope-pw`,
			`traces/span/attribute["password"]#0=Str:span-pw`,
			`traces/span_event/attribute["password"]#0=Str:event-pw`,
			`traces/span_link/attribute["password"]#0=Str:link-pw`,
		}},
		{"levels", []Pattern{{Key: "password", Levels: Levels(LevelSpan, LevelSpanLink)}}, []string{
			`traces/span/attribute["password"]#0=Str:span-pw`,
			`traces/span_link/attribute["password"]#0=Str:link-pw`,
		}},
		{"dotted exact key", keys("http.request.header.authorization"), []string{
			`traces/span/attribute["http.request.header.authorization"]#0=Str:Bearer t`,
		}},
		{"glob suffix", keys("*.api_key"), []string{
			`traces/span/attribute["x.api_key"]#0=Str:k1`,
		}},
		{"glob prefix", keys("http.request.header.*"), []string{
			`traces/span/attribute["http.request.header.authorization"]#0=Str:Bearer t`,
			`traces/span/attribute["http.request.header.cookie"]#0=Str:c=1`,
		}},
		{"exact and glob together are one visit", keys("api_key", "*api_key"), []string{
			`traces/span/attribute["api_key"]#0=Str:k2`,
			`traces/span/attribute["x.api_key"]#1=Str:k1`,
		}},
		{"any type is shown, nested maps whole and not entered", keys("user", "tags", "empty", "http.response.status_code"), []string{
			`traces/span/attribute["user"]#0=Map:{"password":"nested-pw"}`,
			`traces/span/attribute["tags"]#1=Slice:["t1",2]`,
			`traces/span/attribute["empty"]#2=Map:{}`,
			`traces/span/attribute["http.response.status_code"]#3=Int:200`,
		}},
		{"a glob over every key of one level", []Pattern{{Key: "*", Levels: Levels(LevelScope)}}, []string{
			`traces/scope/attribute["password"]#0=Str:scope-pw`,
		}},
		{"absent keys", keys("nope", "*.nope"), nil},
		{"body paths do not apply to traces", keys("body.password"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &valueRecorder{}
			var w Walker
			require.NoError(t, w.SelectTraces(context.Background(), selectionTraces(), mustSelector(t, tc.patterns...), r))
			assert.Equal(t, sorted(tc.want), sorted(r.seen))
		})
	}
}

func selectionLogs() plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("password", "attr-pw")
	body := lr.Body().SetEmptyMap()
	body.PutStr("msg", "hello")
	user := body.PutEmptyMap("user")
	user.PutStr("card", "4111")
	user.PutStr("e.mail", "a@b.c")
	user.PutEmptySlice("cards").AppendEmpty().SetEmptyMap().PutStr("card", "in-slice")
	body.PutEmptyMap("e.mail").PutStr("x", "dotted")
	sl.LogRecords().AppendEmpty().Body().SetStr("plain body")
	sl.LogRecords().AppendEmpty() // empty body
	return ld
}

func TestSelectLogsBodyPaths(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []Pattern
		want     []string
	}{
		{"whole body of every record", keys("body"), []string{
			`logs/log_record/body#0=Map:{"e.mail":{"x":"dotted"},"msg":"hello","user":{"card":"4111","cards":[{"card":"in-slice"}],"e.mail":"a@b.c"}}`,
			`logs/log_record/body#0=Str:plain body`,
			`logs/log_record/body#0=Empty:`,
		}},
		{"nested path", keys("body.user.card"), []string{
			`logs/log_record/body["user"]["card"]#0=Str:4111`,
		}},
		{"a map on the path is shown whole", keys("body.user"), []string{
			`logs/log_record/body["user"]#0=Map:{"card":"4111","cards":[{"card":"in-slice"}],"e.mail":"a@b.c"}`,
		}},
		{"the outermost selected value wins", keys("body.user.card", "body.user"), []string{
			`logs/log_record/body["user"]#1=Map:{"card":"4111","cards":[{"card":"in-slice"}],"e.mail":"a@b.c"}`,
		}},
		{"quoted steps", keys(`body["e.mail"].x`, `body.user["e.mail"]`), []string{
			`logs/log_record/body["e.mail"]["x"]#0=Str:dotted`,
			`logs/log_record/body["user"]["e.mail"]#1=Str:a@b.c`,
		}},
		{"paths do not go through slices or strings", keys("body.user.cards.card", "body.msg.x"), nil},
		{"absent steps", keys("body.nope", "body.user.nope"), nil},
		{"attributes and body together", keys("password", "body.msg"), []string{
			`logs/log_record/attribute["password"]#0=Str:attr-pw`,
			`logs/log_record/body["msg"]#1=Str:hello`,
		}},
		{"an attribute pattern does not look into bodies", keys("card", "*card"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &valueRecorder{}
			var w Walker
			require.NoError(t, w.SelectLogs(context.Background(), selectionLogs(), mustSelector(t, tc.patterns...), r))
			assert.Equal(t, sorted(tc.want), sorted(r.seen))
		})
	}
}

func selectionMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	ms := sm.Metrics()
	g := ms.AppendEmpty()
	g.SetName("g")
	g.Metadata().PutStr("tenant.id", "meta")
	gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	gp.Attributes().PutStr("tenant.id", "gauge")
	gp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("tenant.id", "gauge-ex")
	ms.AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("tenant.id", "sum")
	h := ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	h.Attributes().PutStr("tenant.id", "hist")
	h.Exemplars().AppendEmpty().FilteredAttributes().PutStr("tenant.id", "hist-ex")
	e := ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	e.Attributes().PutStr("tenant.id", "exp")
	e.Exemplars().AppendEmpty().FilteredAttributes().PutStr("tenant.id", "exp-ex")
	ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty().Attributes().PutStr("tenant.id", "summary")
	ms.AppendEmpty() // a metric without type
	return md
}

func TestSelectMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []Pattern
		want     []string
	}{
		{"every metric type, exemplars and metadata", keys("tenant.id"), []string{
			`metrics/metric/attribute["tenant.id"]#0=Str:meta`,
			`metrics/datapoint/attribute["tenant.id"]#0=Str:gauge`,
			`metrics/exemplar/attribute["tenant.id"]#0=Str:gauge-ex`,
			`metrics/datapoint/attribute["tenant.id"]#0=Str:sum`,
			`metrics/datapoint/attribute["tenant.id"]#0=Str:hist`,
			`metrics/exemplar/attribute["tenant.id"]#0=Str:hist-ex`,
			`metrics/datapoint/attribute["tenant.id"]#0=Str:exp`,
			`metrics/exemplar/attribute["tenant.id"]#0=Str:exp-ex`,
			`metrics/datapoint/attribute["tenant.id"]#0=Str:summary`,
		}},
		{"exemplars only", []Pattern{{Key: "tenant.*", Levels: Levels(LevelExemplar)}}, []string{
			`metrics/exemplar/attribute["tenant.id"]#0=Str:gauge-ex`,
			`metrics/exemplar/attribute["tenant.id"]#0=Str:hist-ex`,
			`metrics/exemplar/attribute["tenant.id"]#0=Str:exp-ex`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &valueRecorder{}
			var w Walker
			require.NoError(t, w.SelectMetrics(context.Background(), selectionMetrics(), mustSelector(t, tc.patterns...), r))
			assert.Equal(t, sorted(tc.want), sorted(r.seen))
		})
	}
}

func TestSelectReplacesByAnotherType(t *testing.T) {
	ld := selectionLogs()
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().PutEmptyMap("profile").PutStr("ssn", "078-05-1120")
	lr.Attributes().PutInt("pin", 1234)
	sel := mustSelector(t, Pattern{Key: "profile"}, Pattern{Key: "password"}, Pattern{Key: "pin"}, Pattern{Key: "body.user.card"})
	// An "encryption": every selected value becomes a string, whatever it was.
	enc := ValueVisitorFunc(func(_ context.Context, _ *Location, v pcommon.Value) (Op, error) {
		v.SetStr("enc:" + v.Type().String() + ":" + v.AsString())
		return Replace, nil
	})
	var w Walker
	require.NoError(t, w.SelectLogs(context.Background(), ld, sel, enc))
	assert.Equal(t, map[string]any{
		"password": "enc:Str:attr-pw",
		"profile":  `enc:Map:{"ssn":"078-05-1120"}`,
		"pin":      "enc:Int:1234",
	}, lr.Attributes().AsRaw())
	card, _ := lr.Body().Map().Get("user")
	assert.Equal(t, "enc:Str:4111", card.Map().AsRaw()["card"])

	// A "decryption" restores the types.
	dec := ValueVisitorFunc(func(_ context.Context, _ *Location, v pcommon.Value) (Op, error) {
		switch v.Str() {
		case `enc:Map:{"ssn":"078-05-1120"}`:
			v.SetEmptyMap().PutStr("ssn", "078-05-1120")
		case "enc:Int:1234":
			v.SetInt(1234)
		default:
			v.SetStr(v.Str()[len("enc:Str:"):])
		}
		return Replace, nil
	})
	require.NoError(t, w.SelectLogs(context.Background(), ld, sel, dec))
	assert.Equal(t, map[string]any{
		"password": "attr-pw",
		"profile":  map[string]any{"ssn": "078-05-1120"},
		"pin":      int64(1234),
	}, lr.Attributes().AsRaw())
	assert.Equal(t, selectionLogs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().AsRaw(), lr.Body().AsRaw())

	// A whole body, from a string to a map.
	ld2 := plog.NewLogs()
	body := ld2.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body()
	body.SetStr("secret")
	toMap := ValueVisitorFunc(func(_ context.Context, _ *Location, v pcommon.Value) (Op, error) {
		was := v.Str()
		v.SetEmptyMap().PutStr("was", was)
		return Replace, nil
	})
	require.NoError(t, w.SelectLogs(context.Background(), ld2, mustSelector(t, Pattern{Key: "body"}), toMap))
	assert.Equal(t, map[string]any{"was": "secret"}, body.AsRaw())
}

func TestSelectDeletes(t *testing.T) {
	del := ValueVisitorFunc(func(context.Context, *Location, pcommon.Value) (Op, error) { return Delete, nil })
	var w Walker

	td := selectionTraces()
	require.NoError(t, w.SelectTraces(context.Background(), td, mustSelector(t, keys("password", "http.request.header.*")...), del))
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, []string{"api_key", "empty", "http.response.status_code", "tags", "user", "x.api_key"}, sortedKeys(sp.Attributes()))
	assert.Equal(t, []string{"service.name"}, sortedKeys(td.ResourceSpans().At(0).Resource().Attributes()))
	assert.Zero(t, sp.Events().At(0).Attributes().Len())
	assert.Zero(t, sp.Links().At(0).Attributes().Len())
	// The order of the remaining attributes is kept.
	var order []string
	for k := range sp.Attributes().All() {
		order = append(order, k)
	}
	assert.Equal(t, []string{"x.api_key", "api_key", "http.response.status_code", "user", "tags", "empty"}, order)

	ld := selectionLogs()
	require.NoError(t, w.SelectLogs(context.Background(), ld, mustSelector(t, keys("body.user.card", `body["e.mail"]`)...), del))
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.Equal(t, map[string]any{
		"msg":  "hello",
		"user": map[string]any{"e.mail": "a@b.c", "cards": []any{map[string]any{"card": "in-slice"}}},
	}, lrs.At(0).Body().AsRaw())

	require.NoError(t, w.SelectLogs(context.Background(), ld, mustSelector(t, Pattern{Key: "body"}), del))
	for i := 0; i < lrs.Len(); i++ {
		assert.Equal(t, pcommon.ValueTypeEmpty, lrs.At(i).Body().Type(), "a deleted body is emptied")
	}
	assert.Equal(t, 3, lrs.Len(), "deleting values never drops records")
}

func sortedKeys(m pcommon.Map) []string {
	var ks []string
	for k := range m.All() {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var errKMS = errors.New("kms: service unavailable")

func TestSelectErrorStopsTheWalk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		walk  func(w *Walker, sel *Selector, v ValueVisitor) error
		where string
		level Level
	}{
		{"traces", func(w *Walker, sel *Selector, v ValueVisitor) error {
			return w.SelectTraces(context.Background(), selectionTraces(), sel, v)
		}, `traces/scope/attribute["password"]`, LevelScope},
		{"logs body", func(w *Walker, sel *Selector, v ValueVisitor) error {
			return w.SelectLogs(context.Background(), selectionLogs(), mustSelector(t, keys("body.user.card", "body.msg")...), v)
		}, `logs/log_record/body["msg"]`, LevelLogRecord},
		{"metrics", func(w *Walker, sel *Selector, v ValueVisitor) error {
			return w.SelectMetrics(context.Background(), selectionMetrics(), mustSelector(t, Pattern{Key: "tenant.*", Levels: Levels(LevelDataPoint)}), v)
		}, `metrics/datapoint/attribute["tenant.id"]`, LevelDataPoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			// The first value is fine, the second fails: nothing after it may be shown.
			v := ValueVisitorFunc(func(context.Context, *Location, pcommon.Value) (Op, error) {
				calls++
				if calls == 2 {
					return Keep, errKMS
				}
				return Keep, nil
			})
			var w Walker
			err := tc.walk(&w, mustSelector(t, keys("password")...), v)
			require.Error(t, err)
			assert.ErrorIs(t, err, errKMS)
			var we *Error
			require.ErrorAs(t, err, &we)
			assert.Equal(t, tc.where, we.Where)
			assert.Equal(t, tc.level, we.Level)
			assert.Equal(t, "walk: "+tc.where+": "+errKMS.Error(), err.Error())
			assert.Equal(t, 2, calls, "the walk stops at the first error")

			// The Walker is usable again after an error.
			calls = -100
			require.NoError(t, tc.walk(&w, mustSelector(t, keys("password")...), v))
		})
	}
}

func TestSelectDuplicateKeysAreEachShown(t *testing.T) {
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{
		"attributes":[{"key":"password","value":{"stringValue":"a"}},{"key":"x","value":{"stringValue":"x"}},{"key":"password","value":{"stringValue":"b"}}],
		"body":{"kvlistValue":{"values":[{"key":"card","value":{"stringValue":"c1"}},{"key":"card","value":{"stringValue":"c2"}}]}}}]}]}]}`))
	require.NoError(t, err)
	var seen []string
	enc := ValueVisitorFunc(func(_ context.Context, _ *Location, v pcommon.Value) (Op, error) {
		seen = append(seen, v.Str())
		v.SetStr("enc")
		return Replace, nil
	})
	var w Walker
	require.NoError(t, w.SelectLogs(context.Background(), ld, mustSelector(t, keys("password", "body.card")...), enc))
	assert.ElementsMatch(t, []string{"a", "b", "c1", "c2"}, seen, "a repeated key must not pass unseen")

	del := ValueVisitorFunc(func(context.Context, *Location, pcommon.Value) (Op, error) { return Delete, nil })
	require.NoError(t, w.SelectLogs(context.Background(), ld, mustSelector(t, keys("password", "body.card")...), del))
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, map[string]any{"x": "x"}, lr.Attributes().AsRaw())
	assert.Equal(t, map[string]any{}, lr.Body().Map().AsRaw())
}

func TestSelectorNeedsAVisitor(t *testing.T) {
	var w Walker
	err := w.WalkLogs(context.Background(), selectionLogs(), Pass{Selector: mustSelector(t, keys("x")...)})
	require.ErrorIs(t, err, errSelectorWithoutVisitor)
}

func TestLocationAppendPath(t *testing.T) {
	var paths []string
	v := ValueVisitorFunc(func(_ context.Context, loc *Location, _ pcommon.Value) (Op, error) {
		paths = append(paths, string(loc.AppendPath(nil)))
		return Keep, nil
	})
	var w Walker
	require.NoError(t, w.SelectLogs(context.Background(), selectionLogs(),
		mustSelector(t, keys("password", "body.user.card", `body["e.mail"].x`)...), v))
	assert.ElementsMatch(t, []string{"password", "body.user.card", `body["e.mail"].x`}, paths)
	// Every path parses back as the pattern that names the same value.
	for _, p := range paths {
		require.NoError(t, Pattern{Key: p}.Validate(), p)
	}

	loc := &Location{Field: FieldName}
	assert.Equal(t, "name", string(loc.AppendPath(nil)))
	loc = &Location{Field: FieldAttribute, path: []PathElem{{Key: "a.b"}, {Key: "c d"}, {Index: 2, IsIndex: true}, {Key: "e"}}}
	assert.Equal(t, `a.b["c d"][2].e`, string(loc.AppendPath(nil)))
	buf := make([]byte, 0, 64)
	assert.Zero(t, testing.AllocsPerRun(10, func() { buf = loc.AppendPath(buf[:0]) }))
}
