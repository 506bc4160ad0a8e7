package telemetryguardprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadatatest"
)

// guardDecision is one point of the decisions metric.
func guardDecision(guard, action, reason, signal, mode string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(
		attribute.String("guard", guard), attribute.String("action", action), attribute.String("reason", reason),
		attribute.String("signal", signal), attribute.String("mode", mode))}
}

func decision(action, reason, signal, mode string, n int64) metricdata.DataPoint[int64] {
	return guardDecision("cardinality", action, reason, signal, mode, n)
}

func newTelemetryProcessor(t *testing.T, cfg *Config, host component.Host) (*guardProcessor, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newProcessor(metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	return p, tel
}

func TestDecisionsAreCountedByActionReasonSignalAndMode(t *testing.T) {
	for _, mode := range []cardinality.Mode{cardinality.ModeEnforce, cardinality.ModeReport} {
		t.Run(string(mode), func(t *testing.T) {
			p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
				goldenConfig(c)
				c.Cardinality.Mode = mode
			}), componenttest.NewNopHost())
			_, err := p.processMetrics(context.Background(), goldenMetrics(1))
			require.NoError(t, err)
			_, err = p.processLogs(context.Background(), goldenLogs())
			require.NoError(t, err)
			_, err = p.processTraces(context.Background(), goldenTraces())
			require.NoError(t, err)
			require.NoError(t, p.Shutdown(context.Background()))
			m := string(mode)
			// 2 series past the budget in each of four metrics (queue.depth has 100), 3 users past
			// theirs in jobs.processed, and 2 users per service in logs and in traces.
			metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
				decision("overflow", "series_limit", "metrics", m, 8),
				decision("replace_value", "value_limit", "metrics", m, 3),
				decision("replace_value", "value_limit", "logs", m, 4),
				decision("replace_value", "value_limit", "traces", m, 4),
			}, metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		goldenConfig(c)
		c.Cardinality.Mode = cardinality.ModeReport
	}))
	for round := 1; round <= 3; round++ {
		md, want := goldenMetrics(round), goldenMetrics(round)
		got, err := p.processMetrics(context.Background(), md)
		require.NoError(t, err)
		require.NoError(t, pmetrictest.CompareMetrics(want, got))
	}
	got, err := p.processLogs(context.Background(), goldenLogs())
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(goldenLogs(), got))
	gotTraces, err := p.processTraces(context.Background(), goldenTraces())
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(goldenTraces(), gotTraces))
}

func TestSpansAndLogsAreLeftAloneByDefault(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Cardinality.Attributes.Keys = map[string]cardinality.KeyConfig{"user.id": {MaxValues: 1}}
	}))
	got, err := p.processLogs(context.Background(), goldenLogs())
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(goldenLogs(), got))
	gotTraces, err := p.processTraces(context.Background(), goldenTraces())
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(goldenTraces(), gotTraces))
}

func TestABatchLeftEmptyIsNotPassedOn(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		c.Cardinality.Series = cardinality.SeriesConfig{MaxPerMetric: 6, OverLimit: cardinality.SeriesDrop}
	}), componenttest.NewNopHost())
	_, err := p.processMetrics(context.Background(), goldenMetrics(1)) // six series of each metric: admitted
	require.NoError(t, err)
	md := goldenMetrics(1)
	md.ResourceMetrics().At(0).Resource().Attributes().PutStr("service.instance.id", "checkout-1") // the same metrics
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	dps.At(0).Attributes().PutStr("http.route", "/new")
	keep := pmetric.NewMetrics()
	md.ResourceMetrics().At(0).CopyTo(keep.ResourceMetrics().AppendEmpty())
	keep.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().RemoveIf(func(m pmetric.Metric) bool { return m.Name() != "http.server.requests" })
	keep.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().RemoveIf(func(dp pmetric.NumberDataPoint) bool {
		v, _ := dp.Attributes().Get("http.route")
		return v.Str() != "/new"
	})
	_, err = p.processMetrics(context.Background(), keep)
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData, "its only point was dropped")
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		decision("drop", "series_limit", "metrics", "enforce", 1),
	}, metricdatatest.IgnoreTimestamp())
}

