// Package confkeys finds the keys of a component's configuration that its Config does not
// have, at any depth, and names the nearest valid key, so that a misspelled key is reported in
// the words of the configuration ("detectors.phone: unknown key \"regoins\" (did you mean
// \"regions\"?)") rather than by the Go type that could not take it.
package confkeys // import "github.com/otelwarden/warden/internal/confkeys"

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// Check returns an error naming every key of conf that cfg (a pointer to a struct with
// mapstructure tags) has no field for, with the nearest valid key where one is close; nil
// when every key is known. Maps and values whose types decode themselves (confmap or text
// unmarshalers) are not looked into.
func Check(conf *confmap.Conf, cfg any) error {
	if conf == nil {
		return nil
	}
	t := reflect.TypeOf(cfg)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var errs []error
	check(conf.ToStringMap(), t, "", &errs)
	return errors.Join(errs...)
}

var (
	confUnmarshaler = reflect.TypeFor[confmap.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether values of t take any shape they like.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(confUnmarshaler) || p.Implements(confUnmarshaler) ||
		t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler)
}

func check(raw map[string]any, t reflect.Type, prefix string, errs *[]error) {
	fields, open := fieldsOf(t)
	if open {
		return
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			*errs = append(*errs, unknown(prefix, k, fields))
			continue
		}
		into(raw[k], ft, join(prefix, k), errs)
	}
}

// into checks the value v of a field of type t.
func into(v any, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if decodesItself(t) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			check(m, t, path, errs)
		}
	case reflect.Slice, reflect.Array:
		if s, ok := v.([]any); ok {
			for i, e := range s {
				into(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok && t.Key().Kind() == reflect.String {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				into(m[k], t.Elem(), join(path, k), errs)
			}
		}
	}
}

// fieldsOf returns the configuration keys of struct t and their types, squashed and embedded
// structs included; open is true when t keeps the keys it does not know (",remain").
func fieldsOf(t reflect.Type) (fields map[string]reflect.Type, open bool) {
	fields = map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "remain") {
			return fields, true
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "squash") || (f.Anonymous && name == "") {
			if ft.Kind() == reflect.Struct {
				inner, innerOpen := fieldsOf(ft)
				if innerOpen {
					return fields, true
				}
				for k, v := range inner {
					fields[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields, false
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// unknown is the error about key k under prefix, with the nearest of fields when it is close.
func unknown(prefix, k string, fields map[string]reflect.Type) error {
	where := ""
	if prefix != "" {
		where = prefix + ": "
	}
	best, bestD := "", -1
	for name := range fields {
		d := distance(strings.ToLower(k), name)
		if bestD < 0 || d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best != "" && bestD <= max(2, len(k)/3) {
		return fmt.Errorf("%sunknown key %q (did you mean %q?)", where, k, best)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Errorf("%sunknown key %q (valid keys: %s)", where, k, strings.Join(names, ", "))
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
