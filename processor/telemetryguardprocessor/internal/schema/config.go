package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otelwarden/warden/internal/walk"
)

// Config configures the schema guard. Its zero value checks nothing.
type Config struct {
	// Rules are schema rules written in the configuration, checked together with those of
	// Files.
	Rules []Rule `mapstructure:"rules"`

	// Files are YAML rule files, each a top-level `rules:` list in the format of Rules, read
	// once when the guard starts. A relative path is relative to the collector's working
	// directory.
	Files []string `mapstructure:"files"`

	// Semconv checks the type and enum values of every attribute that an OpenTelemetry
	// semantic-conventions registry defines; keys it does not define pass.
	Semconv SemconvConfig `mapstructure:"semconv"`

	// Actions are what is done about each kind of violation where a rule does not say.
	Actions ActionsConfig `mapstructure:"actions"`

	_ struct{}
}

// Rule is one schema rule: checks on the attributes named by Keys, or, without Keys, on the
// attribute maps of its levels as a whole (MaxAttributes, MaxLength). The same fields serve
// in the configuration and in rule files.
type Rule struct {
	// Name names the rule in counts and reports; default "rules[i]" (and the file's base
	// name before it for a file's rules). Names are unique.
	Name string `mapstructure:"name" yaml:"name"`

	// Keys are attribute keys, each exact (service.name) or a glob where "*" matches any run
	// of characters, dots included (user.*, *.password, *token*).
	Keys []string `mapstructure:"keys" yaml:"keys"`

	// Levels are the attribute maps the rule applies to: resource, scope, span, span_event,
	// span_link, log_record, metric (a metric's metadata), datapoint, exemplar. Empty: every
	// level. Required and MaxAttributes need them.
	Levels []string `mapstructure:"levels" yaml:"levels"`

	// Required: each key (exact keys only) must be present (missing_required).
	Required bool `mapstructure:"required" yaml:"required"`

	// Forbidden: the keys must not be present (forbidden_key). Excludes the other checks.
	Forbidden bool `mapstructure:"forbidden" yaml:"forbidden"`

	// Type is the type a value must have (wrong_type): string, int, double, bool, bytes, map,
	// slice (any array), or an array of one primitive type: string[], int[], double[],
	// bool[] (an empty array passes). boolean and boolean[] are read as bool and bool[].
	Type ValueType `mapstructure:"type" yaml:"type"`

	// AllowedValues are the values a value may take (not_allowed_value): strings, integers,
	// doubles or booleans, matched by type and exactly. Each element of an array is checked.
	AllowedValues []any `mapstructure:"allowed_values" yaml:"allowed_values"`

	// MaxLength bounds string values, and each string of an array, in bytes (too_long).
	// Without Keys it bounds every string of the rule's levels that no keyed rule bounds.
	MaxLength int `mapstructure:"max_length" yaml:"max_length"`

	// MaxAttributes bounds the number of attributes of each map of the rule's levels
	// (too_many_attributes); the violation tag itself is not counted. Only without Keys.
	MaxAttributes int `mapstructure:"max_attributes" yaml:"max_attributes"`

	// Action is what is done about every violation of this rule, instead of Actions' choice
	// for its kind. It must suit each kind the rule can find (truncate suits too_long only).
	Action Action `mapstructure:"action" yaml:"action"`
}

// SemconvConfig chooses the semantic-conventions registry.
type SemconvConfig struct {
	// Embedded checks against the registry of semantic conventions v1.44.0 built into the
	// collector.
	Embedded bool `mapstructure:"embedded"`

	// RegistryDir is a registry's model directory of YAML files (e.g. the model/ of a
	// semantic-conventions checkout, or an organisation's own registry), read once at start:
	// in addition to the embedded registry when Embedded, its definitions winning for a key
	// both define; alone otherwise.
	RegistryDir string `mapstructure:"registry_dir"`

	// Enums says which enums reject a value outside their members. open (the default, as
	// the conventions define enums): only where the registry says so, by
	// allow_custom_values: false (older formats), or by an `_OTHER` member together with a
	// `<key>_original` attribute, as for http.request.method. closed: every enum.
	Enums EnumPolicy `mapstructure:"enums"`

	// Levels narrows the registry checks to these levels. Empty: every level.
	Levels []string `mapstructure:"levels"`
}

// enabled reports whether a registry is configured.
func (s *SemconvConfig) enabled() bool { return s.Embedded || s.RegistryDir != "" }

// EnumPolicy says which enums reject a value outside their members.
type EnumPolicy string

const (
	// EnumsOpen rejects values only for the enums the registry closes.
	EnumsOpen EnumPolicy = "open"
	// EnumsClosed rejects values outside the members of every enum.
	EnumsClosed EnumPolicy = "closed"
)

// UnmarshalText rejects unknown policies when the configuration is read.
func (p *EnumPolicy) UnmarshalText(text []byte) error {
	v := EnumPolicy(text)
	if err := v.validate(); err != nil {
		return err
	}
	*p = v
	return nil
}

