package fieldencryptionprocessor // import "github.com/otelwarden/warden/processor/fieldencryptionprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadata"
)

// NewFactory returns the factory of the field_encryption processor.
func NewFactory() processor.Factory { return newFactory().processorFactory() }

func newFactory() *factory { return &factory{instances: map[*Config]*shared{}} }

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
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.instances[cfg]; ok {
		return s.p
	}
	return nil
}

// factory keeps one processor per configuration, shared by the pipelines of every signal
// that use it, so that they share one data-key cache (and one KMS call per data key).
type factory struct {
	mu        sync.Mutex
	instances map[*Config]*shared
}

// shared is a processor used by several pipelines: started by the first, shut down by the last.
type shared struct {
	p       *fieldProcessor
	mu      sync.Mutex
	started int
	err     error
}

func (f *factory) get(set processor.Settings, cfg *Config) (*shared, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.instances[cfg]; ok {
		return s, nil
	}
	p, err := newProcessor(set, cfg)
	if err != nil {
		return nil, err
	}
	s := &shared{p: p}
	f.instances[cfg] = s
	return s, nil
}

func (s *shared) start(ctx context.Context, host component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started++
	if s.started == 1 {
		s.err = s.p.start(ctx, host)
	}
	return s.err
}

func (f *factory) shutdown(cfg *Config, s *shared) func(context.Context) error {
	return func(ctx context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.started == 0 {
			return nil
		}
		s.started--
		if s.started > 0 {
			return nil
		}
		f.mu.Lock()
		delete(f.instances, cfg)
		f.mu.Unlock()
		return s.p.shutdown(ctx)
	}
}

var processorCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func (f *factory) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c := cfg.(*Config)
	s, err := f.get(set, c)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, s.p.processTraces,
		processorCapabilities, processorhelper.WithStart(s.start), processorhelper.WithShutdown(f.shutdown(c, s)))
}

func (f *factory) createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c := cfg.(*Config)
	s, err := f.get(set, c)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, s.p.processLogs,
		processorCapabilities, processorhelper.WithStart(s.start), processorhelper.WithShutdown(f.shutdown(c, s)))
}

func (f *factory) createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c := cfg.(*Config)
	s, err := f.get(set, c)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, s.p.processMetrics,
		processorCapabilities, processorhelper.WithStart(s.start), processorhelper.WithShutdown(f.shutdown(c, s)))
}
