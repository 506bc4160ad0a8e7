package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadata"
)

// NewFactory returns the factory of the audit exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Mode:          ModeDeliveries,
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   configoptional.Some(defaultQueueConfig()),
		RetryConfig:   configretry.NewDefaultBackOffConfig(),
	}
}

// Batching of the default queue. A request smaller than minBatchItems waits up to
// flushTimeout for others to join its batch: the latency a lone sender pays per request, and
// one ledger entry per batch instead of per request. minBatchItems is the OpenTelemetry SDKs'
// default export batch size, so a full SDK export goes at once. Measured figures: README.
const (
	flushTimeout  = 20 * time.Millisecond
	minBatchItems = 512
	maxBatchItems = 8192
)

// defaultQueueConfig acknowledges a request only once its delivery is made and recorded: the
// sender waits for the result of the batch its request was merged into (retries included),
// and a full queue holds senders back instead of refusing them.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.WaitForResult = true
	q.BlockOnOverflow = true
	q.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: flushTimeout,
		Sizer:        exporterhelper.RequestSizerTypeItems,
		MinSize:      minBatchItems,
		MaxSize:      maxBatchItems,
	})
	return q
}

var errNoDestination = errors.New("audit: no destination configured (deliveries mode needs exactly one under destination)")

func errRecordsTakeLogs(signal pipeline.Signal) error {
	return fmt.Errorf("audit: records mode takes logs, not %s: use mode: deliveries to deliver and audit %s", signal, signal)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	if c.Mode == ModeRecords {
		return nil, errRecordsTakeLogs(pipeline.SignalTraces)
	}
	e, factory, destSet, err := newDeliveryExporter(set, c)
	if err != nil {
		return nil, err
	}
	dest, err := factory.CreateTraces(ctx, destSet, c.destination.cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: creating destination %s: %w", destSet.ID, err)
	}
	e.dest, e.traces = dest, dest
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, helperOptions(c, set.Logger, e, dest.Capabilities())...)
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	if c.Mode == ModeRecords {
		return nil, errRecordsTakeLogs(pipeline.SignalMetrics)
	}
	e, factory, destSet, err := newDeliveryExporter(set, c)
	if err != nil {
		return nil, err
	}
	dest, err := factory.CreateMetrics(ctx, destSet, c.destination.cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: creating destination %s: %w", destSet.ID, err)
	}
	e.dest, e.metrics = dest, dest
	return exporterhelper.NewMetrics(ctx, set, cfg, e.pushMetrics, helperOptions(c, set.Logger, e, dest.Capabilities())...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	if c.Mode == ModeRecords {
		e, err := newRecordsExporter(set, c)
		if err != nil {
			return nil, err
		}
		return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, helperOptions(c, set.Logger, e, consumer.Capabilities{})...)
	}
	e, factory, destSet, err := newDeliveryExporter(set, c)
	if err != nil {
		return nil, err
	}
	dest, err := factory.CreateLogs(ctx, destSet, c.destination.cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: creating destination %s: %w", destSet.ID, err)
	}
	e.dest, e.logs = dest, dest
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, helperOptions(c, set.Logger, e, dest.Capabilities())...)
}

// newDeliveryExporter prepares a deliveries-mode exporter and the factory and settings of
// its destination. The destination's ID is named after the audit exporter (`file/audit/x`
// for `audit/x`), so that its own telemetry says whose destination it is.
func newDeliveryExporter(set exporter.Settings, cfg *Config) (*deliveryExporter, exporter.Factory, exporter.Settings, error) {
	if cfg.destination.cfg == nil {
		return nil, nil, exporter.Settings{}, errNoDestination
	}
	factory, ok := destinationFactory(cfg.destination.key)
	if !ok {
		return nil, nil, exporter.Settings{}, fmt.Errorf("audit: unknown destination type %q (want %s)", cfg.destination.key, allowedDestinations)
	}
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, nil, exporter.Settings{}, err
	}
	destSet := exporter.Settings{
		ID:                component.NewIDWithName(factory.Type(), set.ID.String()),
		TelemetrySettings: set.TelemetrySettings,
		BuildInfo:         set.BuildInfo,
	}
	destSet.Logger = set.Logger.With(zap.String("destination", destSet.ID.String()))
	return newDeliveries(set.ID, destSet.ID, cfg, telemetry, set.Logger), factory, destSet, nil
}

// lifecycle is what both modes give exporterhelper.
type lifecycle interface {
	start(ctx context.Context, host component.Host) error
	shutdown(ctx context.Context) error
}

// helperOptions wires the audit exporter's own timeout, retries and queue: the destination's
// are off, so every attempt, and its outcome, passes through our push function.
func helperOptions(cfg *Config, logger *zap.Logger, l lifecycle, caps consumer.Capabilities) []exporterhelper.Option {
	start := func(ctx context.Context, host component.Host) error {
		if warning := ackWarning(cfg); warning != "" {
			logger.Warn(warning)
		}
		return l.start(ctx, host)
	}
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(caps),
		exporterhelper.WithTimeout(cfg.TimeoutConfig),
		exporterhelper.WithRetry(cfg.RetryConfig),
		exporterhelper.WithQueue(cfg.QueueConfig),
		exporterhelper.WithStart(start),
		exporterhelper.WithShutdown(l.shutdown),
	}
}

// ackWarning says why, with cfg's queue, a sender's request is acknowledged before its
// delivery is made and recorded; empty when it is not.
func ackWarning(cfg *Config) string {
	if !cfg.QueueConfig.HasValue() {
		return ""
	}
	q := cfg.QueueConfig.Get()
	switch {
	case q.StorageID != nil:
		return "sending_queue::storage: requests are acknowledged once stored in the persistent queue, before their delivery is made and recorded in the ledger; " +
			"until then the ledger does not show them, and what the queue's storage loses is lost unrecorded"
	case !q.WaitForResult:
		return "sending_queue::wait_for_result is false: requests are acknowledged once queued in memory, before their delivery is made and recorded in the ledger; " +
			"a crash loses acknowledged requests that are neither delivered nor recorded (set wait_for_result: true)"
	}
	return ""
}
