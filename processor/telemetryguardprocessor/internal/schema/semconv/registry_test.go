package semconv

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func find(r *Registry, key string) *Attribute {
	i, ok := slices.BinarySearchFunc(r.Attributes, key, func(a Attribute, k string) int { return strings.Compare(a.Key, k) })
	if !ok {
		return nil
	}
	return &r.Attributes[i]
}

func TestEmbedded(t *testing.T) {
	r, err := Embedded()
	require.NoError(t, err)
	assert.Equal(t, EmbeddedVersion, r.Version)
	assert.Greater(t, len(r.Attributes), 700)
	assert.True(t, slices.IsSortedFunc(r.Attributes, func(a, b Attribute) int { return strings.Compare(a.Key, b.Key) }))
	assert.Len(t, slices.CompactFunc(slices.Clone(r.Attributes), func(a, b Attribute) bool { return a.Key == b.Key }), len(r.Attributes), "each key once")

	m := find(r, "http.request.method")
	require.NotNil(t, m)
	assert.Equal(t, "string", m.Type)
	assert.Contains(t, m.Members, Member{Value: "_OTHER"})
	assert.Contains(t, m.Members, Member{Value: "GET"})
	assert.Equal(t, &Attribute{Key: "http.response.status_code", Type: "int"}, find(r, "http.response.status_code"))
	assert.Equal(t, &Attribute{Key: "http.request.header", Type: "string[]", Template: true}, find(r, "http.request.header"))
	assert.Equal(t, &Attribute{Key: "server.port", Type: "int"}, find(r, "server.port"), "definition/2 files are read")
	cpu := find(r, "cpu.mode")
	require.NotNil(t, cpu)
	assert.Contains(t, cpu.Members, Member{Value: "kernel", Deprecated: &Deprecation{Reason: "renamed", RenamedTo: "system"}})
	gc := find(r, "cpython.gc.generation")
	require.NotNil(t, gc)
	assert.Equal(t, "int", gc.Type)
}

// TestEmbeddedIsGenerated: the committed registry is what the generator makes of the
// model it was made from, where that model is at hand.
func TestEmbeddedIsGenerated(t *testing.T) {
	const model = "../../../../../../shared/semconv/v1.44.0/model"
	if _, err := os.Stat(model); err != nil {
		t.Skip("no v1.44.0 model beside the repository")
	}
	r, err := LoadDir(model)
	require.NoError(t, err)
	r.Version = EmbeddedVersion
	data, err := r.MarshalCompact()
	require.NoError(t, err)
	assert.Equal(t, string(data), string(embeddedJSON), "run go generate")
	license, err := os.ReadFile(model + "/../LICENSE")
	require.NoError(t, err)
	ours, err := os.ReadFile("LICENSE")
	require.NoError(t, err)
	assert.Equal(t, license, ours)
}

func TestLoadDir(t *testing.T) {
	r, err := LoadDir("../testdata/registry")
	require.NoError(t, err)
	var keys []string
	for _, a := range r.Attributes {
		keys = append(keys, a.Key)
		assert.NotEmpty(t, a.Source)
	}
	assert.Equal(t, []string{
		"acme.cart.size", "acme.customer.segment", "acme.customer.tier", "acme.label", "acme.legacy.flag",
		"acme.order.count", "acme.region", "acme.shard.priority", "acme.tenant.tier", "http.response.status_code",
	}, keys)
	seg := find(r, "acme.customer.segment")
	assert.Equal(t, &Deprecation{Reason: "renamed", RenamedTo: "acme.customer.tier"}, seg.Deprecated)
	assert.Equal(t, "acme.yaml:29", seg.Source)
	assert.Equal(t, &Deprecation{Reason: "obsoleted"}, find(r, "acme.legacy.flag").Deprecated)
	tier := find(r, "acme.tenant.tier")
	require.NotNil(t, tier.AllowCustomValues)
	assert.False(t, *tier.AllowCustomValues)
	assert.Equal(t, "int", find(r, "acme.shard.priority").Type)
	assert.True(t, find(r, "acme.label").Template)
}

