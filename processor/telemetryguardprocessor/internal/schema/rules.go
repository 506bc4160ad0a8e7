package schema

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/otelwarden/warden/internal/walk"
)

// minTruncateLength is the shortest max_length that truncation serves: a prefix of at least
// three bytes and the hash suffix.
const minTruncateLength = 3 + hashSuffixLen

// sourcedRule is a rule with where it was written, for messages, and its name.
type sourcedRule struct {
	Rule
	name  string
	index int
	// file is the rule file, "" for a rule of the configuration; line is the rule's line in
	// it, and fieldLines the line of each field written.
	file       string
	line       int
	fieldLines map[string]int
}

// at renders where a field of the rule is written: "rules[2].type", or
// "guard.yaml:14: rules[2].type" for a file's rule.
func (r *sourcedRule) at(field string) string {
	s := fmt.Sprintf("rules[%d]", r.index)
	if field != "" {
		s += "." + field
	}
	if r.file == "" {
		return s
	}
	line := r.line
	if l, ok := r.fieldLines[field]; ok {
		line = l
	}
	return fmt.Sprintf("%s:%d: %s", r.file, line, s)
}

// ruleInfo is what a compiled check keeps of its rule.
type ruleInfo struct {
	name    string
	actions [numReasons]Action
}

// semconvRule stands for the registry's checks in offenders.
const semconvRule = "semconv"

// problem is one thing wrong with a rule: the field ("" for the rule as a whole), a
// subscript within it ("[2]"), and why.
type problem struct{ field, sub, why string }

// ruleProblems reports what is wrong with r.
func ruleProblems(r *Rule, defaults [numReasons]Action) []problem {
	var p []problem
	bad := func(field, sub, format string, args ...any) {
		p = append(p, problem{field, sub, fmt.Sprintf(format, args...)})
	}
	keyed := len(r.Keys) > 0
	for i, k := range r.Keys {
		sub := fmt.Sprintf("[%d]", i)
		switch {
		case k == "":
			bad("keys", sub, "empty key")
		case strings.TrimSpace(k) != k:
			bad("keys", sub, "%q has leading or trailing white space", k)
		case k == TagKey:
			bad("keys", sub, "%s is the guard's own tag", k)
		case slices.Contains(r.Keys[:i], k):
			bad("keys", sub, "%q is listed twice", k)
		case r.Required && strings.Contains(k, "*"):
			bad("keys", sub, "%q is a glob; required needs exact keys", k)
		}
	}
	if _, err := walk.ParseLevels(r.Levels); err != nil {
		bad("levels", "", "%v", err)
	}
	if err := r.Type.validate(); err != nil {
		bad("type", "", "%v", err)
	}
	if r.MaxLength < 0 {
		bad("max_length", "", "must not be negative")
	}
	if r.MaxAttributes < 0 {
		bad("max_attributes", "", "must not be negative")
	}
	if _, err := compileAllowed(r.AllowedValues, canonicalType(r.Type)); err != nil {
		sub, why, ok := strings.Cut(err.Error(), ": ")
		if !ok || !strings.HasPrefix(sub, "[") {
			sub, why = "", err.Error()
		}
		bad("allowed_values", sub, "%s", why)
	}
	keyChecks := r.Required || r.Forbidden || r.Type != "" || len(r.AllowedValues) > 0
	switch {
	case keyed && r.MaxAttributes > 0:
		bad("max_attributes", "", "counts whole maps; write it in a rule without keys")
	case !keyed && keyChecks:
		bad("keys", "", "must be given with required, forbidden, type and allowed_values")
	case !keyChecks && r.MaxLength == 0 && r.MaxAttributes == 0:
		bad("", "", "checks nothing: set required, forbidden, type, allowed_values, max_length or max_attributes")
	}
	if r.Forbidden && (r.Required || r.Type != "" || len(r.AllowedValues) > 0 || r.MaxLength > 0) {
		bad("forbidden", "", "a forbidden key has no other checks")
	}
	if (r.Required || r.MaxAttributes > 0) && len(r.Levels) == 0 {
		bad("levels", "", "must be given with required and max_attributes (e.g. levels: [resource])")
	}
	if r.MaxLength > 0 && r.Type != "" && !slices.Contains([]ValueType{TypeString, TypeStringArray, TypeSlice}, canonicalType(r.Type)) {
		bad("max_length", "", "applies to strings, not to type %s", r.Type)
	}
	if r.Action != "" && !slices.Contains(configurableActions, r.Action) {
		bad("action", "", "unknown action %q (want %s)", r.Action, joinActions(configurableActions))
		return p
	}
	for _, reason := range r.reasons() {
		a := defaults[reason]
		if r.Action != "" {
			a = r.Action
			if err := reason.accepts(a); err != nil {
				bad("action", "", "%v; split the rule to act differently on %s", err, reason)
				continue
			}
		}
		if reason == ReasonTooLong && a == ActionTruncate && r.MaxLength < minTruncateLength {
			bad("max_length", "", "%d is too short to truncate (at least %d: a prefix and a %d-byte hash suffix); choose another action", r.MaxLength, minTruncateLength, hashSuffixLen)
		}
	}
	return p
}

