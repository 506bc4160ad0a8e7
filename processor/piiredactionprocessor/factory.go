package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadata"
)

// NewFactory returns the factory of the pii_redaction processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

const (
	defaultPhoneKeepLast = 4
	// defaultPhoneRegion: national numbers are read as North American ones unless told.
	defaultPhoneRegion = "US"
	// defaultSummaryInterval bounds what a crash can lose of the ledger's summaries while
	// keeping the ledger's growth to a few entries per service every ten seconds.
	defaultSummaryInterval = 10 * time.Second
)

func createDefaultConfig() component.Config {
	redact := ActionConfig{Action: ActionRedact}
	keep := ActionConfig{Action: ActionKeep}
	return &Config{
		Detectors: DetectorsConfig{
			Email:      ActionConfig{Action: ActionHash},
			Card:       redact,
			SSN:        redact,
			Phone:      PhoneConfig{ActionConfig: ActionConfig{Action: ActionMask, KeepLast: defaultPhoneKeepLast}, Regions: []string{defaultPhoneRegion}},
			IPv4:       keep,
			IPv6:       keep,
			IBAN:       redact,
			JWT:        redact,
			Bearer:     redact,
			BasicAuth:  redact,
			AWSKey:     redact,
			PrivateKey: redact,
			Credential: redact,
		},
		SensitiveKeys: SensitiveKeysConfig{ActionConfig: redact},
		Names:         NamesConfig{ActionConfig: keep},
		URL: URLConfig{
			Keys: []string{"url.full", "url.query", "url.original", "http.url", "http.target"},
		},
		Signals: SignalsConfig{Traces: true, Logs: true, Metrics: true},
		Scan: ScanConfig{
			Names:          true,
			StatusMessages: true,
			Bodies:         true,
			MaxScanBytes:   detect.DefaultMaxScanBytes,
			Oversize:       OversizeRedact,
		},
		SummaryInterval: defaultSummaryInterval,
	}
}

var processorCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorCapabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorCapabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p, err := newProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorCapabilities, processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}
