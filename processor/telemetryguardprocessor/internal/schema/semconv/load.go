package semconv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadDir reads every .yaml and .yml file below dir (a registry's model directory) and
// returns the attributes they define. Errors name the file and line.
func LoadDir(dir string) (*Registry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("semantic-conventions registry: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("semantic-conventions registry %s: not a directory (want the model directory of YAML files)", dir)
	}
	r, err := Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("semantic-conventions registry %s: %w", dir, err)
	}
	return r, nil
}

// Load reads every .yaml and .yml file of fsys and returns the attributes they define, each
// key once. Attribute references (`ref:`) and everything that is not an attribute are
// skipped. Every problem is reported, each with its file and line.
func Load(fsys fs.FS) (*Registry, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no .yaml model files found")
	}
	slices.Sort(files)
	byKey := map[string]int{}
	r := &Registry{}
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		attrs, ferrs := parseModelFile(f, data)
		errs = append(errs, ferrs...)
		for _, a := range attrs {
			if i, dup := byKey[a.Key]; dup {
				errs = append(errs, fmt.Errorf("%s: attribute %q is already defined at %s", a.Source, a.Key, r.Attributes[i].Source))
				continue
			}
			byKey[a.Key] = len(r.Attributes)
			r.Attributes = append(r.Attributes, a)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(r.Attributes, func(a, b Attribute) int { return strings.Compare(a.Key, b.Key) })
	return r, nil
}

// modelFile holds what a model file can define attributes in: groups (the older format) or a
// top-level attribute list (file_format: definition/2).
type modelFile struct {
	Groups     []modelGroup `yaml:"groups"`
	Attributes []yaml.Node  `yaml:"attributes"`
}

type modelGroup struct {
	// Prefix is prepended to the ids of the group's attributes in formats before 1.21.
	Prefix     string      `yaml:"prefix"`
	Attributes []yaml.Node `yaml:"attributes"`
}

type modelAttribute struct {
	ID         string    `yaml:"id"`
	Key        string    `yaml:"key"`
	Ref        string    `yaml:"ref"`
	Type       yaml.Node `yaml:"type"`
	Deprecated yaml.Node `yaml:"deprecated"`
}

type modelEnum struct {
	Members           []yaml.Node `yaml:"members"`
	AllowCustomValues *bool       `yaml:"allow_custom_values"`
}

type modelMember struct {
	ID         string    `yaml:"id"`
	Value      yaml.Node `yaml:"value"`
	Deprecated yaml.Node `yaml:"deprecated"`
}

func parseModelFile(name string, data []byte) ([]Attribute, []error) {
	var mf modelFile
	if err := yaml.Unmarshal(data, &mf); err != nil {
		return nil, []error{fmt.Errorf("%s: %w", name, err)}
	}
	var attrs []Attribute
	var errs []error
	add := func(prefix string, nodes []yaml.Node) {
		for i := range nodes {
			a, ok, err := parseAttribute(name, prefix, &nodes[i])
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				attrs = append(attrs, a)
			}
		}
	}
	for _, g := range mf.Groups {
		add(g.Prefix, g.Attributes)
	}
	add("", mf.Attributes)
	return attrs, errs
}

// parseAttribute reads one attribute definition; ok is false for a reference.
func parseAttribute(file, prefix string, n *yaml.Node) (a Attribute, ok bool, err error) {
	where := fmt.Sprintf("%s:%d", file, n.Line)
	var ma modelAttribute
	if err := n.Decode(&ma); err != nil {
		return a, false, fmt.Errorf("%s: %w", where, err)
	}
	key := ma.Key
	if key == "" {
		key = ma.ID
	}
	if key == "" {
		if ma.Ref != "" {
			return a, false, nil
		}
		return a, false, fmt.Errorf("%s: attribute without id or key", where)
	}
	if prefix != "" && ma.Key == "" {
		key = prefix + "." + key
	}
	a = Attribute{Key: key, Source: where}
	if a.Deprecated, err = parseDeprecation(&ma.Deprecated); err != nil {
		return a, false, fmt.Errorf("%s: attribute %q: %w", where, key, err)
	}
	switch ma.Type.Kind {
	case yaml.ScalarNode:
		a.Type, a.Template, err = parseType(ma.Type.Value)
	case yaml.MappingNode:
		if err = parseEnum(&a, &ma.Type); err != nil {
			return a, false, fmt.Errorf("%s:%w", file, err)
		}
	case 0:
		err = errors.New("no type")
	default:
		err = errors.New("type: want a type name or an enum (members)")
	}
	if err != nil {
		return a, false, fmt.Errorf("%s: attribute %q: %w", where, key, err)
	}
	return a, true, nil
}

