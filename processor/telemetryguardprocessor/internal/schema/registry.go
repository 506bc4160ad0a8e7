package schema

import (
	"fmt"
	"maps"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema/semconv"
)

// otherValue is the enum member that stands for any value the conventions do not list.
const otherValue = "_OTHER"

// originalSuffix names the attribute that keeps a value mapped to otherValue
// (http.request.method_original).
const originalSuffix = "_original"

// semAttr is what the registry says of one attribute (or template).
type semAttr struct {
	rule *ruleInfo
	// kind is the attribute's type; zero for any.
	kind valueKind
	// members are an enum's values, by member index; nil for other attributes.
	members *valueSet
	// memberDeprecations are by member index; nil when no member is deprecated.
	memberDeprecations []memberDeprecation
	// closed: a value outside members is a violation. other: the enum has an _OTHER member,
	// the value such a violation is mapped to; originalKey is where the original goes.
	closed, other bool
	originalKey   string
	deprecated    bool
	renamedTo     string
}

type memberDeprecation struct {
	deprecated, renamed bool
	to                  scalar
}

// deprecatedAction is the action for the deprecated attribute: rename only where the
// registry names a successor.
func (s *semAttr) deprecatedAction() Action {
	a := s.rule.actions[ReasonDeprecated]
	if a == ActionRename && s.renamedTo == "" {
		return ActionKeep
	}
	return a
}

// setTo sets v to the scalar.
func (s scalar) setTo(v pcommon.Value) {
	switch s.typ {
	case pcommon.ValueTypeStr:
		v.SetStr(s.s)
	case pcommon.ValueTypeInt:
		v.SetInt(s.i)
	case pcommon.ValueTypeDouble:
		v.SetDouble(s.d)
	case pcommon.ValueTypeBool:
		v.SetBool(s.b)
	}
}

// loadRegistry returns the embedded registry, a user's, or both merged.
func loadRegistry(cfg *SemconvConfig) (*semconv.Registry, error) {
	var reg *semconv.Registry
	if cfg.Embedded {
		var err error
		if reg, err = semconv.Embedded(); err != nil {
			return nil, fmt.Errorf("semconv.embedded: %w", err)
		}
	}
	if cfg.RegistryDir != "" {
		own, err := semconv.LoadDir(cfg.RegistryDir)
		if err != nil {
			return nil, fmt.Errorf("semconv.registry_dir: %w", err)
		}
		if reg == nil {
			reg = own
		} else {
			reg = semconv.Merge(reg, own)
		}
	}
	return reg, nil
}

// semconvKinds maps the registry's types to value kinds.
var semconvKinds = map[string]valueKind{
	"string":    valueKinds[TypeString],
	"int":       valueKinds[TypeInt],
	"double":    valueKinds[TypeDouble],
	"boolean":   valueKinds[TypeBool],
	"string[]":  valueKinds[TypeStringArray],
	"int[]":     valueKinds[TypeIntArray],
	"double[]":  valueKinds[TypeDoubleArray],
	"boolean[]": valueKinds[TypeBoolArray],
	"any":       {},
}

// addRegistry adds the registry's checks at the levels given; a key's rules keep their
// own checks.
func (c *Checker) addRegistry(reg *semconv.Registry, levels walk.LevelSet, policy EnumPolicy, rule *ruleInfo) {
	defined := make(map[string]bool, len(reg.Attributes))
	for _, a := range reg.Attributes {
		defined[a.Key] = !a.Template
	}
	sems := map[string]*semAttr{}
	templates := map[string]*semAttr{}
	tmin, tmax := -1, 0
	for _, a := range reg.Attributes {
		s := newSemAttr(&a, rule, policy, defined)
		if !a.Template {
			sems[a.Key] = s
			continue
		}
		templates[a.Key] = s
		if tmin < 0 || len(a.Key) < tmin {
			tmin = len(a.Key)
		}
		tmax = max(tmax, len(a.Key))
	}
	base := make(map[string]*keySpec, len(sems))
	for k, s := range sems {
		base[k] = &keySpec{required: -1, sem: s}
	}
	for l := walk.Level(0); int(l) < numLevels; l++ {
		if !levels.Has(l) {
			continue
		}
		lc := &c.levels[l]
		lc.active = true
		if len(templates) > 0 {
			lc.templates, lc.templateMin, lc.templateMax = templates, tmin, tmax
		}
		if lc.keys == nil {
			lc.keys = base
			continue
		}
		merged := maps.Clone(base)
		for k, spec := range lc.keys {
			spec.sem = sems[k]
			merged[k] = spec
		}
		lc.keys = merged
	}
}

func newSemAttr(a *semconv.Attribute, rule *ruleInfo, policy EnumPolicy, defined map[string]bool) *semAttr {
	s := &semAttr{rule: rule, kind: semconvKinds[a.Type]}
	if d := a.Deprecated; d != nil {
		s.deprecated, s.renamedTo = true, d.RenamedTo
	}
	if len(a.Members) == 0 {
		return s
	}
	s.members = &valueSet{}
	for i, m := range a.Members {
		v, ok := memberValue(a.Type, m.Value)
		if !ok {
			// Load checked the values; an unreadable one is skipped, never fatal at runtime.
			v = scalar{typ: pcommon.ValueTypeStr, s: m.Value}
		}
		_ = s.members.add(pcommon.ValueTypeEmpty, v)
		if v.typ == pcommon.ValueTypeStr && v.s == otherValue {
			s.other = true
		}
		if m.Deprecated == nil {
			continue
		}
		if s.memberDeprecations == nil {
			s.memberDeprecations = make([]memberDeprecation, len(a.Members))
		}
		md := memberDeprecation{deprecated: true}
		if m.Deprecated.RenamedTo != "" {
			md.to, md.renamed = memberValue(a.Type, m.Deprecated.RenamedTo)
		}
		s.memberDeprecations[i] = md
	}
	if s.other && defined[a.Key+originalSuffix] {
		s.originalKey = a.Key + originalSuffix
	}
	switch {
	case a.AllowCustomValues != nil:
		s.closed = !*a.AllowCustomValues
	case policy == EnumsClosed:
		s.closed = true
	default:
		s.closed = s.originalKey != ""
	}
	return s
}

// memberValue reads an enum value written as text, of the enum's type.
func memberValue(typ, text string) (scalar, bool) {
	switch typ {
	case "int":
		n, err := strconv.ParseInt(text, 0, 64)
		return valueOf(n), err == nil
	case "double":
		f, err := strconv.ParseFloat(text, 64)
		return valueOf(f), err == nil
	}
	return valueOf(text), true
}
