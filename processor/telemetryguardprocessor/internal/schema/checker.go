package schema

import (
	"errors"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/walk"
)

// TagKey is the attribute that the tag action adds: a string array of one entry a violation,
// "<reason>:<key>" ("too_long:url.full", "missing_required:service.name"), or "<reason>"
// alone for too_many_attributes. Entries are not repeated and there are at most
// MaxTagEntries; the entries an earlier guard wrote are kept (a value of another type
// becomes the first entry); a key is cut to 128 bytes. Rules never check this key, and it
// does not count towards max_attributes.
const TagKey = "warden.schema.violation"

// MaxTagEntries bounds the entries of TagKey.
const MaxTagEntries = 8

// maxTagKeyLen bounds the key part of a tag entry, in bytes.
const maxTagKeyLen = 128

// numLevels is the number of walk levels.
const numLevels = int(walk.LevelExemplar) + 1

// Checker checks attribute maps against compiled rules and a registry. It holds no mutable
// state: one Checker serves any number of goroutines.
type Checker struct {
	levels [numLevels]levelChecks
	report bool
}

// levelChecks are the checks of one level.
type levelChecks struct {
	active bool
	// keys holds the checks of exact keys: rules' and the registry's.
	keys map[string]*keySpec
	// forbiddenGlobs and valueGlobs are the rules whose keys are globs.
	forbiddenGlobs []globSpec
	valueGlobs     []globSpec
	// templates are the registry's template attributes by prefix (no trailing dot), looked
	// up at the dots of a key between templateMin and templateMax bytes in.
	templates                map[string]*semAttr
	templateMin, templateMax int
	required                 []requiredKey
	maxAttrs, maxLen         int
	maxAttrsRule, maxLenRule *ruleInfo
}

type requiredKey struct {
	key  string
	rule *ruleInfo
}

type globSpec struct {
	glob walk.Glob
	spec *keySpec
}

// keySpec holds the checks of one key at one level; a nil rule pointer means no check.
type keySpec struct {
	forbidden   *ruleInfo
	kind        valueKind
	kindRule    *ruleInfo
	allowed     *valueSet
	allowedRule *ruleInfo
	maxLen      int
	maxLenRule  *ruleInfo
	// required is the key's index in its level's required list, or -1.
	required int
	sem      *semAttr
}

func (s *keySpec) addRule(r *Rule, info *ruleInfo, allowed *valueSet) {
	if r.Forbidden {
		s.forbidden = info
	}
	if r.Type != "" {
		s.kind, s.kindRule = valueKinds[canonicalType(r.Type)], info
	}
	if allowed != nil {
		s.allowed, s.allowedRule = allowed, info
	}
	if r.MaxLength > 0 {
		s.maxLen, s.maxLenRule = r.MaxLength, info
	}
}

func (s *keySpec) hasValueChecks() bool {
	return s.kindRule != nil || s.allowedRule != nil || s.maxLenRule != nil
}

// Option modifies Compile.
type Option func(*options)

type options struct {
	report bool
}

// ReportOnly makes a Checker that finds and counts violations, with the action enforce mode
// would take, and changes nothing: no map is touched and Verdict.Drop is never set.
func ReportOnly(on bool) Option { return func(o *options) { o.report = on } }

// Compile validates cfg, reads its rule files and registry once, and compiles the checks.
// Every problem is reported, rule-file problems with their file and line.
func Compile(cfg Config, opts ...Option) (*Checker, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	actions := cfg.Actions.resolve()
	rules := inlineRules(cfg.Rules)
	var errs []error
	for i, f := range cfg.Files {
		fr, err := loadRuleFile(i, f)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, fr...)
	}
	levels, err := buildLevels(rules, actions)
	if err != nil || len(errs) > 0 {
		return nil, errors.Join(append(errs, err)...)
	}
	c := &Checker{levels: *levels, report: o.report}
	if cfg.Semconv.enabled() {
		reg, err := loadRegistry(&cfg.Semconv)
		if err != nil {
			return nil, err
		}
		semLevels, _ := walk.ParseLevels(cfg.Semconv.Levels)
		if semLevels == 0 {
			semLevels = walk.AllLevels
		}
		c.addRegistry(reg, semLevels, cfg.Semconv.Enums, &ruleInfo{name: semconvRule, actions: actions})
	}
	return c, nil
}

// Checks reports whether the Checker checks anything at level l: Check need not be called
// for the other levels.
func (c *Checker) Checks(l walk.Level) bool {
	return int(l) < numLevels && c.levels[l].active
}

// ReportOnly reports whether the Checker was compiled to change nothing.
func (c *Checker) ReportOnly() bool { return c.report }

// Check checks the attribute map of one element at level l (a resource's, a span's, a data
// point's ...) and adds what it finds to v. In enforce mode it applies truncate,
// drop_attribute, rename, the `_OTHER` mapping and tag to attrs in place, and sets v.Drop for
// drop_record (attrs is then left as it is); in report mode it changes nothing. A clean map
// costs a map lookup per attribute and allocates nothing.
func (c *Checker) Check(l walk.Level, attrs pcommon.Map, v *Verdict) {
	if int(l) >= numLevels || !c.levels[l].active {
		return
	}
	sc := scan{c: c, lc: &c.levels[l], level: l, v: v}
	for k, val := range attrs.All() {
		sc.attribute(k, val)
	}
	sc.finish(attrs)
}
