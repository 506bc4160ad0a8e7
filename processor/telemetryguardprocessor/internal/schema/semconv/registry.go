package semconv

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// Registry is the set of attributes a semantic-conventions registry defines.
type Registry struct {
	// Version is the semantic-conventions version, when known ("1.44.0").
	Version string `json:"version,omitempty"`
	// Attributes are sorted by key, each key once.
	Attributes []Attribute `json:"attributes"`
}

// Attribute is one attribute definition.
type Attribute struct {
	// Key is the attribute key ("http.request.method"); for a template, the prefix of the
	// keys it defines ("http.request.header" defines "http.request.header.content-type").
	Key string `json:"key"`
	// Type is one of string, int, double, boolean, string[], int[], double[], boolean[] or
	// any. An enum's type is that of its members' values.
	Type string `json:"type"`
	// Template says that the attribute defines the keys Key + "." + anything, each of Type.
	Template bool `json:"template,omitempty"`
	// Members are an enum's members; empty for other attributes.
	Members []Member `json:"members,omitempty"`
	// AllowCustomValues is an enum's allow_custom_values, where the model states it (older
	// formats); nil where it does not, and the conventions then leave the enum open.
	AllowCustomValues *bool `json:"allow_custom_values,omitempty"`
	// Deprecated is set when the attribute is deprecated.
	Deprecated *Deprecation `json:"deprecated,omitempty"`
	// Source is where the attribute is defined ("http/registry.yaml:37"), for messages; not
	// kept in the compact form.
	Source string `json:"-"`
}

// Member is one member of an enum.
type Member struct {
	// Value is the member's value as written: "GET", or "0" for an int enum.
	Value string `json:"value"`
	// Deprecated is set when the member is deprecated.
	Deprecated *Deprecation `json:"deprecated,omitempty"`
}

// Deprecation says why an attribute or a member is deprecated.
type Deprecation struct {
	// Reason is the model's reason: renamed, obsoleted, uncategorized, ... ("uncategorized"
	// for the older format's free-text deprecation).
	Reason string `json:"reason"`
	// RenamedTo is, for reason renamed, the key (of an attribute) or the value (of a member)
	// that replaces it.
	RenamedTo string `json:"renamed_to,omitempty"`
}

// Types lists the attribute types a registry may use (an enum takes its members' type).
var Types = []string{"string", "int", "double", "boolean", "string[]", "int[]", "double[]", "boolean[]", "any"}

// EmbeddedVersion is the version of the semantic conventions that Embedded returns.
const EmbeddedVersion = "1.44.0"

//go:embed registry-v1.44.0.json
var embeddedJSON []byte

var embedded = sync.OnceValues(func() (*Registry, error) {
	var r Registry
	d := json.NewDecoder(bytes.NewReader(embeddedJSON))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("embedded semantic conventions v%s: %w", EmbeddedVersion, err)
	}
	return &r, nil
})

// Embedded returns the registry of the semantic conventions v1.44.0. It is parsed once and
// shared: do not modify it.
func Embedded() (*Registry, error) { return embedded() }

// MarshalCompact renders r in the compact form that Embedded reads: JSON with one attribute
// a line, so that a new version's changes read as a diff.
func (r *Registry) MarshalCompact() ([]byte, error) {
	var b bytes.Buffer
	head, err := json.Marshal(r.Version)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "{\"version\":%s,\"attributes\":[\n", head)
	for i, a := range r.Attributes {
		line, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(r.Attributes)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}