func TestLoadFormats(t *testing.T) {
	fsys := fstest.MapFS{
		"old.yaml": {Data: []byte(`
groups:
  - id: old
    prefix: old
    attributes:
      - id: name
        type: string
        stability: deprecated
        deprecated: "Replaced by new.name."
      - id: ratio
        type:
          allow_custom_values: true
          members:
            - id: half
              value: 0.5
`)},
		"notes.txt": {Data: []byte("not a model file")},
		"sub/empty.yml": {Data: []byte(`
groups:
  - id: metric.x
    type: metric
    attributes:
      - ref: old.name
`)},
	}
	r, err := Load(fsys)
	require.NoError(t, err)
	require.Len(t, r.Attributes, 2)
	assert.Equal(t, Attribute{Key: "old.name", Type: "string", Deprecated: &Deprecation{Reason: "uncategorized"}, Source: "old.yaml:6"}, r.Attributes[0])
	yes := true
	assert.Equal(t, Attribute{Key: "old.ratio", Type: "double", Members: []Member{{Value: "0.5"}}, AllowCustomValues: &yes, Source: "old.yaml:10"}, r.Attributes[1])
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{"not yaml", "groups: [", "m.yaml: yaml: line 1"},
		{"no id", "attributes:\n  - type: string\n", "m.yaml:2: attribute without id or key"},
		{"no type", "attributes:\n  - key: a\n", `m.yaml:2: attribute "a": no type`},
		{"bad type", "attributes:\n  - key: a\n    type: text\n", `m.yaml:2: attribute "a": unknown type "text"`},
		{"bad template", "attributes:\n  - key: a\n    type: template[map]\n", `unknown type "map"`},
		{"list type", "attributes:\n  - key: a\n    type: [x]\n", `m.yaml:2: attribute "a": type: want a type name or an enum (members)`},
		{"no members", "attributes:\n  - key: a\n    type: {members: []}\n", `m.yaml:3: attribute "a": enum without members`},
		{"member value", "attributes:\n  - key: a\n    type:\n      members:\n        - id: x\n          value: [1]\n", `m.yaml:5: attribute "a": member "x": value: want a string or a number`},
		{"mixed", "attributes:\n  - key: a\n    type:\n      members:\n        - id: x\n          value: 1\n        - id: y\n          value: 1.5\n", `m.yaml:7: attribute "a": member "y": its value is of type double, the enum's are of type int`},
		{"bool member", "attributes:\n  - key: a\n    type:\n      members:\n        - id: x\n          value: true\n", `value true: want a string or a number`},
		{"deprecated", "attributes:\n  - key: a\n    type: string\n    deprecated: [x]\n", `m.yaml:2: attribute "a": deprecated:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"m.yaml": {Data: []byte(tt.file)}})
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := Load(fstest.MapFS{"a.txt": {Data: []byte("x")}})
	require.ErrorContains(t, err, "no .yaml model files found")
}

func TestMergeAndCompact(t *testing.T) {
	base := &Registry{Version: "1", Attributes: []Attribute{{Key: "a", Type: "int"}, {Key: "c", Type: "string"}}}
	over := &Registry{Attributes: []Attribute{{Key: "a", Type: "string"}, {Key: "b", Type: "boolean"}}}
	m := Merge(base, over)
	assert.Equal(t, []Attribute{{Key: "a", Type: "string"}, {Key: "b", Type: "boolean"}, {Key: "c", Type: "string"}}, m.Attributes)

	data, err := base.MarshalCompact()
	require.NoError(t, err)
	assert.Equal(t, "{\"version\":\"1\",\"attributes\":[\n{\"key\":\"a\",\"type\":\"int\"},\n{\"key\":\"c\",\"type\":\"string\"}\n]}\n", string(data))
}
