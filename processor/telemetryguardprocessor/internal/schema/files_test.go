package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/walk"
)

func TestRuleFile(t *testing.T) {
	tests := []struct {
		name      string
		level     walk.Level
		in        []kv
		want      map[string]any
		wantFound []string
		wantDrop  bool
	}{
		{
			name:  "a conforming resource",
			level: walk.LevelResource,
			in:    []kv{{"service.name", "checkout"}, {"deployment.environment.name", "production"}},
			want:  map[string]any{"service.name": "checkout", "deployment.environment.name": "production"},
		},
		{
			name:      "a resource without its environment, another with an unknown one",
			level:     walk.LevelResource,
			in:        []kv{{"service.name", "checkout"}, {"deployment.environment.name", "prod"}, {"db.password", "x"}},
			want:      map[string]any{"service.name": "checkout", "deployment.environment.name": "prod", TagKey: []any{"not_allowed_value:deployment.environment.name"}},
			wantFound: []string{"not_allowed_value/tag/deployment.environment.name", "forbidden_key/drop_attribute/db.password"},
		},
		{
			name:      "a span",
			level:     walk.LevelSpan,
			in:        []kv{{"http.route", "/" + string(make([]byte, 70))}, {"http.response.status_code", 299}, {"payments.api_key", "k"}},
			want:      map[string]any{"http.route": Truncate("/"+string(make([]byte, 70)), 64)},
			wantFound: []string{"too_long/truncate/http.route", "not_allowed_value/drop_attribute/http.response.status_code", "forbidden_key/drop_attribute/payments.api_key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verify(t, Config{Files: []string{"testdata/rules.yaml"}}, tt.level, tt.in, tt.want, tt.wantFound, tt.wantDrop)
		})
	}
}

// TestRuleFileErrors: every problem of every file at once, each with its file and line.
func TestRuleFileErrors(t *testing.T) {
	_, err := Compile(Config{Files: []string{"testdata/bad_rules.yaml", "testdata/missing.yaml"}})
	require.Error(t, err)
	for _, want := range []string{
		`testdata/bad_rules.yaml:5: rules[0].type: unknown type "strin"`,
		`testdata/bad_rules.yaml:6: rules[1].keys[0]: "http.*" is a glob; required needs exact keys`,
		`testdata/bad_rules.yaml:6: rules[1].levels: must be given with required and max_attributes`,
		`testdata/bad_rules.yaml:9: rules[2].max_length: 8 is too short to truncate`,
		`testdata/bad_rules.yaml:11: rules[3].tpye: unknown field "tpye" (want name, keys, levels, required, forbidden, type, allowed_values, max_length, max_attributes, action)`,
		`testdata/bad_rules.yaml:14: rules[4].action: unknown action "hide"`,
		`testdata/bad_rules.yaml:16: rules[5].allowed_values[1]: a string value where the type wants int`,
		`testdata/bad_rules.yaml:19: rules[6].max_attributes: must not be negative`,
		`files[1]: open testdata/missing.yaml: no such file or directory`,
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestRuleFileShapes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "empty rule file (want a `rules:` list)"},
		{"not yaml", "rules: [", "yaml: line 1"},
		{"a list", "- keys: [a]\n", ":1: want a mapping with a `rules:` list"},
		{"another key", "rules: []\nchecks: []\n", ":2: unknown key \"checks\" (a rule file holds `rules:` only)"},
		{"rules not a list", "rules: {keys: [a]}\n", ":1: want a `rules:` list"},
		{"a rule not a mapping", "rules:\n  - service.name\n", ":2: rules[0]: want a rule (a mapping)"},
		{"a bad value", "rules:\n  - keys: service.name\n    type: int\n", ":2: rules[0].keys: "},
		{"conflict with the configuration", "rules:\n  - name: mine\n    keys: [a]\n    type: string\n", ":2: rules[0]: the wrong_type check of key \"a\" at level resource is already set by rules[0]"},
		{"a name taken", "rules:\n  - name: inline\n    keys: [b]\n    type: string\n", ":2: rules[0].name: \"inline\" is already the name of rules[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "rules.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			_, err := Compile(Config{Files: []string{path}, Rules: []Rule{{Name: "inline", Keys: []string{"a"}, Type: TypeInt}}})
			require.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, path)
		})
	}
}
