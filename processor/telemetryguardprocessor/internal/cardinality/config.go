package cardinality

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is the cardinality guard: a budget of distinct series per metric, a budget of
// distinct values per attribute key, and global caps on what is tracked.
type Config struct {
	// Mode is enforce (over-budget series are folded or dropped, over-budget values replaced
	// or removed), report (nothing changes; what enforce would do is counted) or disabled.
	Mode Mode `mapstructure:"mode"`

	// Window is how long a series, value or key stays tracked after it was last seen: it is
	// forgotten between one and two windows later, and frees its place in the budget then.
	Window time.Duration `mapstructure:"window"`

	// Series is the budget of distinct series (attribute sets) per metric, a metric being
	// its name and its resource.
	Series SeriesConfig `mapstructure:"series"`

	// Attributes is the budget of distinct values per attribute key: per metric for data
	// points, per service for spans and log records.
	Attributes AttributesConfig `mapstructure:"attributes"`

	// Metrics override the budgets of single metrics, by exact name.
	Metrics map[string]MetricConfig `mapstructure:"metrics"`

	// Limits bound the guard's memory whatever the input.
	Limits LimitsConfig `mapstructure:"limits"`

	// TopOffenders is how many (metric, key) pairs that were over budget most often in the
	// last window are reported, in the top_offenders metric and the ledger; 0 reports none.
	TopOffenders int `mapstructure:"top_offenders"`

	_ struct{}
}

// SeriesConfig is the budget of series per metric.
type SeriesConfig struct {
	// MaxPerMetric is how many distinct series one metric may have in a window. The
	// overflow series comes on top of it.
	MaxPerMetric int `mapstructure:"max_per_metric"`
	// OverLimit is what becomes of a series past the budget: overflow (the default) folds it
	// into the metric's overflow series, the specification's otel.metric.overflow=true
	// point, keeping totals; drop drops it.
	OverLimit SeriesAction `mapstructure:"over_limit"`
}

// AttributesConfig is the budget of values per attribute key.
type AttributesConfig struct {
	// MaxValues is how many distinct values a key may have in a window, per metric (data
	// points) or per service (spans, log records).
	MaxValues int `mapstructure:"max_values"`
	// OverLimit is what becomes of a value past the budget: replace_value (the default)
	// replaces it with overflow_value; remove_key removes the attribute.
	OverLimit ValueAction `mapstructure:"over_limit"`
	// OverflowValue replaces values past the budget.
	OverflowValue string `mapstructure:"overflow_value"`
	// ExemptKeys are never limited (e.g. tenant.id).
	ExemptKeys []string `mapstructure:"exempt_keys"`
	// Keys override the budget of single keys.
	Keys map[string]KeyConfig `mapstructure:"keys"`
	// Signals are those whose attributes are limited: metrics (data point attributes, the
	// default), traces (span attributes), logs (log record attributes). A span's or a log
	// record's attributes are not series: limiting them by default would throw away what
	// traces and logs are kept for, so they are limited only when listed here.
	Signals []string `mapstructure:"signals"`
}

// KeyConfig overrides the budget of one key.
type KeyConfig struct {
	// MaxValues is the key's budget of distinct values; 0 keeps the default.
	MaxValues int `mapstructure:"max_values"`
	// OverLimit is what becomes of the key's values past the budget; empty keeps the default.
	OverLimit ValueAction `mapstructure:"over_limit"`
}

// MetricConfig overrides the budgets of one metric.
type MetricConfig struct {
	// Exempt leaves the metric unlimited and untracked.
	Exempt bool `mapstructure:"exempt"`
	// MaxSeries is the metric's budget of series; 0 keeps the default.
	MaxSeries int `mapstructure:"max_series"`
	// OverLimit is what becomes of the metric's series past the budget; empty keeps the
	// default.
	OverLimit SeriesAction `mapstructure:"over_limit"`
	// ExemptKeys are never limited on this metric, besides attributes.exempt_keys.
	ExemptKeys []string `mapstructure:"exempt_keys"`
	// Keys override the budget of single keys on this metric (over attributes.keys).
	Keys map[string]KeyConfig `mapstructure:"keys"`
}

// LimitsConfig bounds the guard's memory.
type LimitsConfig struct {
	// MaxSeries bounds the series tracked across all metrics (admitted, folded or dropped,
	// each about 30 bytes); a folded cumulative series also keeps its last value, and counts
	// as one more series per 8 histogram buckets.
	MaxSeries int `mapstructure:"max_series"`
	// MaxValues bounds the attribute values tracked across all keys.
	MaxValues int `mapstructure:"max_values"`
	// MaxKeys bounds the keys tracked: metrics (a name and a resource), services (for spans
	// and log records) and their attribute keys.
	MaxKeys int `mapstructure:"max_keys"`
	// WhenFull is what becomes of what cannot be tracked once a bound is reached: overflow
	// (the default) treats it as over budget (a delta or gauge point is folded into its
	// metric's overflow series; a cumulative point, which needs tracking to be folded, is
	// dropped; a value is replaced or removed); pass lets it through unchecked. Either way it
	// is counted with reason tracker_full.
	WhenFull FullAction `mapstructure:"when_full"`
}

