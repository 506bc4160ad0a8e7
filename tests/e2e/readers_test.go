//go:build e2e

package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ReadTraces merges every OTLP JSON line of a file exporter output.
func ReadTraces(t testing.TB, path string) ptrace.Traces {
	t.Helper()
	out := ptrace.NewTraces()
	var u ptrace.JSONUnmarshaler
	for _, line := range jsonLines(t, path) {
		td, err := u.UnmarshalTraces(line)
		require.NoError(t, err, "%s: not OTLP JSON traces", path)
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

// ReadLogs merges every OTLP JSON line of a file exporter output.
func ReadLogs(t testing.TB, path string) plog.Logs {
	t.Helper()
	out := plog.NewLogs()
	var u plog.JSONUnmarshaler
	for _, line := range jsonLines(t, path) {
		ld, err := u.UnmarshalLogs(line)
		require.NoError(t, err, "%s: not OTLP JSON logs", path)
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

// ReadMetrics merges every OTLP JSON line of a file exporter output.
func ReadMetrics(t testing.TB, path string) pmetric.Metrics {
	t.Helper()
	out := pmetric.NewMetrics()
	var u pmetric.JSONUnmarshaler
	for _, line := range jsonLines(t, path) {
		md, err := u.UnmarshalMetrics(line)
		require.NoError(t, err, "%s: not OTLP JSON metrics", path)
		md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	}
	return out
}

// SpanCount counts the spans in a file exporter output.
func SpanCount(t testing.TB, path string) func() int {
	return func() int { return ReadTraces(t, path).SpanCount() }
}

// LogCount counts the log records in a file exporter output.
func LogCount(t testing.TB, path string) func() int {
	return func() int { return ReadLogs(t, path).LogRecordCount() }
}

// DataPointCount counts the data points in a file exporter output.
func DataPointCount(t testing.TB, path string) func() int {
	return func() int { return ReadMetrics(t, path).DataPointCount() }
}

// ServiceNames returns the distinct service.name values of a trace output.
func ServiceNames(td ptrace.Traces) map[string]int {
	out := map[string]int{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		name, _ := rs.Resource().Attributes().Get("service.name")
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			out[name.AsString()] += rs.ScopeSpans().At(j).Spans().Len()
		}
	}
	return out
}
