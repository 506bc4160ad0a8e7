package auditexporter

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/sample"
)

// gatedLedger records once its gate is open.
type gatedLedger struct {
	audittest.Ledger
	gate chan struct{}
}

func (l *gatedLedger) Record(ctx context.Context, ev audit.Event) error {
	<-l.gate
	return l.Ledger.Record(ctx, ev)
}

// startLogs creates and starts a logs exporter on cfg, recording into ledger.
func startLogs(t *testing.T, cfg *Config, ledger component.Component, set exporter.Settings) exporter.Logs {
	t.Helper()
	exp, err := NewFactory().CreateLogs(t.Context(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

func recordedRecords(evs []audit.Event) int64 {
	var n int64
	for _, ev := range evs {
		n += ev.Counts["records"]
	}
	return n
}

// TestDefaultQueueAnswersOnlyRecordedDeliveries sends concurrent requests through the default
// queue to the real file exporter while the ledger holds its answer: the requests are merged
// and written, but no sender is answered until the delivery is recorded.
func TestDefaultQueueAnswersOnlyRecordedDeliveries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	cfg := newTestConfig(t, map[string]any{
		"ledger":      ledgerID.String(),
		"destination": map[string]any{"file": map[string]any{"path": path}},
	})
	ledger := &gatedLedger{gate: make(chan struct{})}
	exp := startLogs(t, cfg, ledger, testSettings(componenttest.NewTelemetry()))

	const senders, perRequest = 4, 10
	answers := make(chan error, senders)
	for range senders {
		go func() {
			answers <- exp.ConsumeLogs(context.Background(), sample.Logs(sample.Options{Items: perRequest}))
		}()
	}
	require.Eventually(t, func() bool { return fileRecords(t, path) == senders*perRequest }, 10*time.Second, 5*time.Millisecond,
		"the batch is delivered after the flush timeout")
	select {
	case err := <-answers:
		t.Fatalf("a sender was answered before its delivery was recorded (%v)", err)
	case <-time.After(10 * flushTimeout):
	}

	close(ledger.gate)
	for range senders {
		require.NoError(t, <-answers)
	}
	assert.Equal(t, int64(senders*perRequest), recordedRecords(ledger.Events()))
}

// TestUnrecordedDeliveryFailsEveryWaitingSender: when the batch's entry cannot be recorded,
// every sender whose request is in it gets a retryable error.
func TestUnrecordedDeliveryFailsEveryWaitingSender(t *testing.T) {
	cfg := newTestConfig(t, map[string]any{
		"ledger":           ledgerID.String(),
		"retry_on_failure": map[string]any{"enabled": false},
		"destination":      map[string]any{"nop": nil},
	})
	ledger := &audittest.Ledger{Err: consumererror.NewPermanent(errors.New("ledger closed"))}
	exp := startLogs(t, cfg, ledger, testSettings(componenttest.NewTelemetry()))

	const senders = 3
	answers := make(chan error, senders)
	for range senders {
		go func() { answers <- exp.ConsumeLogs(context.Background(), sample.Logs(sample.Options{Items: 5})) }()
	}
	for range senders {
		err := <-answers
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "the sender may retry: %v", err)
		assert.ErrorContains(t, err, "ledger closed")
	}
}

// TestLoneRequestWaitsForTheFlushTimeout: a request smaller than a batch waits for the flush
// timeout (the latency a lone synchronous sender pays), and not much longer.
func TestLoneRequestWaitsForTheFlushTimeout(t *testing.T) {
	cfg := newTestConfig(t, map[string]any{
		"ledger":      ledgerID.String(),
		"destination": map[string]any{"file": map[string]any{"path": filepath.Join(t.TempDir(), "logs.jsonl")}},
	})
	ledger := &audittest.Ledger{}
	exp := startLogs(t, cfg, ledger, testSettings(componenttest.NewTelemetry()))
	start := time.Now()
	require.NoError(t, exp.ConsumeLogs(context.Background(), sample.Logs(sample.Options{Items: 10})))
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, flushTimeout)
	assert.Less(t, elapsed, 2*time.Second)
	assert.Equal(t, int64(10), recordedRecords(ledger.Events()))
}

// TestAckAheadOfRecordIsWarned: a queue that acknowledges before the record is allowed, with
// a warning at start.
func TestAckAheadOfRecordIsWarned(t *testing.T) {
	tests := []struct {
		name  string
		queue map[string]any
		warn  string
	}{
		{name: "default", queue: map[string]any{}},
		{name: "no queue", queue: map[string]any{"enabled": false}},
		{name: "no waiting", queue: map[string]any{"wait_for_result": false}, warn: "sending_queue::wait_for_result is false: requests are acknowledged once queued in memory, before their delivery is made and recorded"},
		{name: "persistent", queue: map[string]any{"wait_for_result": false, "storage": "file_storage"}, warn: "sending_queue::storage: requests are acknowledged once stored in the persistent queue, before their delivery is made and recorded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTestConfig(t, map[string]any{
				"ledger":        ledgerID.String(),
				"sending_queue": tc.queue,
				"destination":   map[string]any{"nop": nil},
			})
			core, logs := observer.New(zapcore.WarnLevel)
			set := testSettings(componenttest.NewTelemetry())
			set.Logger = zap.New(core)
			assert.Equal(t, tc.warn != "", ackWarning(cfg) != "")
			if cfg.QueueConfig.HasValue() && cfg.QueueConfig.Get().StorageID != nil {
				return // starting needs the storage extension; the warning is ackWarning's
			}
			startLogs(t, cfg, &audittest.Ledger{}, set)
			if tc.warn == "" {
				assert.Zero(t, logs.Len())
				return
			}
			require.Equal(t, 1, logs.Len())
			assert.Contains(t, logs.All()[0].Message, tc.warn)
		})
	}
}
