package telemetryguardprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/internal/loopback"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadatatest"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
)

func rateDecision(action, reason, signal, mode string, n int64) metricdata.DataPoint[int64] {
	return guardDecision("rate", action, reason, signal, mode, n)
}

func fromTenant(tenant string) context.Context {
	return client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{"x-tenant-id": {tenant}}),
	})
}

// perTenant: 10 records a second per tenant, in bursts of 10.
func perTenant(c *Config) {
	c.Rate.Source = ratelimit.SourceConfig{MetadataKey: "x-tenant-id"}
	c.Rate.Limits = ratelimit.Limits{RecordsPerSecond: 10, RecordsBurst: 10}
}

func TestRateRefusesAFloodingSourceWhileAPoliteOneFlows(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(perTenant), componenttest.NewNopHost())
	var refused error
	for range 5 { // 5 x 10 log records at once: the first batch fills the burst
		if _, err := p.processLogs(fromTenant("flood"), goldenLogs()); err != nil {
			refused = err
		}
	}
	require.Error(t, refused)
	assert.ErrorIs(t, refused, ratelimit.ErrRateLimited)
	assert.False(t, consumererror.IsPermanent(refused), "the sender keeps its data and retries")
	st, ok := status.FromError(refused)
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())

	_, err := p.processLogs(fromTenant("polite"), goldenLogs())
	require.NoError(t, err, "another tenant has its own bucket")
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		rateDecision("refuse", "records", "logs", "enforce", 40),
	}, metricdatatest.IgnoreTimestamp())
}

func TestRateDropsTheResourcesOfSourcesOverTheirLimit(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		c.Rate.Source = ratelimit.SourceConfig{ResourceAttribute: "service.name"}
		c.Rate.Limits = ratelimit.Limits{RecordsPerSecond: 1, RecordsBurst: 5}
		c.Rate.Overrides = []ratelimit.Override{{Source: "payments", Unlimited: true}}
		c.Rate.OnLimit = ratelimit.OnLimitDrop
	}), componenttest.NewNopHost())
	ld, err := p.processLogs(context.Background(), goldenLogs()) // 5 records each: within
	require.NoError(t, err)
	assert.Equal(t, 10, ld.LogRecordCount())
	ld, err = p.processLogs(context.Background(), goldenLogs()) // checkout is over
	require.NoError(t, err)
	require.Equal(t, 1, ld.ResourceLogs().Len())
	v, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, "payments", v.Str())

	one := plog.NewLogs()
	goldenLogs().ResourceLogs().At(0).CopyTo(one.ResourceLogs().AppendEmpty())
	_, err = p.processLogs(context.Background(), one)
	assert.ErrorIs(t, err, processorhelper.ErrSkipProcessingData, "nothing left: not passed on")
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		rateDecision("drop", "records", "logs", "enforce", 10),
	}, metricdatatest.IgnoreTimestamp())
}

func TestRateReportModeRefusesNothing(t *testing.T) {
	p, tel := newTelemetryProcessor(t, testConfig(func(c *Config) {
		perTenant(c)
		c.Rate.Mode = ratelimit.ModeReport
	}), componenttest.NewNopHost())
	for range 5 {
		ld, err := p.processLogs(fromTenant("flood"), goldenLogs())
		require.NoError(t, err)
		assert.Equal(t, 10, ld.LogRecordCount())
	}
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorTelemetryGuardDecisions(t, tel, []metricdata.DataPoint[int64]{
		rateDecision("refuse", "records", "logs", "report", 40),
	}, metricdatatest.IgnoreTimestamp())
}

// A refusal travels back through the real OTLP receiver as RESOURCE_EXHAUSTED with a retry
// delay: the sender backs off and keeps its data.
func TestRateRefusalReachesTheSender(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	cfg := testConfig(perTenant)
	proc, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(context.Background())) })

	addr := loopback.FreeAddr(t)
	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": addr, "include_metadata": true},
	}}).Unmarshal(rcfg))
	recv, err := rf.CreateMetrics(context.Background(), receivertest.NewNopSettings(rf.Type()), rcfg, proc)
	require.NoError(t, err)
	require.NoError(t, recv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, recv.Shutdown(context.Background())) })

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	export := func(tenant string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ctx = withOutgoingTenant(ctx, tenant)
		_, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(goldenMetrics(1)))
		return err
	}
	require.NoError(t, export("flood")) // 36 points: over the burst of 10, admitted on a full bucket
	err = export("flood")
	require.Error(t, err)
	st, _ := status.FromError(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code(), err)
	require.NotEmpty(t, st.Details(), "with a retry delay")
	require.NoError(t, export("polite"))
	assert.Len(t, sink.AllMetrics(), 2)
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

func withOutgoingTenant(ctx context.Context, tenant string) context.Context {
	return grpcmetadata.AppendToOutgoingContext(ctx, "x-tenant-id", tenant)
}