// Mode says whether a guard acts on its decisions (telemetry_guard's schema guard takes the
// same modes).
type Mode string

const (
	// ModeEnforce folds, drops, replaces or removes what is over budget.
	ModeEnforce Mode = "enforce"
	// ModeReport changes nothing and counts what enforce would have done.
	ModeReport Mode = "report"
	// ModeDisabled turns the guard off: nothing is tracked or counted.
	ModeDisabled Mode = "disabled"
)

// UnmarshalText rejects unknown modes when the configuration is read.
func (m *Mode) UnmarshalText(text []byte) error {
	v := Mode(text)
	if err := v.Validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Validate rejects unknown modes.
func (m Mode) Validate() error {
	switch m {
	case ModeEnforce, ModeReport, ModeDisabled:
		return nil
	}
	return fmt.Errorf("unknown mode %q (want enforce, report or disabled)", string(m))
}

// SeriesAction is what becomes of a series past its metric's budget.
type SeriesAction string

const (
	// SeriesOverflow folds the series into the metric's overflow series.
	SeriesOverflow SeriesAction = "overflow"
	// SeriesDrop drops the series' points.
	SeriesDrop SeriesAction = "drop"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (a *SeriesAction) UnmarshalText(text []byte) error {
	v := SeriesAction(text)
	if err := v.validate(); err != nil {
		return err
	}
	*a = v
	return nil
}

func (a SeriesAction) validate() error {
	switch a {
	case SeriesOverflow, SeriesDrop:
		return nil
	}
	return fmt.Errorf("unknown over_limit %q (want overflow or drop)", string(a))
}

// ValueAction is what becomes of an attribute value past its key's budget.
type ValueAction string

const (
	// ValueReplace replaces the value with the overflow value.
	ValueReplace ValueAction = "replace_value"
	// ValueRemoveKey removes the attribute.
	ValueRemoveKey ValueAction = "remove_key"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (a *ValueAction) UnmarshalText(text []byte) error {
	v := ValueAction(text)
	if err := v.validate(); err != nil {
		return err
	}
	*a = v
	return nil
}

func (a ValueAction) validate() error {
	switch a {
	case ValueReplace, ValueRemoveKey:
		return nil
	}
	return fmt.Errorf("unknown over_limit %q (want replace_value or remove_key)", string(a))
}

// FullAction is what becomes of what cannot be tracked once a global bound is reached.
type FullAction string

const (
	// FullOverflow treats what cannot be tracked as over budget.
	FullOverflow FullAction = "overflow"
	// FullPass lets it through unchecked.
	FullPass FullAction = "pass"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (a *FullAction) UnmarshalText(text []byte) error {
	v := FullAction(text)
	if err := v.validate(); err != nil {
		return err
	}
	*a = v
	return nil
}

func (a FullAction) validate() error {
	switch a {
	case FullOverflow, FullPass:
		return nil
	}
	return fmt.Errorf("unknown when_full %q (want overflow or pass)", string(a))
}

// The signals whose attributes can be limited.
const (
	SignalMetrics = "metrics"
	SignalTraces  = "traces"
	SignalLogs    = "logs"
)

// Defaults, from the OpenTelemetry SDK's cardinality limit (2000 series per metric).
const (
	DefaultMaxSeriesPerMetric = 2000
	DefaultMaxValuesPerKey    = 1000
	DefaultOverflowValue      = "_OTHER"
	DefaultWindow             = 5 * time.Minute
	DefaultMaxTrackedSeries   = 1_000_000
	DefaultMaxTrackedValues   = 1_000_000
	DefaultMaxTrackedKeys     = 200_000
	DefaultTopOffenders       = 10
)

// Upper bounds of the settings that size reports.
const (
	maxTopOffenders = 100
	minWindow       = time.Second
)

// DefaultConfig is the guard on in enforce mode: 2000 series per metric with the
// specification's overflow, 1000 values per data point attribute key.
func DefaultConfig() Config {
	return Config{
		Mode:   ModeEnforce,
		Window: DefaultWindow,
		Series: SeriesConfig{MaxPerMetric: DefaultMaxSeriesPerMetric, OverLimit: SeriesOverflow},
		Attributes: AttributesConfig{
			MaxValues:     DefaultMaxValuesPerKey,
			OverLimit:     ValueReplace,
			OverflowValue: DefaultOverflowValue,
			Signals:       []string{SignalMetrics},
		},
		Limits: LimitsConfig{
			MaxSeries: DefaultMaxTrackedSeries,
			MaxValues: DefaultMaxTrackedValues,
			MaxKeys:   DefaultMaxTrackedKeys,
			WhenFull:  FullOverflow,
		},
		TopOffenders: DefaultTopOffenders,
	}
}

// Enabled reports whether the guard does anything.
func (c *Config) Enabled() bool { return c.Mode != ModeDisabled }

// Validate reports every problem of the configuration at once, each under its key relative to
// the guard's block (a processor nesting it under "cardinality" prefixes "cardinality."). It
// does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Mode.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("mode: %w", err))
	}
	if c.Window < minWindow {
		errs = append(errs, fmt.Errorf("window: must be at least %s, got %s", minWindow, c.Window))
	}
	if c.Series.MaxPerMetric < 1 {
		errs = append(errs, fmt.Errorf("series.max_per_metric: must be at least 1, got %d", c.Series.MaxPerMetric))
	}
	if err := c.Series.OverLimit.validate(); err != nil {
		errs = append(errs, fmt.Errorf("series.over_limit: %w", err))
	}
	a := &c.Attributes
	if a.MaxValues < 1 {
		errs = append(errs, fmt.Errorf("attributes.max_values: must be at least 1, got %d", a.MaxValues))
	}
	if err := a.OverLimit.validate(); err != nil {
		errs = append(errs, fmt.Errorf("attributes.over_limit: %w", err))
	}
	if a.OverflowValue == "" {
		errs = append(errs, errors.New("attributes.overflow_value: required (e.g. _OTHER)"))
	}
	errs = append(errs, validateKeyList("attributes.exempt_keys", a.ExemptKeys)...)
	errs = append(errs, validateKeys("attributes.keys", a.Keys)...)
	for i, s := range a.Signals {
		switch {
		case s != SignalMetrics && s != SignalTraces && s != SignalLogs:
			errs = append(errs, fmt.Errorf("attributes.signals[%d]: unknown signal %q (want metrics, traces or logs)", i, s))
		case slices.Contains(a.Signals[:i], s):
			errs = append(errs, fmt.Errorf("attributes.signals[%d]: %q is listed twice", i, s))
		}
	}
	for _, name := range sortedKeys(c.Metrics) {
		m := c.Metrics[name]
		key := "metrics[" + name + "]"
		if strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("metrics: a metric name is empty"))
		}
		if m.MaxSeries < 0 {
			errs = append(errs, fmt.Errorf("%s.max_series: must be at least 1, or 0 for the default; got %d", key, m.MaxSeries))
		}
		if m.OverLimit != "" {
			if err := m.OverLimit.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.over_limit: %w", key, err))
			}
		}
		if m.Exempt && (m.MaxSeries != 0 || m.OverLimit != "" || len(m.ExemptKeys) > 0 || len(m.Keys) > 0) {
			errs = append(errs, fmt.Errorf("%s: exempt: true leaves the metric unlimited; remove its other settings", key))
		}
		errs = append(errs, validateKeyList(key+".exempt_keys", m.ExemptKeys)...)
		errs = append(errs, validateKeys(key+".keys", m.Keys)...)
	}
	l := &c.Limits
	if l.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("limits.max_series: must be at least 1, got %d", l.MaxSeries))
	}
	if l.MaxValues < 1 {
		errs = append(errs, fmt.Errorf("limits.max_values: must be at least 1, got %d", l.MaxValues))
	}
	if l.MaxKeys < 1 {
		errs = append(errs, fmt.Errorf("limits.max_keys: must be at least 1, got %d", l.MaxKeys))
	}
	if err := l.WhenFull.validate(); err != nil {
		errs = append(errs, fmt.Errorf("limits.when_full: %w", err))
	}
	if c.TopOffenders < 0 || c.TopOffenders > maxTopOffenders {
		errs = append(errs, fmt.Errorf("top_offenders: must be 0 to %d, got %d", maxTopOffenders, c.TopOffenders))
	}
	return errors.Join(errs...)
}

func validateKeyList(key string, keys []string) []error {
	var errs []error
	for i, k := range keys {
		switch {
		case k == "":
			errs = append(errs, fmt.Errorf("%s[%d]: empty", key, i))
		case slices.Contains(keys[:i], k):
			errs = append(errs, fmt.Errorf("%s[%d]: %q is listed twice", key, i, k))
		}
	}
	return errs
}

func validateKeys(key string, keys map[string]KeyConfig) []error {
	var errs []error
	for _, name := range sortedKeys(keys) {
		k := keys[name]
		if name == "" {
			errs = append(errs, fmt.Errorf("%s: an attribute key is empty", key))
		}
		if k.MaxValues < 0 {
			errs = append(errs, fmt.Errorf("%s[%s].max_values: must be at least 1, or 0 for the default; got %d", key, name, k.MaxValues))
		}
		if k.OverLimit != "" {
			if err := k.OverLimit.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s[%s].over_limit: %w", key, name, err))
			}
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
