package piiredactionprocessor

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadatatest"
)

func finding(piiType, action, signal string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(
		attribute.String("pii_type", piiType), attribute.String("action", action), attribute.String("signal", signal))}
}

func TestFindingsAreCountedByTypeActionAndSignal(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newProcessor(metadatatest.NewSettings(tel), testConfig(func(c *Config) { c.Scan.MaxScanBytes = 64 }))
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))

	redactAttr(t, p, "message", "jane.doe@example.com and john@example.com from 10.0.0.1")
	redactAttr(t, p, "user.password", "hunter2")
	redactAttr(t, p, "message", string(make([]byte, 100)))
	redactAttr(t, p, "message", "nothing here")
	require.NoError(t, p.shutdown(context.Background()))

	metadatatest.AssertEqualProcessorPiiRedactionFindings(t, tel, []metricdata.DataPoint[int64]{
		finding("email", "hash", "logs", 2),
		finding("ipv4", "keep", "logs", 1),
		finding("sensitive_key", "redact", "logs", 1),
		finding("oversize", "redact", "logs", 1),
	}, metricdatatest.IgnoreTimestamp())
}

func startWithLedger(t *testing.T, ledger *audittest.Ledger, tel *componenttest.Telemetry) *piiProcessor {
	t.Helper()
	id := component.MustNewID("audit_ledger")
	set := metadatatest.NewSettings(tel)
	p, err := newProcessor(set, testConfig(func(c *Config) { c.Ledger = &id }))
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), audittest.Host{id: ledger}))
	return p
}

func TestSummariesGoToTheLedgerPerIntervalWithoutValues(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	p := startWithLedger(t, ledger, tel)

	const batches = 50
	for range batches {
		_, err := p.processLogs(context.Background(), sample.Logs(sample.Options{Items: 100, PIIEvery: 10}))
		require.NoError(t, err)
		_, err = p.processLogs(context.Background(), sample.Logs(sample.Options{Items: 100}))
		require.NoError(t, err)
	}
	assert.Empty(t, ledger.Events(), "nothing is recorded before the interval ends")
	require.NoError(t, p.shutdown(context.Background()))

	evs := ledger.Events()
	require.Len(t, evs, len(sample.Services), "one summary per service for the interval, not one per batch")
	for i, ev := range evs {
		require.NoError(t, ev.Validate())
		assert.Equal(t, "pii.redact", ev.Action)
		assert.Equal(t, "pii_redaction", ev.Actor.ID)
		assert.Equal(t, "logs", ev.Attributes["signal"])
		assert.Contains(t, sample.Services, ev.Resource.ID)
		assert.Equal(t, ev.Resource.ID, ev.Attributes["service"])
		assert.NotEmpty(t, ev.Attributes["interval.start"])
		assert.NotEmpty(t, ev.Attributes["interval.end"])
		// Each batch plants 10 items over 5 services: 2 per service, each with an e-mail in
		// the body, a card, a phone number and a bearer token under a sensitive key.
		assert.Equal(t, map[string]int64{
			"batches": batches, "email.hash": 2 * batches, "card.redact": 2 * batches,
			"phone.mask": 2 * batches, "sensitive_key.redact": 2 * batches,
		}, ev.Counts, "summary %d", i)
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		for _, planted := range sample.Planted {
			assert.NotContains(t, string(raw), planted)
		}
	}
	_, err := tel.GetMetric("otelcol_processor_pii_redaction_ledger_failures")
	assert.Error(t, err, "no failure was counted")
}

