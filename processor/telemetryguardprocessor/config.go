package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/confkeys"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// Config is the configuration of the telemetry_guard processor.
type Config struct {
	// Cardinality bounds the distinct series of every metric and the distinct values of every
	// attribute key. On by default, in enforce mode.
	Cardinality CardinalityConfig `mapstructure:"cardinality"`

	// Schema checks attributes against rules and a semantic-conventions registry. Off until
	// it has rules, rule files or a registry.
	Schema SchemaConfig `mapstructure:"schema"`

	// Rate limits each source's records and bytes per second. Off until it has limits.
	Rate RateConfig `mapstructure:"rate"`

	// Ledger is the audit_ledger extension that receives summaries (decisions per service
	// and signal, per interval) and, once per window, the top offenders. Optional.
	Ledger *component.ID `mapstructure:"ledger"`

	// SummaryInterval is how long decisions are merged before a summary is recorded.
	SummaryInterval time.Duration `mapstructure:"summary_interval"`

	_ struct{}
}

// CardinalityConfig is the cardinality guard's configuration (internal/cardinality's Config;
// a type of its own so that it is validated once, by Config, with its keys in full).
type CardinalityConfig cardinality.Config

// RateConfig is the rate guard's configuration (internal/ratelimit's Config), validated once,
// by Config.
type RateConfig ratelimit.Config

// SchemaConfig is the schema guard: its mode, and its rules, files, registry and actions.
type SchemaConfig struct {
	// Mode is enforce (the default: violations are truncated, dropped, tagged... as their
	// actions say), report (nothing changes; what enforce would do is counted) or disabled.
	Mode cardinality.Mode `mapstructure:"mode"`

	// Checks are the rules, rule files, registry and actions (internal/schema's Config), in
	// the section itself.
	Checks SchemaChecks `mapstructure:",squash"`
}

// SchemaChecks is internal/schema's Config, validated once, by Config.
type SchemaChecks schema.Config

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once, each under its full key. It
// does no I/O: rule files and registries are read, and their problems reported, at start.
func (c *Config) Validate() error {
	var errs []error
	card := cardinality.Config(c.Cardinality)
	errs = append(errs, prefixed("cardinality.", card.Validate())...)
	if err := c.Schema.Mode.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("schema.mode: %w", err))
	}
	checks := schema.Config(c.Schema.Checks)
	errs = append(errs, prefixed("schema.", checks.Validate())...)
	rate := ratelimit.Config(c.Rate)
	errs = append(errs, prefixed("rate.", rate.Validate())...)
	if c.SummaryInterval < time.Second {
		errs = append(errs, fmt.Errorf("summary_interval: must be at least 1s, got %s", c.SummaryInterval))
	}
	return errors.Join(errs...)
}

// prefixed splits a joined error (at any depth) and prefixes each part with the key it is
// under.
func prefixed(prefix string, err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, part := range joined.Unwrap() {
			out = append(out, prefixed(prefix, part)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}

// Unmarshal reports every key the configuration does not have, with the nearest valid one,
// before decoding it.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, cfg); err != nil {
		return err
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	return conf.Unmarshal((*plain)(cfg))
}
