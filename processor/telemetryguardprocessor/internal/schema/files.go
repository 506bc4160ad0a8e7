package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ruleFields are the fields a rule may have, as YAML names them.
var ruleFields = func() []string {
	t := reflect.TypeFor[Rule]()
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}()

// loadRuleFile reads a rule file: a mapping whose only key is `rules`, a list of rules. A
// rule without a name is named after the file ("guard.yaml:rules[2]"). Every problem is
// reported with the file and line; the rules that could be read are returned with them, so
// that their own problems are reported too.
func loadRuleFile(index int, path string) ([]sourcedRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("files[%d]: %w", index, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty rule file (want a `rules:` list)", path)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping with a `rules:` list", path, doc.Line)
	}
	var list *yaml.Node
	var errs []error
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if k.Value != "rules" {
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q (a rule file holds `rules:` only)", path, k.Line, k.Value))
			continue
		}
		list = v
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		errs = append(errs, fmt.Errorf("%s:%d: want a `rules:` list", path, doc.Line))
		return nil, errors.Join(errs...)
	}
	base := filepath.Base(path)
	var rules []sourcedRule
	for i, n := range list.Content {
		sr := sourcedRule{index: i, file: path, line: n.Line, fieldLines: map[string]int{}}
		if n.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("%s: want a rule (a mapping)", sr.at("")))
			continue
		}
		ok := true
		for j := 0; j+1 < len(n.Content); j += 2 {
			k := n.Content[j]
			sr.fieldLines[k.Value] = k.Line
			if !slices.Contains(ruleFields, k.Value) {
				errs = append(errs, fmt.Errorf("%s: unknown field %q (want %s)", sr.at(k.Value), k.Value, strings.Join(ruleFields, ", ")))
				ok = false
			}
		}
		if !ok {
			continue
		}
		if err := decodeRule(n, &sr); err != nil {
			errs = append(errs, err)
			continue
		}
		sr.name = sr.Name
		if sr.name == "" {
			sr.name = fmt.Sprintf("%s:rules[%d]", base, i)
		}
		rules = append(rules, sr)
	}
	return rules, errors.Join(errs...)
}

// decodeRule decodes a rule field by field, so that a bad value is reported at its line.
func decodeRule(n *yaml.Node, sr *sourcedRule) error {
	rv := reflect.ValueOf(&sr.Rule).Elem()
	t := rv.Type()
	var errs []error
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("yaml") != k.Value {
				continue
			}
			if err := v.Decode(rv.Field(i).Addr().Interface()); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s", sr.at(k.Value), strings.TrimPrefix(err.Error(), "yaml: ")))
			}
		}
	}
	return errors.Join(errs...)
}
