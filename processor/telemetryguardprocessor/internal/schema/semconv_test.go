package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/walk"
)

// TestSemconv checks attributes against the embedded registry (v1.44.0), and against the
// registry of testdata/registry where the case says so.
func TestSemconv(t *testing.T) {
	embedded := SemconvConfig{Embedded: true}
	own := SemconvConfig{RegistryDir: "testdata/registry"}
	both := SemconvConfig{Embedded: true, RegistryDir: "testdata/registry"}
	tests := []struct {
		name      string
		semconv   SemconvConfig
		actions   ActionsConfig
		rules     []Rule
		in        []kv
		want      map[string]any
		wantFound []string
	}{
		{
			name:    "a known method passes",
			semconv: embedded,
			in:      []kv{{"http.request.method", "GET"}, {"http.response.status_code", 200}},
			want:    map[string]any{"http.request.method": "GET", "http.response.status_code": int64(200)},
		},
		{
			name:      "an unknown method becomes _OTHER, the original kept",
			semconv:   embedded,
			in:        []kv{{"http.request.method", "PURGE"}},
			want:      map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "PURGE"},
			wantFound: []string{"not_allowed_value/map_other/http.request.method"},
		},
		{
			name:      "methods are case-sensitive",
			semconv:   embedded,
			in:        []kv{{"http.request.method", "get"}},
			want:      map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "get"},
			wantFound: []string{"not_allowed_value/map_other/http.request.method"},
		},
		{
			name:      "an original the sender kept is not replaced",
			semconv:   embedded,
			in:        []kv{{"http.request.method", "get"}, {"http.request.method_original", "GeT"}},
			want:      map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "GeT"},
			wantFound: []string{"not_allowed_value/map_other/http.request.method"},
		},
		{
			name:      "_OTHER is taken whatever not_allowed_value says",
			semconv:   embedded,
			actions:   ActionsConfig{NotAllowedValue: ActionDropRecord},
			in:        []kv{{"http.request.method", "PURGE"}},
			want:      map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "PURGE"},
			wantFound: []string{"not_allowed_value/map_other/http.request.method"},
		},
		{
			name:      "a method of another type is a wrong type",
			semconv:   embedded,
			in:        []kv{{"http.request.method", 1}},
			want:      map[string]any{},
			wantFound: []string{"wrong_type/drop_attribute/http.request.method"},
		},
		{
			name:      "the status code must be an int",
			semconv:   embedded,
			in:        []kv{{"http.response.status_code", "200"}, {"url.path", "/"}},
			want:      map[string]any{"url.path": "/"},
			wantFound: []string{"wrong_type/drop_attribute/http.response.status_code"},
		},
		{
			name:      "a double is not an int",
			semconv:   embedded,
			actions:   ActionsConfig{WrongType: ActionTag},
			in:        []kv{{"http.response.status_code", 200.0}},
			want:      map[string]any{"http.response.status_code": 200.0, TagKey: []any{"wrong_type:http.response.status_code"}},
			wantFound: []string{"wrong_type/tag/http.response.status_code"},
		},
		{
			name:    "a string[] attribute",
			semconv: embedded,
			in:      []kv{{"process.command_args", []any{"cmd", "--verbose"}}, {"aws.dynamodb.table_names", []any{}}},
			want:    map[string]any{"process.command_args": []any{"cmd", "--verbose"}, "aws.dynamodb.table_names": []any{}},
		},
		{
			name:      "a string[] attribute given a string or mixed elements",
			semconv:   embedded,
			actions:   ActionsConfig{WrongType: ActionKeep},
			in:        []kv{{"process.command_args", "cmd --verbose"}, {"aws.dynamodb.table_names", []any{"a", 1}}},
			want:      map[string]any{"process.command_args": "cmd --verbose", "aws.dynamodb.table_names": []any{"a", int64(1)}},
			wantFound: []string{"wrong_type/keep/process.command_args", "wrong_type/keep/aws.dynamodb.table_names"},
		},
		{
			name:      "template attributes: header values are string arrays",
			semconv:   embedded,
			in:        []kv{{"http.request.header.content-type", []any{"application/json"}}, {"http.request.header.x-forwarded-for", "1.2.3.4"}, {"k8s.pod.label.app.kubernetes.io/name", "web"}},
			want:      map[string]any{"http.request.header.content-type": []any{"application/json"}, "k8s.pod.label.app.kubernetes.io/name": "web"},
			wantFound: []string{"wrong_type/drop_attribute/http.request.header.x-forwarded-for"},
		},
		{
			name:    "keys the registry does not define pass",
			semconv: embedded,
			in:      []kv{{"order.id", 42}, {"http", "x"}, {"http.request", 1}, {"", ""}},
			want:    map[string]any{"order.id": int64(42), "http": "x", "http.request": int64(1), "": ""},
		},
		{
			name:    "enums are open by default",
			semconv: embedded,
			in:      []kv{{"cloud.provider", "my-cloud"}, {"error.type", "timeout"}, {"db.system.name", "mydb"}},
			want:    map[string]any{"cloud.provider": "my-cloud", "error.type": "timeout", "db.system.name": "mydb"},
		},
		{
			name:      "closed enums",
			semconv:   SemconvConfig{Embedded: true, Enums: EnumsClosed},
			in:        []kv{{"cloud.provider", "my-cloud"}, {"cloud.platform", "aws_ec2"}},
			want:      map[string]any{"cloud.platform": "aws_ec2"},
			wantFound: []string{"not_allowed_value/drop_attribute/cloud.provider"},
		},
		{
			name:      "closed enums: _OTHER without an _original attribute",
			semconv:   SemconvConfig{Embedded: true, Enums: EnumsClosed},
			in:        []kv{{"error.type", "timeout"}},
			want:      map[string]any{"error.type": "_OTHER"},
			wantFound: []string{"not_allowed_value/map_other/error.type"},
		},
		{
			name:      "a deprecated enum member is reported and kept by default",
			semconv:   embedded,
			in:        []kv{{"cpu.mode", "kernel"}},
			want:      map[string]any{"cpu.mode": "kernel"},
			wantFound: []string{"deprecated/keep/cpu.mode"},
		},
		{
			name:      "a deprecated enum member renamed",
			semconv:   embedded,
			actions:   ActionsConfig{Deprecated: ActionRename},
			in:        []kv{{"cpu.mode", "kernel"}, {"cloud.platform", "azure_vm"}, {"browser.web_vital.name", "fid"}},
			want:      map[string]any{"cpu.mode": "system", "cloud.platform": "azure.vm", "browser.web_vital.name": "fid"},
			wantFound: []string{"deprecated/rename/cpu.mode", "deprecated/rename/cloud.platform", "deprecated/keep/browser.web_vital.name"},
		},
		{
			name:      "a deprecated attribute is reported and kept by default",
			semconv:   own,
			in:        []kv{{"acme.customer.segment", "smb"}, {"acme.legacy.flag", true}},
			want:      map[string]any{"acme.customer.segment": "smb", "acme.legacy.flag": true},
			wantFound: []string{"deprecated/keep/acme.customer.segment", "deprecated/keep/acme.legacy.flag"},
		},
		{
			name:      "a deprecated attribute renamed where the registry names its successor",
			semconv:   own,
			actions:   ActionsConfig{Deprecated: ActionRename},
			in:        []kv{{"acme.customer.segment", "smb"}, {"acme.legacy.flag", true}, {"acme.region", "eu"}},
			want:      map[string]any{"acme.customer.tier": "smb", "acme.legacy.flag": true, "acme.region": "eu"},
			wantFound: []string{"deprecated/rename/acme.customer.segment", "deprecated/keep/acme.legacy.flag"},
		},
		{
			name:      "renaming onto a key present keeps the present one",
			semconv:   own,
			actions:   ActionsConfig{Deprecated: ActionRename},
			in:        []kv{{"acme.customer.segment", "smb"}, {"acme.customer.tier", "enterprise"}},
			want:      map[string]any{"acme.customer.tier": "enterprise"},
			wantFound: []string{"deprecated/rename/acme.customer.segment"},
		},
		{
			name:      "deprecated attributes dropped or tagged",
			semconv:   own,
			actions:   ActionsConfig{Deprecated: ActionTag},
			in:        []kv{{"acme.legacy.flag", true}},
			want:      map[string]any{"acme.legacy.flag": true, TagKey: []any{"deprecated:acme.legacy.flag"}},
			wantFound: []string{"deprecated/tag/acme.legacy.flag"},
		},
		{
			name:      "a user's registry: allow_custom_values false closes the enum, a deprecated member renamed",
			semconv:   own,
			actions:   ActionsConfig{Deprecated: ActionRename, NotAllowedValue: ActionTag},
			in:        []kv{{"acme.tenant.tier", "gold"}, {"acme.order.count", "3"}, {"acme.cart.size", 2}},
			want:      map[string]any{"acme.tenant.tier": "pro", "acme.cart.size": int64(2)},
			wantFound: []string{"deprecated/rename/acme.tenant.tier", "wrong_type/drop_attribute/acme.order.count"},
		},
		{
			name:      "a user's registry: a value outside a closed enum",
			semconv:   own,
			actions:   ActionsConfig{NotAllowedValue: ActionTag},
			in:        []kv{{"acme.tenant.tier", "platinum"}},
			want:      map[string]any{"acme.tenant.tier": "platinum", TagKey: []any{"not_allowed_value:acme.tenant.tier"}},
			wantFound: []string{"not_allowed_value/tag/acme.tenant.tier"},
		},
		{
			name:      "a user's registry: int enums, definition/2 files and templates",
			semconv:   own,
			in:        []kv{{"acme.shard.priority", 1}, {"acme.region", 3}, {"acme.label.team", "payments"}, {"acme.label.cost", 7}},
			want:      map[string]any{"acme.shard.priority": int64(1), "acme.label.team": "payments"},
			wantFound: []string{"wrong_type/drop_attribute/acme.region", "wrong_type/drop_attribute/acme.label.cost"},
		},
		{
			name:    "a user's registry alone does not know the embedded attributes",
			semconv: own,
			in:      []kv{{"http.request.method", "PURGE"}, {"http.response.status_code", "200"}},
			want:    map[string]any{"http.request.method": "PURGE", "http.response.status_code": "200"},
		},
		{
			name:      "a user's registry over the embedded one: its definition wins",
			semconv:   both,
			in:        []kv{{"http.request.method", "PURGE"}, {"http.response.status_code", "200"}, {"acme.order.count", 1}},
			want:      map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "PURGE", "http.response.status_code": "200", "acme.order.count": int64(1)},
			wantFound: []string{"not_allowed_value/map_other/http.request.method"},
		},
		{
			name:    "a rule's type and values take the place of the registry's",
			semconv: embedded,
			rules: []Rule{
				{Keys: []string{"http.response.status_code"}, Type: TypeString},
				{Keys: []string{"http.request.method"}, AllowedValues: []any{"GET", "PURGE"}},
			},
			in:   []kv{{"http.response.status_code", "200"}, {"http.request.method", "PURGE"}},
			want: map[string]any{"http.response.status_code": "200", "http.request.method": "PURGE"},
		},
		{
			name:      "a rule's other checks add to the registry's",
			semconv:   embedded,
			rules:     []Rule{{Keys: []string{"url.path"}, MaxLength: 16, Action: ActionTag}},
			in:        []kv{{"url.path", 7}},
			want:      map[string]any{},
			wantFound: []string{"wrong_type/drop_attribute/url.path"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verify(t, Config{Rules: tt.rules, Semconv: tt.semconv, Actions: tt.actions}, walk.LevelSpan, tt.in, tt.want, tt.wantFound, false)
			if tt.rules == nil {
				for _, o := range v.Offenders() {
					assert.Equal(t, "semconv", o.Rule)
				}
			}
		})
	}
}

