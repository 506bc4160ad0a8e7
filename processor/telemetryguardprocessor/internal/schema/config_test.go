package schema

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func loadConfig(t *testing.T, id string) (Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(id)
	require.NoError(t, err)
	var cfg Config
	err = sub.Unmarshal(&cfg)
	return cfg, err
}

func TestConfigUnmarshal(t *testing.T) {
	tests := []struct {
		id      string
		want    Config
		wantErr string
	}{
		{
			id: "schema/full",
			want: Config{
				Files: []string{"testdata/rules.yaml"},
				Rules: []Rule{
					{Name: "ids", Keys: []string{"order.id", "request.id"}, Type: TypeString, MaxLength: 64},
					{Name: "tiers", Keys: []string{"acme.tier"}, Levels: []string{"resource", "span"}, AllowedValues: []any{"free", "pro"}, Action: ActionDropRecord},
					{Name: "codes", Keys: []string{"code"}, Type: TypeInt, AllowedValues: []any{200, 404}},
				},
				Semconv: SemconvConfig{Embedded: true, RegistryDir: "testdata/registry", Enums: EnumsClosed, Levels: []string{"resource", "span", "log_record"}},
				Actions: ActionsConfig{WrongType: ActionTag, TooLong: ActionDropAttribute, Deprecated: ActionRename},
			},
		},
		{id: "schema/empty", want: Config{}},
		{id: "schema/typo", wantErr: "tpye"},
		{id: "schema/bad_action", wantErr: `unknown action "hide"`},
		{id: "schema/bad_type", wantErr: `unknown type "integer"`},
		{id: "schema/bad_enums", wantErr: `unknown enum policy "strict" (want open or closed)`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.id)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
			require.NoError(t, cfg.Validate())
			_, err = Compile(cfg)
			require.NoError(t, err)
		})
	}
}

// TestConfigValidateReportsEverything: one error names every problem, each under its key.
func TestConfigValidateReportsEverything(t *testing.T) {
	cfg, err := loadConfig(t, "schema/invalid")
	require.NoError(t, err)
	err = cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`files[0]: empty path`,
		`files[2]: "a.yaml" is listed twice`,
		`rules[0].levels: must be given with required and max_attributes (e.g. levels: [resource])`,
		`rules[0].action: action "tag"`, // not reported: the default suits; see below
		`rules[1].forbidden: a forbidden key has no other checks`,
		`rules[3].name: "dup" is already the name of rules[2]`,
		`rules[4].max_length: 5 is too short to truncate (at least 16`,
		`semconv.levels: unknown level "spans"`,
		`semconv: enums and levels need a registry: embedded: true or registry_dir`,
		`actions.missing_required: action "truncate" does not suit missing_required (want tag, drop_record, keep)`,
	} {
		if want == `rules[0].action: action "tag"` {
			assert.NotContains(t, err.Error(), want)
			continue
		}
		assert.ErrorContains(t, err, want)
	}
}

