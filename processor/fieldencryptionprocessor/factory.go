package fieldencryptionprocessor // import "github.com/otelwarden/warden/processor/fieldencryptionprocessor"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelwarden/warden/internal/sharedcomponent"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadata"
)

// NewFactory returns the factory of the field_encryption processor.
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

// Defaults. A data key serves five minutes (the Encryption SDK's usual age) and at most 100
// million values, well under the 2^32 bound of AES-GCM with random nonces: about one KMS call
// per five minutes per tenant, service and field.
const (
	defaultMaxAge          = 5 * time.Minute
	defaultMaxMessages     = 100_000_000
	defaultMaxBytes        = 1 << 40
	defaultSummaryInterval = 10 * time.Second
)

func createDefaultConfig() component.Config {
	return &Config{
		Cache:           CacheConfig{MaxAge: defaultMaxAge, MaxMessages: defaultMaxMessages, MaxBytes: defaultMaxBytes},
		OnKeyError:      OnKeyErrorRefuse,
		SummaryInterval: defaultSummaryInterval,
	}
}

// instance returns the processor of cfg, if one was created.
func (f *factory) instance(cfg *Config) *fieldProcessor {
	var p *fieldProcessor
	if c, err := f.instances.LoadOrStore(cfg, func() (*fieldProcessor, error) { return nil, errNotCreated }); err == nil {
		p = c.Unwrap
	}
	return p
}

var errNotCreated = errors.New("not created")

// factory keeps one processor per configuration, shared by the pipelines of every signal
// that use it, so that they share one data-key cache (and one KMS call per data key).
type factory struct {
	instances sharedcomponent.Map[*Config, *fieldProcessor]
}

func (f *factory) get(set processor.Settings, cfg *Config) (*sharedcomponent.Component[*fieldProcessor], error) {
	return f.instances.LoadOrStore(cfg, func() (*fieldProcessor, error) { return newProcessor(set, cfg) })
}

var processorCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func (f *factory) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, s.Unwrap.processTraces,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}

func (f *factory) createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, s.Unwrap.processLogs,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}

func (f *factory) createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, s.Unwrap.processMetrics,
		processorCapabilities, processorhelper.WithStart(s.Start), processorhelper.WithShutdown(s.Shutdown))
}
