package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelwarden/warden/internal/confkeys"
)

// Mode is what the audit exporter does with the telemetry it receives.
type Mode string

const (
	// ModeDeliveries forwards every batch to the destination exporter and records one audit
	// entry per delivery attempt.
	ModeDeliveries Mode = "deliveries"
	// ModeRecords turns log records that carry audit events into ledger entries; there is no
	// destination.
	ModeRecords Mode = "records"
)

// UnmarshalText rejects unknown modes when the configuration is read.
func (m *Mode) UnmarshalText(text []byte) error {
	switch mode := Mode(text); mode {
	case ModeDeliveries, ModeRecords:
		*m = mode
		return nil
	default:
		return fmt.Errorf("unknown mode %q (want deliveries or records)", mode)
	}
}

// Config is the configuration of the audit exporter.
type Config struct {
	// Ledger is the component ID of the audit_ledger extension that entries are recorded into.
	// Required: an audit exporter without a ledger has nothing to prove.
	Ledger component.ID `mapstructure:"ledger"`

	// Mode is deliveries (the default: wrap a destination and audit each delivery) or records
	// (turn incoming audit log records into ledger entries).
	Mode Mode `mapstructure:"mode"`

	// TenantMetadataKey is the client metadata key (e.g. an HTTP header or gRPC metadata key
	// kept by the receiver) holding the tenant of a batch. Optional.
	TenantMetadataKey string `mapstructure:"tenant_metadata_key"`

	// TenantAttribute is the resource attribute holding the tenant when the client metadata does
	// not; the first resource of the batch that has it wins. Optional.
	TenantAttribute string `mapstructure:"tenant_attribute"`

	// TimeoutConfig is the `timeout` of one delivery attempt. Recording the attempt in the
	// ledger gets a deadline of the same length of its own.
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`

	// QueueConfig is the audit exporter's `sending_queue`. The destination's own queue is
	// always off, so that the outcome recorded for an attempt is the real one.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// RetryConfig is the audit exporter's `retry_on_failure`: every retry is a new attempt and
	// is recorded. The destination's own retries are always off.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// destination is the wrapped exporter, decoded by Unmarshal from the `destination` key
	// into that exporter's own configuration. Unexported so that the collector's recursive
	// validation does not validate it a second time without the `destination.<type>` prefix.
	destination destination
}

const destinationKey = "destination"

var (
	_ component.Config    = (*Config)(nil)
	_ confmap.Validator   = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

// Unmarshal decodes the audit exporter's own settings, then `destination` into the default
// configuration of the chosen exporter's factory, with that exporter's queue and retries off.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	destConf, err := conf.Sub(destinationKey)
	if err != nil {
		return fmt.Errorf("%s: %w", destinationKey, err)
	}
	conf.Delete(destinationKey)
	if err := confkeys.Check(conf, cfg); err != nil {
		return err
	}

	// plain has Config's fields but not its Unmarshal method: decoding into it cannot recurse.
	type plain Config
	if err := conf.Unmarshal((*plain)(cfg)); err != nil {
		return err
	}

	dest, err := decodeDestination(destConf)
	if err != nil {
		return err
	}
	cfg.destination = dest
	return nil
}

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Ledger == (component.ID{}) {
		errs = append(errs, errors.New(`ledger: required: the component ID of the audit_ledger extension to record into (e.g. "ledger: audit_ledger")`))
	}
	if cfg.TenantMetadataKey != "" && cfg.QueueConfig.HasValue() && cfg.QueueConfig.Get().Batch.HasValue() &&
		!slices.ContainsFunc(cfg.QueueConfig.Get().Batch.Get().Partition.MetadataKeys, func(k string) bool { return strings.EqualFold(k, cfg.TenantMetadataKey) }) {
		errs = append(errs, fmt.Errorf("tenant_metadata_key: sending_queue::batch merges the requests of different clients and keeps none of their metadata, so the tenant would be lost: "+
			"add %q to sending_queue::batch::partition::metadata_keys (one batch per tenant), or turn batching off (sending_queue::batch::enabled: false)", cfg.TenantMetadataKey))
	}
	switch cfg.Mode {
	case ModeDeliveries:
		errs = append(errs, cfg.destination.validate()...)
	case ModeRecords:
		if len(cfg.destination.keys) > 0 {
			errs = append(errs, errors.New("destination: records mode takes no destination (incoming log records become ledger entries): remove it, or use mode: deliveries"))
		}
	default:
		errs = append(errs, fmt.Errorf("mode: unknown mode %q (want deliveries or records)", cfg.Mode))
	}
	return errors.Join(errs...)
}
