package auditcheckpointsreceiver // import "github.com/otelwarden/warden/receiver/auditcheckpointsreceiver"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/confkeys"
)

// Config is the configuration of the audit_checkpoints receiver.
type Config struct {
	// Ledger is the component ID of the audit_ledger extension whose checkpoints are emitted.
	// Required: the receiver has nothing else to receive from.
	Ledger component.ID `mapstructure:"ledger"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Ledger == (component.ID{}) {
		errs = append(errs, errors.New(`ledger: required: the component ID of the audit_ledger extension whose checkpoints to emit (e.g. "ledger: audit_ledger")`))
	}
	return errors.Join(errs...)
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
