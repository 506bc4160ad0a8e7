package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/walk"
)

// kv is one attribute, for maps built in order.
type kv struct {
	k string
	v any
}

// newMap builds an attribute map in the order given (pcommon's FromRaw takes a Go map, whose
// order is random).
func newMap(t testing.TB, kvs ...kv) pcommon.Map {
	t.Helper()
	m := pcommon.NewMap()
	for _, e := range kvs {
		require.NoError(t, m.PutEmpty(e.k).FromRaw(e.v))
	}
	return m
}

// offenders renders a verdict's offenders as "reason/action/key".
func offenders(v *Verdict) []string {
	var out []string
	for _, o := range v.Offenders() {
		out = append(out, fmt.Sprintf("%s/%s/%s", o.Reason, o.Action, o.Key))
	}
	return out
}

func mustCompile(t testing.TB, cfg Config, opts ...Option) *Checker {
	t.Helper()
	c, err := Compile(cfg, opts...)
	require.NoError(t, err)
	return c
}

// TestCheckRules covers each kind of violation with each action that suits it.
func TestCheckRules(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name      string
		rules     []Rule
		actions   ActionsConfig
		level     walk.Level
		in        []kv
		want      map[string]any
		wantFound []string
		wantDrop  bool
	}{
		{
			name:  "required present",
			rules: []Rule{{Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true}},
			level: walk.LevelResource,
			in:    []kv{{"service.name", "checkout"}},
			want:  map[string]any{"service.name": "checkout"},
		},
		{
			name:      "required missing: tag by default",
			rules:     []Rule{{Keys: []string{"service.name", "service.version"}, Levels: []string{"resource"}, Required: true}},
			level:     walk.LevelResource,
			in:        []kv{{"service.version", "1.2"}},
			want:      map[string]any{"service.version": "1.2", TagKey: []any{"missing_required:service.name"}},
			wantFound: []string{"missing_required/tag/service.name"},
		},
		{
			name:      "required missing: drop_record leaves the map",
			rules:     []Rule{{Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true, Action: ActionDropRecord}},
			level:     walk.LevelResource,
			in:        []kv{{"host.name", "h"}},
			want:      map[string]any{"host.name": "h"},
			wantFound: []string{"missing_required/drop_record/service.name"},
			wantDrop:  true,
		},
		{
			name:      "required missing: keep",
			rules:     []Rule{{Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true}},
			actions:   ActionsConfig{MissingRequired: ActionKeep},
			level:     walk.LevelResource,
			in:        []kv{},
			want:      map[string]any{},
			wantFound: []string{"missing_required/keep/service.name"},
		},
		{
			name:      "required at another level is not checked",
			rules:     []Rule{{Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true}},
			level:     walk.LevelSpan,
			in:        []kv{{"a", "b"}},
			want:      map[string]any{"a": "b"},
			wantFound: nil,
		},
		{
			name:      "wrong type: drop_attribute by default",
			rules:     []Rule{{Keys: []string{"order.count"}, Type: TypeInt}},
			level:     walk.LevelSpan,
			in:        []kv{{"order.count", "3"}, {"order.id", "A1"}},
			want:      map[string]any{"order.id": "A1"},
			wantFound: []string{"wrong_type/drop_attribute/order.count"},
		},
		{
			name:      "wrong type: tag",
			rules:     []Rule{{Keys: []string{"order.count"}, Type: TypeInt, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{"order.count", 3.5}},
			want:      map[string]any{"order.count": 3.5, TagKey: []any{"wrong_type:order.count"}},
			wantFound: []string{"wrong_type/tag/order.count"},
		},
		{
			name:      "wrong type: drop_record",
			rules:     []Rule{{Keys: []string{"flag"}, Type: TypeBool}},
			actions:   ActionsConfig{WrongType: ActionDropRecord},
			level:     walk.LevelLogRecord,
			in:        []kv{{"flag", "true"}},
			want:      map[string]any{"flag": "true"},
			wantFound: []string{"wrong_type/drop_record/flag"},
			wantDrop:  true,
		},
		{
			name:  "types that match",
			rules: []Rule{{Keys: []string{"s"}, Type: TypeString}, {Keys: []string{"i"}, Type: TypeInt}, {Keys: []string{"d"}, Type: TypeDouble}, {Keys: []string{"b"}, Type: TypeBool}, {Keys: []string{"m"}, Type: TypeMap}, {Keys: []string{"sl"}, Type: TypeSlice}, {Keys: []string{"by"}, Type: TypeBytes}, {Keys: []string{"ia", "empty"}, Type: TypeIntArray}, {Keys: []string{"sa"}, Type: TypeStringArray}, {Keys: []string{"da"}, Type: TypeDoubleArray}, {Keys: []string{"ba"}, Type: TypeBoolArray}},
			level: walk.LevelSpan,
			in:    []kv{{"s", "x"}, {"i", 1}, {"d", 1.5}, {"b", true}, {"m", map[string]any{"k": "v"}}, {"sl", []any{"a", 1}}, {"by", []byte{1}}, {"ia", []any{1, 2}}, {"empty", []any{}}, {"sa", []any{"a"}}, {"da", []any{0.5}}, {"ba", []any{false}}},
			want:  map[string]any{"s": "x", "i": int64(1), "d": 1.5, "b": true, "m": map[string]any{"k": "v"}, "sl": []any{"a", int64(1)}, "by": []byte{1}, "ia": []any{int64(1), int64(2)}, "empty": []any{}, "sa": []any{"a"}, "da": []any{0.5}, "ba": []any{false}},
		},
		{
			name:      "an array of mixed elements is not an int array",
			rules:     []Rule{{Keys: []string{"ports"}, Type: TypeIntArray}},
			level:     walk.LevelSpan,
			in:        []kv{{"ports", []any{80, "443"}}},
			want:      map[string]any{},
			wantFound: []string{"wrong_type/drop_attribute/ports"},
		},
		{
			name:      "allowed strings: drop_attribute by default",
			rules:     []Rule{{Keys: []string{"env"}, AllowedValues: []any{"production", "staging"}}},
			level:     walk.LevelResource,
			in:        []kv{{"env", "prod"}, {"host", "h"}},
			want:      map[string]any{"host": "h"},
			wantFound: []string{"not_allowed_value/drop_attribute/env"},
		},
		{
			name:  "allowed strings: a member passes",
			rules: []Rule{{Keys: []string{"env"}, AllowedValues: []any{"production", "staging"}}},
			level: walk.LevelResource,
			in:    []kv{{"env", "staging"}},
			want:  map[string]any{"env": "staging"},
		},
		{
			name:      "allowed ints are matched by type",
			rules:     []Rule{{Keys: []string{"code"}, AllowedValues: []any{200, 404}, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{"code", 200}, {"code2", 1}},
			want:      map[string]any{"code": int64(200), "code2": int64(1)},
			wantFound: nil,
		},
		{
			name:      "allowed ints: a string is not allowed",
			rules:     []Rule{{Keys: []string{"code"}, AllowedValues: []any{200, 404}, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{"code", "200"}},
			want:      map[string]any{"code": "200", TagKey: []any{"not_allowed_value:code"}},
			wantFound: []string{"not_allowed_value/tag/code"},
		},
		{
			name:  "allowed doubles given as integers",
			rules: []Rule{{Keys: []string{"ratio"}, Type: TypeDouble, AllowedValues: []any{0, 1, 0.5}}},
			level: walk.LevelSpan,
			in:    []kv{{"ratio", 1.0}},
			want:  map[string]any{"ratio": 1.0},
		},
		{
			name:      "allowed values: every element of an array",
			rules:     []Rule{{Keys: []string{"regions"}, Type: TypeStringArray, AllowedValues: []any{"eu", "us"}}},
			actions:   ActionsConfig{NotAllowedValue: ActionDropRecord},
			level:     walk.LevelSpan,
			in:        []kv{{"regions", []any{"eu", "mars"}}},
			want:      map[string]any{"regions": []any{"eu", "mars"}},
			wantFound: []string{"not_allowed_value/drop_record/regions"},
			wantDrop:  true,
		},
		{
			name:      "allowed bools",
			rules:     []Rule{{Keys: []string{"ok"}, AllowedValues: []any{true}}},
			actions:   ActionsConfig{NotAllowedValue: ActionKeep},
			level:     walk.LevelSpan,
			in:        []kv{{"ok", false}},
			want:      map[string]any{"ok": false},
			wantFound: []string{"not_allowed_value/keep/ok"},
		},
		{
			name:      "too long: truncate by default",
			rules:     []Rule{{Keys: []string{"url.path"}, MaxLength: 20}},
			level:     walk.LevelSpan,
			in:        []kv{{"url.path", long}},
			want:      map[string]any{"url.path": Truncate(long, 20)},
			wantFound: []string{"too_long/truncate/url.path"},
		},
		{
			name:      "too long: each string of an array",
			rules:     []Rule{{Keys: []string{"args"}, MaxLength: 20}},
			level:     walk.LevelSpan,
			in:        []kv{{"args", []any{"short", long, 7}}},
			want:      map[string]any{"args": []any{"short", Truncate(long, 20), int64(7)}},
			wantFound: []string{"too_long/truncate/args"},
		},
		{
			name:      "too long: drop_attribute",
			rules:     []Rule{{Keys: []string{"url.path"}, MaxLength: 20, Action: ActionDropAttribute}},
			level:     walk.LevelSpan,
			in:        []kv{{"url.path", long}, {"a", "b"}},
			want:      map[string]any{"a": "b"},
			wantFound: []string{"too_long/drop_attribute/url.path"},
		},
		{
			name:      "too long: tag",
			rules:     []Rule{{Keys: []string{"url.path"}, MaxLength: 20}},
			actions:   ActionsConfig{TooLong: ActionTag},
			level:     walk.LevelSpan,
			in:        []kv{{"url.path", long}},
			want:      map[string]any{"url.path": long, TagKey: []any{"too_long:url.path"}},
			wantFound: []string{"too_long/tag/url.path"},
		},
		{
			name:      "too long: drop_record",
			rules:     []Rule{{Keys: []string{"url.path"}, MaxLength: 20, Action: ActionDropRecord}},
			level:     walk.LevelSpan,
			in:        []kv{{"url.path", long}},
			want:      map[string]any{"url.path": long},
			wantFound: []string{"too_long/drop_record/url.path"},
			wantDrop:  true,
		},
		{
			name:      "a level's length bound applies to keys without their own",
			rules:     []Rule{{Levels: []string{"log_record"}, MaxLength: 16}, {Keys: []string{"stack"}, MaxLength: 100}},
			level:     walk.LevelLogRecord,
			in:        []kv{{"msg", long}, {"stack", long}, {"n", 12345678901234567}},
			want:      map[string]any{"msg": Truncate(long, 16), "stack": long, "n": int64(12345678901234567)},
			wantFound: []string{"too_long/truncate/msg"},
		},
		{
			name:      "forbidden exact key: drop_attribute by default",
			rules:     []Rule{{Keys: []string{"user.password"}, Forbidden: true}},
			level:     walk.LevelLogRecord,
			in:        []kv{{"user.password", "hunter2"}, {"user.id", "42"}},
			want:      map[string]any{"user.id": "42"},
			wantFound: []string{"forbidden_key/drop_attribute/user.password"},
		},
		{
			name:  "forbidden globs",
			rules: []Rule{{Keys: []string{"*password*", "*.api_key", "internal.*", "a*b*c"}, Forbidden: true}},
			level: walk.LevelSpan,
			in: []kv{
				{"db.password.hash", 1}, {"payments.api_key", "k"}, {"internal.debug", true}, {"axxbyyc", 1},
				{"api_key", "kept"}, {"internal", "kept"}, {"acb", "kept"}, {"user.id", "kept"},
			},
			want: map[string]any{"api_key": "kept", "internal": "kept", "acb": "kept", "user.id": "kept"},
			wantFound: []string{
				"forbidden_key/drop_attribute/db.password.hash", "forbidden_key/drop_attribute/payments.api_key",
				"forbidden_key/drop_attribute/internal.debug", "forbidden_key/drop_attribute/axxbyyc",
			},
		},
		{
			name:      "forbidden: tag",
			rules:     []Rule{{Keys: []string{"debug.*"}, Forbidden: true, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{"debug.sql", "select 1"}},
			want:      map[string]any{"debug.sql": "select 1", TagKey: []any{"forbidden_key:debug.sql"}},
			wantFound: []string{"forbidden_key/tag/debug.sql"},
		},
		{
			name:      "forbidden: drop_record",
			rules:     []Rule{{Keys: []string{"debug.sql"}, Forbidden: true}},
			actions:   ActionsConfig{ForbiddenKey: ActionDropRecord},
			level:     walk.LevelSpan,
			in:        []kv{{"debug.sql", "select 1"}},
			want:      map[string]any{"debug.sql": "select 1"},
			wantFound: []string{"forbidden_key/drop_record/debug.sql"},
			wantDrop:  true,
		},
		{
			name:      "a forbidden key is not checked further",
			rules:     []Rule{{Keys: []string{"secret.*"}, Forbidden: true}, {Levels: []string{"span"}, MaxLength: 16}},
			level:     walk.LevelSpan,
			in:        []kv{{"secret.token", long}},
			want:      map[string]any{},
			wantFound: []string{"forbidden_key/drop_attribute/secret.token"},
		},
		{
			name:      "too many attributes: drop_attribute keeps the first, required keys first",
			rules:     []Rule{{Levels: []string{"resource"}, MaxAttributes: 3}, {Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true}},
			level:     walk.LevelResource,
			in:        []kv{{"a", 1}, {"b", 2}, {"c", 3}, {"service.name", "s"}, {"d", 4}},
			want:      map[string]any{"a": int64(1), "b": int64(2), "service.name": "s"},
			wantFound: []string{"too_many_attributes/drop_attribute/"},
		},
		{
			name:      "too many attributes: counted after the other drops",
			rules:     []Rule{{Levels: []string{"span"}, MaxAttributes: 2}, {Keys: []string{"x.*"}, Forbidden: true}},
			level:     walk.LevelSpan,
			in:        []kv{{"a", 1}, {"x.1", 2}, {"b", 3}},
			want:      map[string]any{"a": int64(1), "b": int64(3)},
			wantFound: []string{"forbidden_key/drop_attribute/x.1"},
		},
		{
			name:      "too many attributes: tag, the tag itself not counted",
			rules:     []Rule{{Levels: []string{"span"}, MaxAttributes: 2, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{"a", 1}, {"b", 2}, {"c", 3}},
			want:      map[string]any{"a": int64(1), "b": int64(2), "c": int64(3), TagKey: []any{"too_many_attributes"}},
			wantFound: []string{"too_many_attributes/tag/"},
		},
		{
			name:      "too many attributes: drop_record",
			rules:     []Rule{{Levels: []string{"datapoint"}, MaxAttributes: 1}},
			actions:   ActionsConfig{TooManyAttributes: ActionDropRecord},
			level:     walk.LevelDataPoint,
			in:        []kv{{"a", 1}, {"b", 2}},
			want:      map[string]any{"a": int64(1), "b": int64(2)},
			wantFound: []string{"too_many_attributes/drop_record/"},
			wantDrop:  true,
		},
		{
			name:      "a drop_record leaves the other violations' changes unmade",
			rules:     []Rule{{Keys: []string{"a"}, Forbidden: true}, {Keys: []string{"b"}, Type: TypeInt, Action: ActionDropRecord}, {Keys: []string{"c"}, MaxLength: 16}},
			level:     walk.LevelSpan,
			in:        []kv{{"a", 1}, {"b", "x"}, {"c", long}},
			want:      map[string]any{"a": int64(1), "b": "x", "c": long},
			wantFound: []string{"forbidden_key/drop_attribute/a", "wrong_type/drop_record/b", "too_long/truncate/c"},
			wantDrop:  true,
		},
		{
			name:      "glob rules check values",
			rules:     []Rule{{Keys: []string{"*.count"}, Type: TypeInt}},
			level:     walk.LevelSpan,
			in:        []kv{{"retry.count", "2"}, {"item.count", 3}},
			want:      map[string]any{"item.count": int64(3)},
			wantFound: []string{"wrong_type/drop_attribute/retry.count"},
		},
		{
			name:      "several tags in order, once each",
			rules:     []Rule{{Keys: []string{"a", "b"}, Type: TypeInt, Action: ActionTag}, {Keys: []string{"c"}, Levels: []string{"span"}, Required: true}},
			level:     walk.LevelSpan,
			in:        []kv{{"a", "1"}, {"b", "2"}, {TagKey, []any{"wrong_type:a", "from:upstream"}}},
			want:      map[string]any{"a": "1", "b": "2", TagKey: []any{"wrong_type:a", "from:upstream", "wrong_type:b", "missing_required:c"}},
			wantFound: []string{"wrong_type/tag/a", "wrong_type/tag/b", "missing_required/tag/c"},
		},
		{
			name:      "a tag of another type becomes the first entry",
			rules:     []Rule{{Keys: []string{"a"}, Type: TypeInt, Action: ActionTag}},
			level:     walk.LevelSpan,
			in:        []kv{{TagKey, "upstream"}, {"a", "1"}},
			want:      map[string]any{"a": "1", TagKey: []any{"upstream", "wrong_type:a"}},
			wantFound: []string{"wrong_type/tag/a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verify(t, Config{Rules: tt.rules, Actions: tt.actions}, tt.level, tt.in, tt.want, tt.wantFound, tt.wantDrop)
		})
	}
}

// verify checks the map made of in at level with cfg, in enforce mode, then in report mode,
// which must find the same and change nothing. It returns the enforce mode's verdict.
func verify(t *testing.T, cfg Config, level walk.Level, in []kv, want map[string]any, wantFound []string, wantDrop bool) *Verdict {
	t.Helper()
	m := newMap(t, in...)
	var v Verdict
	mustCompile(t, cfg).Check(level, m, &v)
	assert.Equal(t, want, m.AsRaw())
	assert.Equal(t, wantFound, offenders(&v))
	assert.Equal(t, wantDrop, v.Drop)
	assert.Equal(t, len(wantFound), v.Total())
	assert.Equal(t, !wantDrop && len(wantFound) > 0 && !allKeep(&v), v.Changed)

	m = newMap(t, in...)
	var rv Verdict
	mustCompile(t, cfg, ReportOnly(true)).Check(level, m, &rv)
	assert.True(t, newMap(t, in...).Equal(m), "report mode changed the map: %v", m.AsRaw())
	assert.Equal(t, wantFound, offenders(&rv))
	assert.False(t, rv.Drop)
	assert.False(t, rv.Changed)
	return &v
}

func allKeep(v *Verdict) bool {
	for _, o := range v.Offenders() {
		if o.Action != ActionKeep {
			return false
		}
	}
	return true
}

func TestTagIsBounded(t *testing.T) {
	keys := make([]string, 12)
	in := make([]kv, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
		in[i] = kv{keys[i], "not an int"}
	}
	long := strings.Repeat("é", 100) // 200 bytes
	c := mustCompile(t, Config{Rules: []Rule{
		{Keys: keys, Type: TypeInt, Action: ActionTag},
		{Keys: []string{long}, Type: TypeInt, Action: ActionTag},
	}})
	m := newMap(t, append([]kv{{long, "x"}}, in...)...)
	var v Verdict
	c.Check(walk.LevelSpan, m, &v)
	tag, ok := m.Get(TagKey)
	require.True(t, ok)
	require.Equal(t, MaxTagEntries, tag.Slice().Len())
	first := tag.Slice().At(0).Str()
	assert.Equal(t, "wrong_type:"+strings.Repeat("é", maxTagKeyLen/2), first, "the key is cut at a character boundary")
	assert.Equal(t, 13, v.Total())
	assert.Len(t, v.Offenders(), 13)
}

func TestVerdictBoundsOffenders(t *testing.T) {
	var keys []string
	var in []kv
	for i := range MaxOffenders + 5 {
		k := fmt.Sprintf("k%d", i)
		keys = append(keys, k)
		in = append(in, kv{k, 1})
	}
	c := mustCompile(t, Config{Rules: []Rule{{Keys: keys, Forbidden: true}}})
	var v Verdict
	c.Check(walk.LevelSpan, newMap(t, in...), &v)
	assert.Len(t, v.Offenders(), MaxOffenders)
	assert.Equal(t, 5, v.MoreOffenders())
	assert.Equal(t, MaxOffenders+5, v.Found(ReasonForbiddenKey))
	assert.Equal(t, MaxOffenders+5, v.Count(ReasonForbiddenKey, ActionDropAttribute))
	assert.Equal(t, 0, v.Count(ReasonForbiddenKey, ActionTag))
	assert.Equal(t, 0, v.Count(ReasonForbiddenKey, "nonsense"))
	v.Reset()
	assert.Equal(t, Verdict{}, v)
}

// TestVerdictAccumulates: one Verdict collects a record's maps (its resource, then itself)
// until Reset.
func TestVerdictAccumulates(t *testing.T) {
	c := mustCompile(t, Config{Rules: []Rule{
		{Name: "svc", Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true, Action: ActionDropRecord},
		{Name: "ids", Keys: []string{"id"}, Type: TypeString},
	}})
	var v Verdict
	c.Check(walk.LevelResource, newMap(t), &v)
	c.Check(walk.LevelSpan, newMap(t, kv{"id", 1}), &v)
	assert.True(t, v.Drop)
	assert.Equal(t, []Offender{
		{Reason: ReasonMissingRequired, Action: ActionDropRecord, Rule: "svc", Key: "service.name", Level: walk.LevelResource},
		{Reason: ReasonWrongType, Action: ActionDropAttribute, Rule: "ids", Key: "id", Level: walk.LevelSpan},
	}, v.Offenders())
	assert.Equal(t, 2, v.Total())
}

func TestChecksAndLevels(t *testing.T) {
	c := mustCompile(t, Config{Rules: []Rule{{Keys: []string{"a"}, Levels: []string{"span", "datapoint"}, Type: TypeInt}}})
	assert.True(t, c.Checks(walk.LevelSpan))
	assert.True(t, c.Checks(walk.LevelDataPoint))
	assert.False(t, c.Checks(walk.LevelResource))
	assert.False(t, c.Checks(walk.Level(200)))
	m := newMap(t, kv{"a", "x"})
	var v Verdict
	c.Check(walk.Level(200), m, &v) // an unknown level checks nothing
	c.Check(walk.LevelLogRecord, m, &v)
	assert.Equal(t, 0, v.Total())

	empty := mustCompile(t, Config{})
	for l := range walk.Level(numLevels) {
		assert.False(t, empty.Checks(l))
	}
	assert.False(t, empty.ReportOnly())
	assert.True(t, mustCompile(t, Config{}, ReportOnly(true)).ReportOnly())
}

func TestRuleNames(t *testing.T) {
	c := mustCompile(t, Config{
		Rules: []Rule{{Keys: []string{"a"}, Type: TypeInt}, {Name: "named", Keys: []string{"b"}, Type: TypeInt}},
		Files: []string{"testdata/rules.yaml"},
	})
	var v Verdict
	c.Check(walk.LevelSpan, newMap(t, kv{"a", "x"}, kv{"b", "x"}, kv{"http.response.status_code", 299}), &v)
	c.Check(walk.LevelSpan, newMap(t, kv{"x", strings.Repeat("y", 5000)}), &v)
	var rules []string
	for _, o := range v.Offenders() {
		rules = append(rules, o.Rule)
	}
	assert.Equal(t, []string{"rules[0]", "named", "status-codes", "rules.yaml:rules[5]"}, rules)
}

func TestReasonsAndActions(t *testing.T) {
	var names []string
	for _, r := range Reasons() {
		names = append(names, r.String())
	}
	assert.Equal(t, []string{"missing_required", "wrong_type", "not_allowed_value", "too_many_attributes", "too_long", "forbidden_key", "deprecated"}, names)
	assert.Len(t, Reasons(), NumReasons)
	assert.Equal(t, "unknown", Reason(99).String())
	assert.Len(t, Actions(), numActions)
	for _, a := range Actions() {
		assert.Equal(t, a, Actions()[a.index()])
	}
	var a Action
	require.NoError(t, a.UnmarshalText([]byte("drop_record")))
	assert.Equal(t, ActionDropRecord, a)
	require.ErrorContains(t, a.UnmarshalText([]byte("map_other")), `unknown action "map_other"`)
	var vt ValueType
	require.NoError(t, vt.UnmarshalText([]byte("boolean[]")))
	assert.Equal(t, TypeBoolArray, vt)
}