func TestRuleProblems(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want string
	}{
		{"nothing", Rule{Keys: []string{"a"}}, "rules[0]: checks nothing"},
		{"empty key", Rule{Keys: []string{""}, Type: TypeInt}, "rules[0].keys[0]: empty key"},
		{"spaces", Rule{Keys: []string{" a"}, Type: TypeInt}, `rules[0].keys[0]: " a" has leading or trailing white space`},
		{"tag key", Rule{Keys: []string{TagKey}, Type: TypeInt}, "rules[0].keys[0]: warden.schema.violation is the guard's own tag"},
		{"twice", Rule{Keys: []string{"a", "a"}, Type: TypeInt}, `rules[0].keys[1]: "a" is listed twice`},
		{"required glob", Rule{Keys: []string{"a.*"}, Levels: []string{"span"}, Required: true}, `rules[0].keys[0]: "a.*" is a glob; required needs exact keys`},
		{"bad level", Rule{Keys: []string{"a"}, Type: TypeInt, Levels: []string{"log"}}, `rules[0].levels: unknown level "log"`},
		{"bad type", Rule{Keys: []string{"a"}, Type: "integer"}, `rules[0].type: unknown type "integer"`},
		{"negative length", Rule{Keys: []string{"a"}, MaxLength: -1}, "rules[0].max_length: must not be negative"},
		{"count with keys", Rule{Keys: []string{"a"}, Levels: []string{"span"}, MaxAttributes: 3}, "rules[0].max_attributes: counts whole maps"},
		{"type without keys", Rule{Type: TypeInt}, "rules[0].keys: must be given with required, forbidden, type and allowed_values"},
		{"length of an int", Rule{Keys: []string{"a"}, Type: TypeInt, MaxLength: 20}, "rules[0].max_length: applies to strings, not to type int"},
		{"mixed values", Rule{Keys: []string{"a"}, Type: TypeInt, AllowedValues: []any{1, "two"}}, "rules[0].allowed_values[1]: a string value where the type wants int"},
		{"map values", Rule{Keys: []string{"a"}, AllowedValues: []any{map[string]any{}}}, "rules[0].allowed_values[0]: map[] (map[string]interface {}) is not a string, number or bool"},
		{"values of a map", Rule{Keys: []string{"a"}, Type: TypeMap, AllowedValues: []any{"x"}}, "rules[0].allowed_values: a map value cannot be listed"},
		{"action unknown", Rule{Keys: []string{"a"}, Type: TypeInt, Action: "hide"}, `rules[0].action: unknown action "hide"`},
		{"action unsuited", Rule{Keys: []string{"a"}, Levels: []string{"span"}, Required: true, MaxLength: 40, Action: ActionTruncate}, `rules[0].action: action "truncate" does not suit missing_required (want tag, drop_record, keep); split the rule`},
		{"map_other", Rule{Keys: []string{"a"}, Type: TypeInt, Action: ActionMapOther}, `rules[0].action: unknown action "map_other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Rules: []Rule{tt.rule}}
			require.ErrorContains(t, cfg.Validate(), tt.want)
		})
	}
}

func TestRuleConflicts(t *testing.T) {
	cfg := Config{Rules: []Rule{
		{Keys: []string{"a"}, Type: TypeInt},
		{Keys: []string{"a"}, Levels: []string{"span"}, Type: TypeString},
		{Keys: []string{"a"}, Levels: []string{"log_record"}, Forbidden: true},
		{Keys: []string{"c"}, Levels: []string{"resource"}, Forbidden: true},
		{Keys: []string{"c"}, Levels: []string{"resource"}, Required: true},
		{Levels: []string{"span"}, MaxAttributes: 10},
		{Levels: []string{"span", "resource"}, MaxAttributes: 20},
		// Different checks of one key are not a conflict.
		{Keys: []string{"b"}, Type: TypeString},
		{Keys: []string{"b"}, MaxLength: 100},
	}}
	err := cfg.Validate()
	require.Error(t, err)
	assert.ErrorContains(t, err, `rules[1]: the wrong_type check of key "a" at level span is already set by rules[0]`)
	assert.ErrorContains(t, err, `rules[2]: key "a" at level log_record is both forbidden and checked`)
	assert.ErrorContains(t, err, `rules[4]: key "c" at level resource is both forbidden and checked`)
	assert.ErrorContains(t, err, `rules[6]: the too_many_attributes check of every key at level span is already set by rules[5]`)
	assert.NotContains(t, err.Error(), `"b"`)
}

func TestDefaultActions(t *testing.T) {
	def := DefaultActions()
	for r, a := range def.fields() {
		require.NoError(t, Reason(r).accepts(*a), Reason(r).String())
		assert.Equal(t, reasonActions[r][0], *a, "the default of %s comes first", Reason(r))
	}
	assert.Equal(t, def.resolve(), ActionsConfig{}.resolve(), "an empty field means the default")
}
