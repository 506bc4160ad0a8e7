package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
)

// Config is the rate guard: token buckets per source, in records per second and bytes per
// second, each with a burst. With no limits set (the default) nothing is limited and no source
// is tracked.
type Config struct {
	// Mode is enforce (over-limit batches are refused or dropped, per on_limit), report
	// (every batch passes on; what enforce would do is counted) or disabled (nothing is
	// limited or tracked, whatever the limits). The limiter decides the same way in enforce
	// and report modes.
	Mode Mode `mapstructure:"mode"`

	// Source names who is sending: one client metadata key or one resource attribute.
	Source SourceConfig `mapstructure:"source"`

	// Limits are every source's limits unless an override says otherwise. Data without a
	// source (no such metadata key or resource attribute, or an empty value) is not exempt:
	// all of it shares one bucket with these limits, so that leaving the key out does not
	// escape the limit.
	Limits Limits `mapstructure:"limits"`

	// Overrides give single sources other limits, or none. An overridden source's bucket is
	// kept for the collector's lifetime and does not count against max_sources.
	Overrides []Override `mapstructure:"overrides"`

	// MaxSources bounds the sources tracked at once (about 350 bytes each). When a new source
	// arrives and the bound is reached, the least recently seen source is forgotten (of its
	// shard: sources are spread by hash over up to 64 shards of at least 64 sources; below 128
	// sources, one); if it comes back it starts again with a full bucket, so a sender that
	// cycles through more source values than this can exceed its limit. Set it above the number of sources you
	// expect, and authenticate senders (api_key_auth) when the source comes from the client.
	MaxSources int `mapstructure:"max_sources"`

	// OnLimit is what enforce mode does with an over-limit batch: refuse (the default) answers
	// the sender with a retryable error (gRPC RESOURCE_EXHAUSTED with a retry delay, HTTP 429
	// with Retry-After) so that it backs off and sends again; drop drops the batch (or the
	// over-limit sources' part of it) and counts it.
	OnLimit OnLimit `mapstructure:"on_limit"`

	_ struct{}
}

// SourceConfig chooses where a batch's source comes from: exactly one of the two keys.
type SourceConfig struct {
	// MetadataKey is a client metadata key (an HTTP header or gRPC metadata key, matched
	// without regard to case), e.g. x-tenant-id or x-api-key. The receiver must be configured
	// with include_metadata: true (otlp: protocols.grpc.include_metadata and
	// protocols.http.include_metadata), otherwise no batch carries it and all data shares the
	// bucket of data without a source. With several values the first one counts. The value
	// may be a secret: keep it out of errors, logs and metrics (the refusal never names it).
	MetadataKey string `mapstructure:"metadata_key"`

	// ResourceAttribute is a resource attribute, e.g. service.name or tenant.id. A batch
	// holding several resources is charged per resource to each one's source.
	ResourceAttribute string `mapstructure:"resource_attribute"`
}

// Limits are a source's token buckets. A rate of 0 leaves that dimension unlimited. A burst is
// the most a source may send at once after being idle, and its bucket's size; set it to at
// least the largest batch a sender sends, and preferably a few. A batch larger than the burst
// is admitted only when the bucket is full, and the source then owes the difference: its
// later batches wait until the debt is paid at the rate, so the average holds.
type Limits struct {
	// RecordsPerSecond is the sustained rate of records (spans, log records, metric data
	// points).
	RecordsPerSecond float64 `mapstructure:"records_per_second"`
	// RecordsBurst is the size of the records bucket; required with records_per_second.
	RecordsBurst int `mapstructure:"records_burst"`
	// BytesPerSecond is the sustained rate of bytes, counted as the size of the data's OTLP
	// protobuf encoding (uncompressed).
	BytesPerSecond float64 `mapstructure:"bytes_per_second"`
	// BytesBurst is the size of the bytes bucket; required with bytes_per_second.
	BytesBurst int `mapstructure:"bytes_burst"`
}

