package piiredactionprocessor

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/sample"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// The golden tests run whole realistic batches (sample, with planted personal data) through
// the default configuration and compare every field with a reviewed expected output.

func TestGoldenTraces(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	td := sample.Traces(sample.Options{Items: 40, PIIEvery: 4})
	got, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(got)
	require.NoError(t, err)
	assertNothingPlanted(t, raw)
	path := filepath.Join("testdata", "golden", "traces.yaml")
	if *update {
		require.NoError(t, golden.WriteTraces(t, path, got))
	}
	want, err := golden.ReadTraces(path)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(want, got))
}

func TestGoldenLogs(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	ld := sample.Logs(sample.Options{Items: 40, PIIEvery: 4})
	got, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	raw, err := (&plog.JSONMarshaler{}).MarshalLogs(got)
	require.NoError(t, err)
	assertNothingPlanted(t, raw)
	path := filepath.Join("testdata", "golden", "logs.yaml")
	if *update {
		require.NoError(t, golden.WriteLogs(t, path, got))
	}
	want, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))
}

func TestGoldenMetrics(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	md := sample.Metrics(sample.Options{Items: 40, PIIEvery: 4})
	got, err := p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	raw, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(got)
	require.NoError(t, err)
	assertNothingPlanted(t, raw)
	path := filepath.Join("testdata", "golden", "metrics.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	// WriteMetrics sorts what it writes and normalises timestamps.
	require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreResourceMetricsOrder(),
		pmetrictest.IgnoreScopeMetricsOrder(), pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder(),
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp()))
}

func assertNothingPlanted(t *testing.T, raw []byte) {
	t.Helper()
	for _, planted := range sample.Planted {
		assert.NotContains(t, string(raw), planted)
	}
}