func TestSummariesAndTopOffendersGoToTheLedger(t *testing.T) {
	ledger := &audittest.Ledger{}
	id := component.MustNewID("audit_ledger")
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		goldenConfig(c)
		c.Ledger = &id
	}), audittest.Host{id: ledger})
	clk := time.Now()
	p.card.SetClock(func() time.Time { return clk })
	for round := 1; round <= 3; round++ {
		_, err := p.processMetrics(context.Background(), goldenMetrics(round))
		require.NoError(t, err)
	}
	_, err := p.processLogs(context.Background(), goldenLogs())
	require.NoError(t, err)

	// A window ends: the offenders of the one that ended are reported and recorded.
	clk = clk.Add(p.card.Window())
	p.endWindow()
	metadatatest.AssertEqualProcessorTelemetryGuardTopOffenders(t, tel, []metricdata.DataPoint[int64]{
		offender("metrics", "jobs.processed", "checkout", "user.id", 9),
		offender("metrics", "http.server.requests", "checkout", "", 6),
		offender("metrics", "http.server.request.duration", "checkout", "", 6),
		offender("metrics", "rpc.message.size", "checkout", "", 6),
		offender("metrics", "legacy.rpc.latency", "checkout", "", 6),
		offender("logs", "", "checkout", "user.id", 2),
		offender("logs", "", "payments", "user.id", 2),
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorTelemetryGuardTracked(t, tel, []metricdata.DataPoint[int64]{
		kind("series", p.card.Stats().Series), kind("values", p.card.Stats().Values), kind("keys", p.card.Stats().Keys),
	}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, p.Shutdown(context.Background()))

	evs := ledger.Events()
	require.Len(t, evs, 4, "the offenders, and one summary per service and signal")
	top := evs[0]
	require.NoError(t, top.Validate())
	assert.Equal(t, "telemetry.guard.top_offenders", top.Action)
	assert.EqualValues(t, 7, top.Counts["offenders"])
	require.Len(t, top.Details["offenders"], 7)
	assert.Equal(t, map[string]any{"signal": "metrics", "metric": "jobs.processed", "service": "checkout", "key": "user.id", "items": int64(9)},
		top.Details["offenders"].([]any)[0])

	byKey := map[string]audit.Event{}
	for _, ev := range evs[1:] {
		require.NoError(t, ev.Validate())
		assert.Equal(t, "telemetry.guard", ev.Action)
		byKey[ev.Attributes[audit.AttrService]+"/"+ev.Attributes[audit.AttrSignal]] = ev
	}
	metrics := byKey["checkout/metrics"]
	assert.EqualValues(t, 3, metrics.Counts[audit.CountBatches])
	assert.EqualValues(t, 24, metrics.Counts["cardinality.overflow.series_limit"])
	assert.EqualValues(t, 9, metrics.Counts["cardinality.replace_value.value_limit"])
	logs := byKey["checkout/logs"]
	assert.EqualValues(t, 2, logs.Counts["cardinality.replace_value.value_limit"])
}

func offender(signal, metricName, service, key string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(
		attribute.String("signal", signal), attribute.String("metric_name", metricName),
		attribute.String("service_name", service), attribute.String("key", key))}
}

func kind(k string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("kind", k))}
}

func TestTheLedgerRefusingTheOffendersIsCounted(t *testing.T) {
	ledger := &audittest.Ledger{}
	id := component.MustNewID("audit_ledger")
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		goldenConfig(c)
		c.Ledger = &id
	}), audittest.Host{id: ledger})
	clk := time.Now()
	p.card.SetClock(func() time.Time { return clk })
	_, err := p.processMetrics(context.Background(), goldenMetrics(1))
	require.NoError(t, err)
	clk = clk.Add(p.card.Window())
	ledger.SetErr(errors.New("disk full"))
	p.endWindow()
	ledger.SetErr(nil)
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardLedgerFailures(t, tel, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	assert.Len(t, ledger.Events(), 1, "the summary, once the ledger took it again")
}

func TestOneInstancePerConfigurationAcrossSignals(t *testing.T) {
	f := newFactory()
	cfg := testConfig(nil)
	set := processortest.NewNopSettings(metadata.Type)
	mp, err := f.processorFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.processorFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.Equal(t, 1, f.instances.Len())
	host := componenttest.NewNopHost()
	require.NoError(t, mp.Start(context.Background(), host))
	require.NoError(t, lp.Start(context.Background(), host))
	require.NoError(t, mp.Shutdown(context.Background()))
	assert.Equal(t, 1, f.instances.Len(), "still used by the logs pipeline")
	require.NoError(t, lp.Shutdown(context.Background()))
	assert.Zero(t, f.instances.Len())

	// Through the pipeline API: data flows.
	sink := new(consumertest.MetricsSink)
	mp, err = f.processorFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, mp.Start(context.Background(), host))
	require.NoError(t, mp.ConsumeMetrics(context.Background(), goldenMetrics(1)))
	require.NoError(t, mp.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)
}