func TestSemconvLevels(t *testing.T) {
	c := mustCompile(t, Config{Semconv: SemconvConfig{Embedded: true, Levels: []string{"span", "resource"}}})
	assert.True(t, c.Checks(walk.LevelSpan))
	assert.False(t, c.Checks(walk.LevelDataPoint))
	var v Verdict
	c.Check(walk.LevelDataPoint, newMap(t, kv{"http.response.status_code", "200"}), &v)
	assert.Equal(t, 0, v.Total())
	c.Check(walk.LevelResource, newMap(t, kv{"service.name", 1}), &v)
	assert.Equal(t, []string{"wrong_type/drop_attribute/service.name"}, offenders(&v))
}

// TestSemconvWithRulesAtSomeLevels: a level with rules sees the registry as the others do.
func TestSemconvWithRulesAtSomeLevels(t *testing.T) {
	c := mustCompile(t, Config{
		Semconv: SemconvConfig{Embedded: true},
		Rules:   []Rule{{Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true}},
	})
	for _, l := range []walk.Level{walk.LevelResource, walk.LevelSpan} {
		var v Verdict
		c.Check(l, newMap(t, kv{"service.name", "s"}, kv{"http.response.status_code", "200"}), &v)
		assert.Equal(t, []string{"wrong_type/drop_attribute/http.response.status_code"}, offenders(&v), l.String())
	}
}

func TestSemconvRegistryErrors(t *testing.T) {
	_, err := Compile(Config{Semconv: SemconvConfig{RegistryDir: "testdata/bad_registry"}})
	require.Error(t, err)
	assert.ErrorContains(t, err, `semconv.registry_dir: semantic-conventions registry testdata/bad_registry: bad.yaml:6: attribute "bad.kind": unknown type "strng"`)
	assert.ErrorContains(t, err, `bad.yaml:15: attribute "bad.mixed": member "two": its value is of type int, the enum's are of type string`)
	assert.ErrorContains(t, err, `bad.yaml:20: attribute "bad.twice" is already defined at bad.yaml:17`)

	_, err = Compile(Config{Semconv: SemconvConfig{RegistryDir: "testdata/nowhere"}})
	assert.ErrorContains(t, err, "semconv.registry_dir: semantic-conventions registry: stat testdata/nowhere")
	_, err = Compile(Config{Semconv: SemconvConfig{RegistryDir: "testdata/rules.yaml"}})
	assert.ErrorContains(t, err, "not a directory")
}