// Override sets one source's limits.
type Override struct {
	// Source is the source's value (metadata value or resource attribute value), exactly.
	Source string `mapstructure:"source"`
	// Limits replace the default limits field by field: a field left out (or 0) keeps the
	// default's value.
	Limits Limits `mapstructure:"limits"`
	// Unlimited exempts the source from every limit; limits must then be left out.
	Unlimited bool `mapstructure:"unlimited"`
}

// Mode says whether the guard acts on its decisions.
type Mode string

const (
	// ModeEnforce refuses or drops over-limit batches, per on_limit.
	ModeEnforce Mode = "enforce"
	// ModeReport passes every batch on and counts what enforce would have done.
	ModeReport Mode = "report"
	// ModeDisabled turns the guard off: nothing is limited, tracked or counted.
	ModeDisabled Mode = "disabled"
)

// UnmarshalText rejects unknown modes when the configuration is read.
func (m *Mode) UnmarshalText(text []byte) error {
	v := Mode(text)
	if err := v.validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m Mode) validate() error {
	switch m {
	case ModeEnforce, ModeReport, ModeDisabled:
		return nil
	}
	return fmt.Errorf("unknown mode %q (want enforce, report or disabled)", string(m))
}

// OnLimit is what enforce mode does with an over-limit batch.
type OnLimit string

const (
	// OnLimitRefuse answers the sender with a retryable refusal (RESOURCE_EXHAUSTED / 429).
	OnLimitRefuse OnLimit = "refuse"
	// OnLimitDrop drops the over-limit data and counts it.
	OnLimitDrop OnLimit = "drop"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (o *OnLimit) UnmarshalText(text []byte) error {
	v := OnLimit(text)
	if err := v.validate(); err != nil {
		return err
	}
	*o = v
	return nil
}

func (o OnLimit) validate() error {
	switch o {
	case OnLimitRefuse, OnLimitDrop:
		return nil
	}
	return fmt.Errorf("unknown on_limit %q (want refuse or drop)", string(o))
}

// DefaultConfig is the rate guard with no limits: enforce mode, refuse, 10000 sources.
func DefaultConfig() Config {
	return Config{Mode: ModeEnforce, MaxSources: 10000, OnLimit: OnLimitRefuse}
}

// Enabled reports whether any source is limited: the guard is not disabled and has default
// limits or an override with limits.
func (c *Config) Enabled() bool {
	if c.Mode == ModeDisabled {
		return false
	}
	if c.Limits.limited() {
		return true
	}
	for _, o := range c.Overrides {
		if !o.Unlimited && o.Limits.limited() {
			return true
		}
	}
	return false
}

// Validate reports every problem of the configuration at once, each under its key relative to
// the rate guard's block (a processor nesting it under "rate" prefixes "rate."). It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Mode.validate(); err != nil {
		errs = append(errs, fmt.Errorf("mode: %w", err))
	}
	if err := c.OnLimit.validate(); err != nil {
		errs = append(errs, fmt.Errorf("on_limit: %w", err))
	}
	errs = append(errs, c.Limits.validate("limits.", c.Limits)...)
	seen := make(map[string]int, len(c.Overrides))
	for i, o := range c.Overrides {
		key := fmt.Sprintf("overrides[%d].", i)
		if o.Source == "" {
			errs = append(errs, fmt.Errorf("%ssource: required (the source's value, exactly)", key))
		} else if first, dup := seen[o.Source]; dup {
			errs = append(errs, fmt.Errorf("%ssource: the same source as overrides[%d]", key, first))
		} else {
			seen[o.Source] = i
		}
		if o.Unlimited {
			if o.Limits != (Limits{}) {
				errs = append(errs, fmt.Errorf("%slimits: set with unlimited: true; leave one out", key))
			}
			continue
		}
		if o.Limits == (Limits{}) {
			errs = append(errs, fmt.Errorf("%slimits: required: the limits that differ from the default, or unlimited: true", key))
			continue
		}
		errs = append(errs, o.Limits.validate(key+"limits.", c.Limits.merge(o.Limits))...)
	}
	if c.Enabled() {
		errs = append(errs, c.Source.validate()...)
		if c.MaxSources < 1 {
			errs = append(errs, fmt.Errorf("max_sources: must be at least 1 (the sources tracked at once), got %d", c.MaxSources))
		}
	}
	return errors.Join(errs...)
}

