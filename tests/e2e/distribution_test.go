//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startDefault runs the embedded default config on free ports, writing under a temp dir.
func startDefault(t *testing.T, name string) (*Collector, map[string]string) {
	t.Helper()
	env := DefaultEnv(t, t.TempDir())
	return StartCollector(t, name, filepath.Join(root, "distribution", "config.yaml"), env), env
}

// TestDefaultConfigAllSignals sends traces, logs and metrics over gRPC and HTTP to the
// embedded default and reads them back from its file output.
func TestDefaultConfigAllSignals(t *testing.T) {
	c, env := startDefault(t, "default")
	grpcEP, httpEP := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_OTLP_HTTP_ENDPOINT"]
	data := env["WARDEN_DATA_DIR"]

	common := []string{"--rate", "0", "--otlp-insecure"}
	Telemetrygen(t, "traces", append(common, "--otlp-endpoint", grpcEP, "--traces", "40", "--service", "e2e-grpc",
		"--telemetry-attributes", `e2e.case="default"`)...)
	Telemetrygen(t, "traces", append(common, "--otlp-endpoint", httpEP, "--otlp-http", "--traces", "10", "--service", "e2e-http")...)
	Telemetrygen(t, "logs", append(common, "--otlp-endpoint", grpcEP, "--logs", "50", "--body", "hello from e2e")...)
	Telemetrygen(t, "logs", append(common, "--otlp-endpoint", httpEP, "--otlp-http", "--logs", "25")...)
	Telemetrygen(t, "metrics", append(common, "--otlp-endpoint", grpcEP, "--metrics", "30")...)
	Telemetrygen(t, "metrics", append(common, "--otlp-endpoint", httpEP, "--otlp-http", "--metrics", "20")...)

	// telemetrygen sends a parent and one child span per trace.
	Eventually(t, "spans written", 2*(40+10), SpanCount(t, filepath.Join(data, "traces.jsonl")), 30*time.Second, c)
	Eventually(t, "log records written", 75, LogCount(t, filepath.Join(data, "logs.jsonl")), 30*time.Second, c)
	Eventually(t, "data points written", 50, DataPointCount(t, filepath.Join(data, "metrics.jsonl")), 30*time.Second, c)

	td := ReadTraces(t, filepath.Join(data, "traces.jsonl"))
	assert.Equal(t, map[string]int{"e2e-grpc": 80, "e2e-http": 20}, ServiceNames(td))
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if v, ok := span.Attributes().Get("e2e.case"); ok {
		assert.Equal(t, "default", v.Str())
	} else {
		// Attributes travel with the gRPC batch; the first resource may be the HTTP one.
		found := false
		for i := 0; i < td.ResourceSpans().Len() && !found; i++ {
			s := td.ResourceSpans().At(i).ScopeSpans().At(0).Spans().At(0)
			_, found = s.Attributes().Get("e2e.case")
		}
		assert.True(t, found, "telemetry attributes survive the pipeline")
	}

	ld := ReadLogs(t, filepath.Join(data, "logs.jsonl"))
	bodies := map[string]int{}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		lrs := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
		for j := 0; j < lrs.Len(); j++ {
			bodies[lrs.At(j).Body().AsString()]++
		}
	}
	assert.Equal(t, 50, bodies["hello from e2e"])

	// Health and the collector's own metrics are served on loopback.
	resp, err := http.Get("http://" + env["WARDEN_HEALTH_ENDPOINT"])
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get("http://127.0.0.1:" + env["WARDEN_METRICS_PORT"] + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "otelcol_receiver_accepted_spans")

	c.Stop()
	assert.NotContains(t, c.Log(), "panic")
}

// TestComponentsListed checks that the binary carries every component the distribution promises.
func TestComponentsListed(t *testing.T) {
	out, err := runCollector(t, "components")
	require.NoError(t, err, out)
	for _, want := range []string{
		// receivers
		"otlp", "file_log", "host_metrics", "kafka",
		// processors
		"batch", "memory_limiter", "attributes", "resource", "transform", "filter", "redaction",
		// exporters
		"debug", "nop", "otlp_grpc", "otlp_http", "file", "clickhouse", "load_balancing",
		// extensions
		"health_check", "pprof", "zpages", "file_storage", "basicauth", "bearertokenauth",
		// connectors
		"forward",
		// Warden's own
		"pii_redaction", "field_encryption", "telemetry_guard", "audit", "audit_ledger", "audit_checkpoints",
		"api_key_auth", "api_key_scope",
	} {
		assert.Contains(t, out, "- name: "+want+"\n", "component %s", want)
	}
	for _, scheme := range []string{"env", "file", "http", "https", "yaml"} {
		assert.Contains(t, out, "scheme: "+scheme, "provider %s", scheme)
	}
}

func runCollector(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := execOutput(collectorBin, args...)
	return out, err
}

// TestEveryConfigValidates runs `otelcol-warden validate` on every config in the repository.
func TestEveryConfigValidates(t *testing.T) {
	configs := []string{filepath.Join(root, "distribution", "config.yaml")}
	examples, err := filepath.Glob(filepath.Join(root, "examples", "*", "*.yaml"))
	require.NoError(t, err)
	for _, e := range examples {
		if strings.HasPrefix(filepath.Base(e), "config") {
			configs = append(configs, e)
		}
	}
	require.GreaterOrEqual(t, len(configs), 3, "the default and the examples")
	for _, cfg := range configs {
		rel, _ := filepath.Rel(root, cfg)
		t.Run(rel, func(t *testing.T) {
			out, err := Validate(t, cfg, nil)
			require.NoError(t, err, out)
		})
	}
}

// TestBadConfigIsRefused proves that validation is real: a typo is named.
func TestBadConfigIsRefused(t *testing.T) {
	cfg := WriteConfig(t, `
receivers:
  otlp:
    protocols:
      grpc:
        endpont: 127.0.0.1:4317
exporters:
  nop:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
`)
	out, err := Validate(t, cfg, nil)
	require.Error(t, err)
	assert.Contains(t, out, "endpont")
}
