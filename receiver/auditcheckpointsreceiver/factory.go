package auditcheckpointsreceiver // import "github.com/otelwarden/warden/receiver/auditcheckpointsreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelwarden/warden/receiver/auditcheckpointsreceiver/internal/metadata"
)

// NewFactory returns the factory of the audit_checkpoints receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newCheckpointsReceiver(set, cfg.(*Config), next)
}