// parseType reads a type name, a template's included: "template[string[]]".
func parseType(s string) (typ string, template bool, err error) {
	if inner, ok := strings.CutPrefix(s, "template["); ok && strings.HasSuffix(inner, "]") {
		s, template = strings.TrimSuffix(inner, "]"), true
	}
	if !slices.Contains(Types, s) {
		return "", false, fmt.Errorf("unknown type %q (want %s, an enum, or template[type])", s, strings.Join(Types, ", "))
	}
	return s, template, nil
}

// parseEnum reads an enum type; its errors start with the line they are about ("15: ...").
func parseEnum(a *Attribute, n *yaml.Node) error {
	var e modelEnum
	if err := n.Decode(&e); err != nil {
		return fmt.Errorf("%d: attribute %q: %w", n.Line, a.Key, err)
	}
	if len(e.Members) == 0 {
		return fmt.Errorf("%d: attribute %q: enum without members", n.Line, a.Key)
	}
	a.AllowCustomValues = e.AllowCustomValues
	for i := range e.Members {
		mn := &e.Members[i]
		var mm modelMember
		err := mn.Decode(&mm)
		var typ string
		if err == nil {
			typ, err = memberType(&mm.Value)
		}
		if err == nil && a.Type != "" && a.Type != typ {
			err = fmt.Errorf("its value is of type %s, the enum's are of type %s", typ, a.Type)
		}
		m := Member{Value: mm.Value.Value}
		if err == nil {
			m.Deprecated, err = parseDeprecation(&mm.Deprecated)
		}
		if err != nil {
			return fmt.Errorf("%d: attribute %q: member %q: %w", mn.Line, a.Key, mm.ID, err)
		}
		a.Type = typ
		a.Members = append(a.Members, m)
	}
	return nil
}

// memberType is the type of a member's value: string, int or double.
func memberType(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", errors.New("value: want a string or a number")
	}
	switch v.ShortTag() {
	case "!!str":
		return "string", nil
	case "!!int":
		if _, err := strconv.ParseInt(v.Value, 0, 64); err != nil {
			return "", fmt.Errorf("value %s: %w", v.Value, err)
		}
		return "int", nil
	case "!!float":
		return "double", nil
	}
	return "", fmt.Errorf("value %s: want a string or a number", v.Value)
}

// parseDeprecation reads `deprecated: {reason: renamed, renamed_to: x}`, or the older
// format's free text, which names no replacement.
func parseDeprecation(n *yaml.Node) (*Deprecation, error) {
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		return &Deprecation{Reason: "uncategorized"}, nil
	}
	var d struct {
		Reason    string `yaml:"reason"`
		RenamedTo string `yaml:"renamed_to"`
	}
	if err := n.Decode(&d); err != nil {
		return nil, fmt.Errorf("deprecated: %w", err)
	}
	if d.Reason == "" {
		d.Reason = "uncategorized"
	}
	if d.Reason != "renamed" {
		d.RenamedTo = ""
	}
	return &Deprecation{Reason: d.Reason, RenamedTo: d.RenamedTo}, nil
}

// Merge returns the attributes of base and over, over's definition winning for a key both
// define.
func Merge(base, over *Registry) *Registry {
	out := &Registry{Version: over.Version}
	seen := make(map[string]bool, len(over.Attributes))
	for _, a := range over.Attributes {
		seen[a.Key] = true
	}
	for _, a := range base.Attributes {
		if !seen[a.Key] {
			out.Attributes = append(out.Attributes, a)
		}
	}
	out.Attributes = append(out.Attributes, over.Attributes...)
	slices.SortFunc(out.Attributes, func(a, b Attribute) int { return strings.Compare(a.Key, b.Key) })
	return out
}