func TestKeptFindingsReachTheLedgerOnlyWhenAskedFor(t *testing.T) {
	for _, kept := range []bool{false, true} {
		tel := componenttest.NewTelemetry()
		t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
		ledger := &audittest.Ledger{}
		id := component.MustNewID("audit_ledger")
		p, err := newProcessor(metadatatest.NewSettings(tel), testConfig(func(c *Config) {
			c.Ledger, c.SummarizeKept = &id, kept
		}))
		require.NoError(t, err)
		require.NoError(t, p.start(context.Background(), audittest.Host{id: ledger}))
		for range 3 {
			got, _ := redactAttr(t, p, "message", "peer 10.0.0.1 connected")
			require.Equal(t, "peer 10.0.0.1 connected", got)
		}
		require.NoError(t, p.shutdown(context.Background()))

		metadatatest.AssertEqualProcessorPiiRedactionFindings(t, tel, []metricdata.DataPoint[int64]{
			finding("ipv4", "keep", "logs", 3),
		}, metricdatatest.IgnoreTimestamp())
		if !kept {
			assert.Empty(t, ledger.Events(), "batches whose findings were all kept change nothing and write nothing")
			continue
		}
		evs := ledger.Events()
		require.Len(t, evs, 1)
		assert.Equal(t, map[string]int64{"batches": 3, "ipv4.keep": 3}, evs[0].Counts)
	}
}

func TestLedgerFailuresAreCountedAndDoNotStopTheData(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	ledger.SetErr(errors.New("disk full"))
	p := startWithLedger(t, ledger, tel)

	ld, lr := logWith("message", "jane.doe@example.com")
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err, "the telemetry is protected and passed on")
	v, _ := lr.Attributes().Get("message")
	assert.Regexp(t, hashToken, v.Str())
	require.NoError(t, p.shutdown(context.Background()), "a ledger failure does not fail the shutdown")
	metadatatest.AssertEqualProcessorPiiRedactionLedgerFailures(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorPiiRedactionSummariesDropped(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestSummariesAreRecordedAtTheIntervalEnd(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	id := component.MustNewID("audit_ledger")
	p, err := newProcessor(metadatatest.NewSettings(tel), testConfig(func(c *Config) { c.Ledger = &id; c.SummaryInterval = 50 * time.Millisecond }))
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), audittest.Host{id: ledger}))
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })

	redactAttr(t, p, "message", "jane.doe@example.com")
	require.Eventually(t, func() bool { return len(ledger.Events()) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the summary is recorded when its interval ends, without a shutdown")
	assert.Equal(t, int64(1), ledger.Events()[0].Counts["email.hash"])
}

func TestConcurrentBatchesShareNothing(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	p := startWithLedger(t, ledger, tel)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				ld := sample.Logs(sample.Options{Items: 50, PIIEvery: 5})
				_, err := p.processLogs(context.Background(), ld)
				assert.NoError(t, err)
				raw, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
				assert.NoError(t, err)
				for _, planted := range sample.Planted {
					assert.NotContains(t, string(raw), planted)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.shutdown(context.Background()))
	evs := ledger.Events()
	assert.Len(t, evs, len(sample.Services), "one summary per service")
	var batches int64
	for _, ev := range evs {
		batches += ev.Counts["batches"]
	}
	// Each batch spans every sample service, each with findings: one count per batch and service.
	assert.Equal(t, int64(4*20*len(sample.Services)), batches)
}

func TestDryRunCountsWithoutChanging(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	id := component.MustNewID("audit_ledger")
	p, err := newProcessor(metadatatest.NewSettings(tel), testConfig(func(c *Config) { c.DryRun = true; c.Ledger = &id }))
	require.NoError(t, err)
	require.NoError(t, p.start(context.Background(), audittest.Host{id: ledger}))

	got, ok := redactAttr(t, p, "message", "card 4111 1111 1111 1111")
	assert.True(t, ok)
	assert.Equal(t, "card 4111 1111 1111 1111", got)
	got, ok = redactAttr(t, p, "user.password", "hunter2")
	assert.True(t, ok)
	assert.Equal(t, "hunter2", got)
	require.NoError(t, p.shutdown(context.Background()))

	metadatatest.AssertEqualProcessorPiiRedactionFindings(t, tel, []metricdata.DataPoint[int64]{
		finding("card", "redact", "logs", 1),
		finding("sensitive_key", "redact", "logs", 1),
	}, metricdatatest.IgnoreTimestamp())
	evs := ledger.Events()
	require.Len(t, evs, 1, "both batches in one summary")
	assert.Equal(t, "pii.detect", evs[0].Action)
	assert.Equal(t, map[string]int64{"batches": 2, "card.redact": 1, "sensitive_key.redact": 1}, evs[0].Counts)
}
