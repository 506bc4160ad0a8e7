package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
)

// Config is the configuration of the telemetry_guard processor. Each guard validates its own
// section (the collector validates nested sections and names them).
type Config struct {
	// Cardinality bounds the distinct series of every metric and the distinct values of every
	// attribute key. On by default, in enforce mode.
	Cardinality cardinality.Config `mapstructure:"cardinality"`

	// Ledger is the audit_ledger extension that receives summaries (decisions per service
	// and signal, per interval) and, once per window, the top offenders. Optional.
	Ledger *component.ID `mapstructure:"ledger"`

	// SummaryInterval is how long decisions are merged before a summary is recorded.
	SummaryInterval time.Duration `mapstructure:"summary_interval"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the processor's own settings; the guards' sections validate themselves.
func (c *Config) Validate() error {
	if c.SummaryInterval < time.Second {
		return fmt.Errorf("summary_interval: must be at least 1s, got %s", c.SummaryInterval)
	}
	return nil
}