func (p EnumPolicy) validate() error {
	switch p {
	case "", EnumsOpen, EnumsClosed:
		return nil
	}
	return fmt.Errorf("unknown enum policy %q (want open or closed)", string(p))
}

// ActionsConfig chooses the action for each kind of violation. An empty field takes the
// default that DefaultActions names.
type ActionsConfig struct {
	// MissingRequired: tag (default), drop_record or keep.
	MissingRequired Action `mapstructure:"missing_required"`
	// WrongType: drop_attribute (default), tag, drop_record or keep.
	WrongType Action `mapstructure:"wrong_type"`
	// NotAllowedValue: drop_attribute (default), tag, drop_record or keep. A registry enum
	// with an `_OTHER` member always maps the value to `_OTHER` instead (see the package doc).
	NotAllowedValue Action `mapstructure:"not_allowed_value"`
	// TooManyAttributes: drop_attribute (default: keeps the first max_attributes in the map's
	// order, required keys kept first), tag, drop_record or keep.
	TooManyAttributes Action `mapstructure:"too_many_attributes"`
	// TooLong: truncate (default), drop_attribute, tag, drop_record or keep.
	TooLong Action `mapstructure:"too_long"`
	// ForbiddenKey: drop_attribute (default), tag, drop_record or keep.
	ForbiddenKey Action `mapstructure:"forbidden_key"`
	// Deprecated (a registry's deprecated attribute or enum member): keep (default), rename
	// (to the registry's renamed_to where it names one; kept otherwise), tag, drop_attribute
	// or drop_record.
	Deprecated Action `mapstructure:"deprecated"`
}

// DefaultActions returns the action of each kind of violation that an empty ActionsConfig
// field stands for.
func DefaultActions() ActionsConfig {
	return ActionsConfig{
		MissingRequired:   ActionTag,
		WrongType:         ActionDropAttribute,
		NotAllowedValue:   ActionDropAttribute,
		TooManyAttributes: ActionDropAttribute,
		TooLong:           ActionTruncate,
		ForbiddenKey:      ActionDropAttribute,
		Deprecated:        ActionKeep,
	}
}

// fields lists the actions by reason, with their configuration keys.
func (a *ActionsConfig) fields() [numReasons]*Action {
	return [numReasons]*Action{
		ReasonMissingRequired:   &a.MissingRequired,
		ReasonWrongType:         &a.WrongType,
		ReasonNotAllowedValue:   &a.NotAllowedValue,
		ReasonTooManyAttributes: &a.TooManyAttributes,
		ReasonTooLong:           &a.TooLong,
		ReasonForbiddenKey:      &a.ForbiddenKey,
		ReasonDeprecated:        &a.Deprecated,
	}
}

// resolve returns the action per reason, defaults filled in.
func (a ActionsConfig) resolve() [numReasons]Action {
	var out [numReasons]Action
	def := DefaultActions()
	mine, defs := a.fields(), def.fields()
	for r := range out {
		out[r] = *mine[r]
		if out[r] == "" {
			out[r] = *defs[r]
		}
	}
	return out
}

// Validate reports every problem of the configuration at once, each under its key. It does
// no I/O: rule files and registry directories are read, and their problems reported, by
// Compile.
func (c *Config) Validate() error {
	var errs []error
	actions := c.Actions.resolve()
	fields := c.Actions.fields()
	for r, f := range fields {
		if *f == "" {
			continue
		}
		if err := Reason(r).accepts(*f); err != nil {
			errs = append(errs, fmt.Errorf("actions.%s: %w", Reason(r), err))
		}
	}
	for i, f := range c.Files {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, fmt.Errorf("files[%d]: empty path", i))
		}
		if slices.Contains(c.Files[:i], f) {
			errs = append(errs, fmt.Errorf("files[%d]: %q is listed twice", i, f))
		}
	}
	errs = append(errs, c.Semconv.validate()...)
	if _, err := buildLevels(inlineRules(c.Rules), actions); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *SemconvConfig) validate() []error {
	var errs []error
	if err := s.Enums.validate(); err != nil {
		errs = append(errs, fmt.Errorf("semconv.enums: %w", err))
	}
	if _, err := walk.ParseLevels(s.Levels); err != nil {
		errs = append(errs, fmt.Errorf("semconv.levels: %w", err))
	}
	if !s.enabled() && (s.Enums != "" || len(s.Levels) > 0) {
		errs = append(errs, errors.New("semconv: enums and levels need a registry: embedded: true or registry_dir"))
	}
	if s.RegistryDir != "" && strings.TrimSpace(s.RegistryDir) == "" {
		errs = append(errs, errors.New("semconv.registry_dir: blank path"))
	}
	return errs
}

// inlineRules are the configuration's rules, named.
func inlineRules(rules []Rule) []sourcedRule {
	out := make([]sourcedRule, len(rules))
	for i, r := range rules {
		out[i] = sourcedRule{Rule: r, index: i, name: r.Name}
		if r.Name == "" {
			out[i].name = fmt.Sprintf("rules[%d]", i)
		}
	}
	return out
}