// reasons lists the kinds of violation r can find.
func (r *Rule) reasons() []Reason {
	var out []Reason
	if r.Required {
		out = append(out, ReasonMissingRequired)
	}
	if r.Forbidden {
		out = append(out, ReasonForbiddenKey)
	}
	if r.Type != "" {
		out = append(out, ReasonWrongType)
	}
	if len(r.AllowedValues) > 0 {
		out = append(out, ReasonNotAllowedValue)
	}
	if r.MaxLength > 0 {
		out = append(out, ReasonTooLong)
	}
	if r.MaxAttributes > 0 {
		out = append(out, ReasonTooManyAttributes)
	}
	return out
}

// buildLevels validates rules and compiles them per level. Every problem is reported, each
// prefixed with its rule's place; two rules setting the same check of the same key at the
// same level is one.
func buildLevels(rules []sourcedRule, defaults [numReasons]Action) (*[numLevels]levelChecks, error) {
	var levels [numLevels]levelChecks
	var errs []error
	names := map[string]string{}
	// setBy remembers which rule set each check of an exact key (or of a whole level: key "")
	// at each level.
	type slot struct {
		level  walk.Level
		key    string
		reason Reason
	}
	setBy := map[slot]string{}
	claim := func(r *sourcedRule, l walk.Level, key string, reason Reason) bool {
		s := slot{l, key, reason}
		if prev, ok := setBy[s]; ok && prev != r.at("") {
			what := fmt.Sprintf("key %q", key)
			if key == "" {
				what = "every key"
			}
			errs = append(errs, fmt.Errorf("%s: the %s check of %s at level %s is already set by %s", r.at(""), reason, what, l, prev))
			return false
		}
		setBy[s] = r.at("")
		return true
	}
	for i := range rules {
		r := &rules[i]
		if p := ruleProblems(&r.Rule, defaults); len(p) > 0 {
			for _, pr := range p {
				errs = append(errs, fmt.Errorf("%s%s: %s", r.at(pr.field), pr.sub, pr.why))
			}
			continue
		}
		if prev, dup := names[r.name]; dup {
			errs = append(errs, fmt.Errorf("%s: %q is already the name of %s", r.at("name"), r.name, prev))
			continue
		}
		names[r.name] = r.at("")
		info := &ruleInfo{name: r.name, actions: defaults}
		if r.Action != "" {
			for _, reason := range r.reasons() {
				info.actions[reason] = r.Action
			}
		}
		allowed, _ := compileAllowed(r.AllowedValues, canonicalType(r.Type))
		set, _ := walk.ParseLevels(r.Levels)
		if set == 0 {
			set = walk.AllLevels
		}
		for l := walk.Level(0); int(l) < numLevels; l++ {
			if !set.Has(l) {
				continue
			}
			lc := &levels[l]
			lc.active = true
			if len(r.Keys) == 0 {
				if r.MaxAttributes > 0 && claim(r, l, "", ReasonTooManyAttributes) {
					lc.maxAttrs, lc.maxAttrsRule = r.MaxAttributes, info
				}
				if r.MaxLength > 0 && claim(r, l, "", ReasonTooLong) {
					lc.maxLen, lc.maxLenRule = r.MaxLength, info
				}
				continue
			}
			for _, k := range r.Keys {
				if strings.Contains(k, "*") {
					spec := &keySpec{required: -1}
					spec.addRule(&r.Rule, info, allowed)
					if r.Forbidden {
						lc.forbiddenGlobs = append(lc.forbiddenGlobs, globSpec{glob: walk.NewGlob(k), spec: spec})
					} else {
						lc.valueGlobs = append(lc.valueGlobs, globSpec{glob: walk.NewGlob(k), spec: spec})
					}
					continue
				}
				if lc.keys == nil {
					lc.keys = map[string]*keySpec{}
				}
				spec := lc.keys[k]
				if spec == nil {
					spec = &keySpec{required: -1}
					lc.keys[k] = spec
				}
				ok := true
				for _, reason := range r.reasons() {
					ok = claim(r, l, k, reason) && ok
				}
				if !ok {
					continue
				}
				if r.Forbidden && (spec.hasValueChecks() || spec.required >= 0) || spec.forbidden != nil && !r.Forbidden {
					errs = append(errs, fmt.Errorf("%s: key %q at level %s is both forbidden and checked", r.at(""), k, l))
					continue
				}
				spec.addRule(&r.Rule, info, allowed)
				if r.Required {
					spec.required = len(lc.required)
					lc.required = append(lc.required, requiredKey{key: k, rule: info})
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &levels, nil
}

// compileAllowed builds the set of allowed values, read as typ's values where the rule gives
// a type (integers serve as doubles for a double type).
func compileAllowed(values []any, typ ValueType) (*valueSet, error) {
	if len(values) == 0 {
		return nil, nil
	}
	want := valueKinds[typ]
	elem := want.top
	if want.elem != 0 {
		elem = want.elem
	}
	switch typ {
	case TypeBytes, TypeMap, TypeSlice:
		return nil, fmt.Errorf("a %s value cannot be listed; use them with string, int, double or bool values and their arrays", typ)
	}
	s := &valueSet{}
	for i, v := range values {
		var err error
		switch x := v.(type) {
		case string:
			err = s.add(elem, valueOf(x))
		case bool:
			err = s.add(elem, valueOf(x))
		case float32:
			err = s.add(elem, valueOf(float64(x)))
		case float64:
			err = s.add(elem, valueOf(x))
		default:
			n, ok := asInt64(v)
			if !ok {
				return nil, fmt.Errorf("[%d]: %v (%T) is not a string, number or bool", i, v, v)
			}
			err = s.add(elem, valueOf(n))
		}
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return s, nil
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}