func (s SourceConfig) validate() []error {
	switch {
	case s.MetadataKey != "" && s.ResourceAttribute != "":
		return []error{errors.New("source: set either metadata_key or resource_attribute, not both")}
	case s.MetadataKey == "" && s.ResourceAttribute == "":
		return []error{errors.New("source: required with limits: metadata_key (client metadata such as x-tenant-id; the receiver needs include_metadata: true) or resource_attribute (such as service.name)")}
	case s.MetadataKey != "" && strings.ContainsFunc(s.MetadataKey, func(r rune) bool { return unicode.IsSpace(r) || r == ':' }):
		return []error{fmt.Errorf("source.metadata_key: %q is not a header or metadata key (no spaces or colons)", s.MetadataKey)}
	case s.ResourceAttribute != "" && strings.TrimSpace(s.ResourceAttribute) == "":
		return []error{errors.New("source.resource_attribute: blank")}
	}
	return nil
}

func (l Limits) limited() bool { return l.RecordsPerSecond != 0 || l.BytesPerSecond != 0 }

// merge returns l with the fields o sets.
func (l Limits) merge(o Limits) Limits {
	if o.RecordsPerSecond != 0 {
		l.RecordsPerSecond = o.RecordsPerSecond
	}
	if o.RecordsBurst != 0 {
		l.RecordsBurst = o.RecordsBurst
	}
	if o.BytesPerSecond != 0 {
		l.BytesPerSecond = o.BytesPerSecond
	}
	if o.BytesBurst != 0 {
		l.BytesBurst = o.BytesBurst
	}
	return l
}

// validate checks the values of l and, in pairs, whether each rate has its burst; with an
// override, the pairs are those of the merged limits and the values only those it sets.
func (l Limits) validate(prefix string, merged Limits) []error {
	var errs []error
	errs = append(errs, validateRate(prefix+"records_per_second", l.RecordsPerSecond)...)
	errs = append(errs, validateBurst(prefix+"records_burst", l.RecordsBurst)...)
	errs = append(errs, validateRate(prefix+"bytes_per_second", l.BytesPerSecond)...)
	errs = append(errs, validateBurst(prefix+"bytes_burst", l.BytesBurst)...)
	errs = append(errs, validatePair(prefix, "records", merged.RecordsPerSecond, merged.RecordsBurst)...)
	errs = append(errs, validatePair(prefix, "bytes", merged.BytesPerSecond, merged.BytesBurst)...)
	return errs
}

func validateRate(key string, perSecond float64) []error {
	if math.IsNaN(perSecond) || math.IsInf(perSecond, 0) || perSecond < 0 {
		return []error{fmt.Errorf("%s: must be a positive number, or 0 for no limit; got %v", key, perSecond)}
	}
	return nil
}

func validateBurst(key string, burst int) []error {
	if burst < 0 {
		return []error{fmt.Errorf("%s: must be positive, got %d", key, burst)}
	}
	return nil
}

// validatePair reports a rate without a burst and a burst without a rate; invalid values are
// reported by themselves.
func validatePair(prefix, unit string, perSecond float64, burst int) []error {
	rateKey, burstKey := unit+"_per_second", prefix+unit+"_burst"
	switch {
	case burst < 0 || validateRate("", perSecond) != nil:
		return nil
	case perSecond > 0 && burst == 0:
		return []error{fmt.Errorf("%s: required with %s: the most %s admitted at once, at least the largest batch (e.g. %d, two seconds' worth)",
			burstKey, rateKey, unit, suggestedBurst(perSecond))}
	case perSecond == 0 && burst > 0:
		return []error{fmt.Errorf("%s: set without %s", burstKey, rateKey)}
	}
	return nil
}

func suggestedBurst(perSecond float64) int {
	if b := 2 * perSecond; b < math.MaxInt32 {
		return max(1, int(math.Ceil(b)))
	}
	return math.MaxInt32
}
