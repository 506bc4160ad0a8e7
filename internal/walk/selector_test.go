package walk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		glob string
		yes  []string
		no   []string
	}{
		{"*.api_key", []string{"x.api_key", "a.b.api_key", ".api_key"}, []string{"api_key", "x.api_key2", "x_api_key"}},
		{"http.request.header.*", []string{"http.request.header.authorization", "http.request.header.", "http.request.header.a.b"}, []string{"http.request.header", "http.response.header.x"}},
		{"*token*", []string{"token", "access_token", "token.id", "x.token.y"}, []string{"tok", "toke.n"}},
		{"*", []string{"", "anything", "a.b.c"}, nil},
		{"a*b*c", []string{"abc", "a.b.c", "aXbYc", "abbc"}, []string{"ab", "acb", "a.c"}},
		{"a**b", []string{"ab", "a.b"}, []string{"a", "ba"}},
		{"ab*ab", []string{"abab", "ab.ab"}, []string{"ab", "aba"}},
	} {
		pp, err := parsePattern(Pattern{Key: tc.glob})
		require.NoError(t, err)
		g, exported := newGlob(pp.glob, 0), NewGlob(tc.glob)
		for _, k := range tc.yes {
			assert.True(t, g.Match(k), "%s should match %q", tc.glob, k)
			assert.True(t, exported.Match(k), "NewGlob(%s) should match %q", tc.glob, k)
		}
		for _, k := range tc.no {
			assert.False(t, g.Match(k), "%s should not match %q", tc.glob, k)
			assert.False(t, exported.Match(k), "NewGlob(%s) should not match %q", tc.glob, k)
		}
	}
}

func TestPatternValidate(t *testing.T) {
	for _, tc := range []struct {
		p       Pattern
		wantErr string // "" for valid
	}{
		{Pattern{Key: "password"}, ""},
		{Pattern{Key: "http.request.header.authorization", Levels: Levels(LevelSpan)}, ""},
		{Pattern{Key: "*.api_key"}, ""},
		{Pattern{Key: "body"}, ""},
		{Pattern{Key: "body.user.card"}, ""},
		{Pattern{Key: `body["e.mail"]`}, ""},
		{Pattern{Key: `body.user["e.mail"].x`}, ""},
		{Pattern{Key: "body.card", Levels: Levels(LevelLogRecord, LevelSpan)}, ""},
		{Pattern{Key: "bodyguard"}, ""}, // an attribute key
		{Pattern{Key: ""}, `pattern "": empty key`},
		{Pattern{Key: " password"}, `pattern " password": leading or trailing white space`},
		{Pattern{Key: "body."}, `pattern "body.": empty step in body path`},
		{Pattern{Key: "body..x"}, `pattern "body..x": empty step in body path`},
		{Pattern{Key: "body.*.card"}, `pattern "body.*.card": globs are not supported in body paths`},
		{Pattern{Key: "body[0]"}, `pattern "body[0]": a bracketed step must be a quoted map key`},
		{Pattern{Key: `body["x`}, `pattern "body[\"x": unterminated quoted step`},
		{Pattern{Key: `body["x"`}, `pattern "body[\"x\"": missing ] after "x"`},
		{Pattern{Key: `body["x"]y`}, `pattern "body[\"x\"]y": unexpected "y" in body path`},
		{Pattern{Key: "body.card", Levels: Levels(LevelSpan)}, `pattern "body.card": a body path selects log record bodies`},
		{Pattern{Key: "x", Levels: 1 << 15}, `pattern "x": unknown level`},
	} {
		err := tc.p.Validate()
		if tc.wantErr == "" {
			assert.NoError(t, err, tc.p.Key)
			continue
		}
		if assert.Error(t, err, tc.p.Key) {
			assert.Contains(t, err.Error(), tc.wantErr)
		}
	}
}

func TestCompileSelectorReportsEveryBadPattern(t *testing.T) {
	_, err := CompileSelector(Pattern{Key: "ok"}, Pattern{Key: ""}, Pattern{Key: "body..x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `patterns[1]: pattern "": empty key`)
	assert.Contains(t, err.Error(), `patterns[2]: pattern "body..x": empty step`)
	assert.NotContains(t, err.Error(), "patterns[0]")
}

func TestBodyPathSteps(t *testing.T) {
	for in, want := range map[string][]string{
		"body":                        nil,
		"body.user.card":              {"user", "card"},
		`body["e.mail"]`:              {"e.mail"},
		`body.user["a\"b"]["c d"].x`:  {"user", `a"b`, "c d", "x"},
		`body["http.request.header"]`: {"http.request.header"},
	} {
		pp, err := parsePattern(Pattern{Key: in})
		require.NoError(t, err, in)
		assert.True(t, pp.body)
		assert.Equal(t, want, pp.steps, in)
	}
}

func TestSelectorMatchPrefersTheLowestPattern(t *testing.T) {
	sel, err := CompileSelector(
		Pattern{Key: "*word"},                            // 0
		Pattern{Key: "password"},                         // 1
		Pattern{Key: "token", Levels: Levels(LevelSpan)}, // 2
		Pattern{Key: "*token"},                           // 3
		Pattern{Key: "token"},                            // 4
	)
	require.NoError(t, err)
	span := &sel.levels[LevelSpan]
	assert.Equal(t, 0, span.match("password"))
	assert.Equal(t, 2, span.match("token"))
	assert.Equal(t, 3, span.match("x.token"))
	assert.Equal(t, -1, span.match("other"))
	res := &sel.levels[LevelResource]
	assert.Equal(t, 3, res.match("token"), "the span-only pattern is not at this level")
	assert.True(t, sel.Selects(LevelExemplar))
	assert.False(t, sel.Selects(Level(200)))
	assert.Len(t, sel.Patterns(), 5)
}

func TestSelectorManyExactKeysWithGlobs(t *testing.T) {
	var ps []Pattern
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		ps = append(ps, Pattern{Key: k})
	}
	ps = append(ps, Pattern{Key: "x*"})
	sel, err := CompileSelector(ps...)
	require.NoError(t, err)
	lk := &sel.levels[LevelSpan]
	require.NotNil(t, lk.exactSet)
	assert.Equal(t, 8, lk.match("i"))
	assert.Equal(t, 9, lk.match("xy"))
	assert.Equal(t, -1, lk.match("j"))
}
