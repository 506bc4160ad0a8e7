package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelwarden/warden/internal/sharedcomponent"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
)

// NewFactory returns the factory of the telemetry_guard processor.
func NewFactory() processor.Factory { return newFactory().processorFactory() }

func newFactory() *factory { return &factory{} }

func (f *factory) processorFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(f.createTraces, metadata.TracesStability),
		processor.WithLogs(f.createLogs, metadata.LogsStability),
		processor.WithMetrics(f.createMetrics, metadata.MetricsStability),
	)
}

// defaultSummaryInterval bounds what a crash can lose of the ledger's summaries while keeping
// the ledger's growth to a few entries per service every ten seconds.
const defaultSummaryInterval = 10 * time.Second

// createDefaultConfig is the guard with no settings: cardinality on in enforce mode, 2000
// series per metric with the specification's overflow, 1000 values per data point attribute
// key; no schema rules; no rate limits.
func createDefaultConfig() component.Config {
	return &Config{
		Cardinality:     CardinalityConfig(cardinality.DefaultConfig()),
		Schema:          SchemaConfig{Mode: cardinality.ModeEnforce},
		Rate:            RateConfig(ratelimit.DefaultConfig()),
		SummaryInterval: defaultSummaryInterval,
	}
}

// factory keeps one processor per configuration, shared by the pipelines of every signal that
// use it, so that they share one state (and, for a source sending several signals, one
// budget).
type factory struct {
	instances sharedcomponent.Map[*Config, *guardProcessor]
}

var processorCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func (f *factory) get(set processor.Settings, cfg component.Config) (*sharedcomponent.Component[*guardProcessor], error) {
	return f.instances.LoadOrStore(cfg.(*Config), func() (*guardProcessor, error) { return newProcessor(set, cfg.(*Config)) })
}

func (f *factory) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := f.get(set, cfg)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, s.Unwrap.processTraces,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}

func (f *factory) createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := f.get(set, cfg)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, s.Unwrap.processLogs,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}

func (f *factory) createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	s, err := f.get(set, cfg)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, s.Unwrap.processMetrics,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}
