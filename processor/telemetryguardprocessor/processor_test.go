package telemetryguardprocessor

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type (
	cardinalityKey    = cardinality.KeyConfig
	cardinalityMetric = cardinality.MetricConfig
)

func testConfig(mutate func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

func newTestProcessor(t testing.TB, cfg *Config) *guardProcessor {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p
}

// The golden tests run hand-built batches past their budgets through the processor and
// compare every field with a reviewed expected output.

func TestGoldenMetrics(t *testing.T) {
	p := newTestProcessor(t, testConfig(goldenConfig))
	for round := 1; round <= 2; round++ {
		got, err := p.processMetrics(context.Background(), goldenMetrics(round))
		require.NoError(t, err)
		path := filepath.Join("testdata", "golden", "metrics-"+string(rune('0'+round))+".yaml")
		if *update {
			require.NoError(t, golden.WriteMetrics(t, path, got))
		}
		want, err := golden.ReadMetrics(path)
		require.NoError(t, err)
		require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreMetricDataPointsOrder(),
			pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp()), "round %d", round)
	}
}

func TestGoldenLogs(t *testing.T) {
	p := newTestProcessor(t, testConfig(goldenConfig))
	got, err := p.processLogs(context.Background(), goldenLogs())
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", "logs.yaml")
	if *update {
		require.NoError(t, golden.WriteLogs(t, path, got))
	}
	want, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))
}

func TestGoldenTraces(t *testing.T) {
	p := newTestProcessor(t, testConfig(goldenConfig))
	got, err := p.processTraces(context.Background(), goldenTraces())
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", "traces.yaml")
	if *update {
		require.NoError(t, golden.WriteTraces(t, path, got))
	}
	want, err := golden.ReadTraces(path)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(want, got))
}
