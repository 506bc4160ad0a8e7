package auditledgerextension

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
)

// NewFactory returns the audit_ledger extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		File: FileConfig{
			Directory:     "./data/audit",
			MaxSegmentMiB: 64,
			MaxSegmentAge: 24 * time.Hour,
		},
		Postgres: configoptional.Default(PostgresConfig{
			Table:            "audit_log",
			CreateSchema:     true,
			BatchSize:        1000,
			MaxBacklog:       1_000_000,
			RetryInterval:    time.Second,
			MaxRetryInterval: 30 * time.Second,
		}),
		Checkpoint: CheckpointConfig{
			Interval: time.Minute,
			Entries:  10000,
			Witness: WitnessConfig{Postgres: configoptional.Default(WitnessPostgresConfig{
				Table:        "audit_witness",
				CreateSchema: true,
			})},
		},
		DedupWindow: 100_000,
		MaxBatch:    4096,
		OnDamage:    OnDamageRefuse,
		Alerts:      alerting.Config{QueueSize: 1000},
	}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newLedger(cfg.(*Config), set)
}
