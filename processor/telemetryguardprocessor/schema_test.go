package telemetryguardprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadatatest"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

func schemaDecision(action, reason, signal, mode string, n int64) metricdata.DataPoint[int64] {
	return guardDecision("schema", action, reason, signal, mode, n)
}

// schemaRules: resources must name their service (or their records are dropped), routes are
// at most 16 bytes (truncated), passwords are never attributes.
func schemaRules(c *Config) {
	c.Schema.Checks.Rules = []schema.Rule{
		{Name: "service", Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true, Action: schema.ActionDropRecord},
		{Name: "routes", Keys: []string{"http.route"}, MaxLength: 16},
		{Name: "secrets", Keys: []string{"*password*"}, Forbidden: true},
	}
}

// routeLogs are log records of a named and an unnamed service, with long routes.
func routeLogs() plog.Logs {
	ld := plog.NewLogs()
	for _, svc := range []string{"checkout", ""} {
		rl := ld.ResourceLogs().AppendEmpty()
		if svc != "" {
			rl.Resource().Attributes().PutStr("service.name", svc)
		}
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range 3 {
			lr := lrs.AppendEmpty()
			lr.Attributes().PutStr("http.route", fmt.Sprintf("/api/v1/orders/%d/items", i))
			lr.Attributes().PutStr("db.password", "hunter2")
		}
	}
	return ld
}

func TestSchemaGuardRunsBeforeCardinality(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		schemaRules(c)
		c.Cardinality.Attributes.Signals = []string{"logs"}
		c.Cardinality.Attributes.Keys = map[string]cardinality.KeyConfig{"http.route": {MaxValues: 2}}
	}), componenttest.NewNopHost())
	got, err := p.processLogs(context.Background(), routeLogs())
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))

	require.Equal(t, 1, got.ResourceLogs().Len(), "the records of the unnamed service are dropped")
	lrs := got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len())
	var routes []string
	for i := range lrs.Len() {
		attrs := lrs.At(i).Attributes()
		_, hasPassword := attrs.Get("db.password")
		assert.False(t, hasPassword)
		route, _ := attrs.Get("http.route")
		routes = append(routes, route.Str())
	}
	// Truncated to 16 bytes with a hash suffix that keeps them distinct; the cardinality guard
	// sees the truncated values, and the third is past the route's budget of two.
	assert.True(t, strings.HasPrefix(routes[0], "/ap~"), routes[0])
	assert.Len(t, routes[0], 16)
	assert.NotEqual(t, routes[0], routes[1])
	assert.Equal(t, "_OTHER", routes[2])

	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		schemaDecision("drop_record", "missing_required", "logs", "enforce", 1),
		schemaDecision("drop", "missing_required", "logs", "enforce", 3),
		schemaDecision("truncate", "too_long", "logs", "enforce", 6),
		schemaDecision("drop_attribute", "forbidden_key", "logs", "enforce", 6),
		decision("replace_value", "value_limit", "logs", "enforce", 1),
	}, metricdatatest.IgnoreTimestamp())
}

func TestSchemaReportModeChangesNothing(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		schemaRules(c)
		c.Schema.Mode = cardinality.ModeReport
	}), componenttest.NewNopHost())
	got, err := p.processLogs(context.Background(), routeLogs())
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(routeLogs(), got))
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		schemaDecision("drop_record", "missing_required", "logs", "report", 1),
		schemaDecision("drop", "missing_required", "logs", "report", 3),
		schemaDecision("truncate", "too_long", "logs", "report", 6),
		schemaDecision("drop_attribute", "forbidden_key", "logs", "report", 6),
	}, metricdatatest.IgnoreTimestamp())
}

func TestSchemaChecksEveryMapOfADataPoint(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Schema.Checks.Rules = []schema.Rule{{Name: "secrets", Keys: []string{"*password*"}, Forbidden: true}}
	}))
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("admin.password", "x")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().Attributes().PutStr("scope.password", "x")
	m := sm.Metrics().AppendEmpty()
	m.SetName("logins")
	m.Metadata().PutStr("meta.password", "x")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("user.password", "x")
	dp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("ex.password", "x")
	got, err := p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	raw, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(got)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "password")
	assert.Equal(t, 1, got.DataPointCount())
}

// Rule files are read at start, not when the configuration is validated: `validate` needs no
// file, and a missing or broken one stops the collector at start with its name.
func TestSchemaFilesAreReadAtStart(t *testing.T) {
	cfg := testConfig(func(c *Config) { c.Schema.Checks.Files = []string{"testdata/no-such-rules.yaml"} })
	require.NoError(t, cfg.Validate())
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = p.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-rules.yaml")
	require.NoError(t, p.Shutdown(context.Background()))
}
