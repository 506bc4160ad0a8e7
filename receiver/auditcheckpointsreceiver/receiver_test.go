package auditcheckpointsreceiver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/receiver/auditcheckpointsreceiver/internal/metadata"
)

const (
	streamID = "witness-test"
	// checkpointEvery is the ledger's checkpoint.entries in these tests: checkpoints are
	// written by count and at shutdown only, so that the tests decide when.
	checkpointEvery = 5
	// deliveryWait bounds the wait for the ledger's witness loop, whose retries back off
	// from 1s.
	deliveryWait = 20 * time.Second
)

var (
	ledgerID   = component.MustNewID("audit_ledger")
	receiverID = component.NewID(metadata.Type)
)

// startLedger starts a real audit_ledger extension with its journal in root/audit and its
// signing key, created at the first start, in root/keys.
func startLedger(t *testing.T, root string) extension.Extension {
	t.Helper()
	factory := auditledgerextension.NewFactory()
	cfg := factory.CreateDefaultConfig().(*auditledgerextension.Config)
	cfg.StreamID = streamID
	cfg.File.Directory = filepath.Join(root, "audit")
	cfg.Checkpoint.Interval = time.Hour
	cfg.Checkpoint.Entries = checkpointEvery
	cfg.Checkpoint.SigningKeyFile = filepath.Join(root, "keys", "signing.key")
	cfg.Checkpoint.CreateKey = true
	require.NoError(t, cfg.Validate())
	require.NoError(t, os.MkdirAll(filepath.Dir(cfg.Checkpoint.SigningKeyFile), 0o700))

	set := extensiontest.NewNopSettings(factory.Type())
	set.ID = ledgerID
	ext, err := factory.Create(t.Context(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(t.Context(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

// startReceiver starts an audit_checkpoints receiver of the ledger served by host.
func startReceiver(t *testing.T, id component.ID, host component.Host, next consumer.Logs, tel *componenttest.Telemetry) receiver.Logs {
	t.Helper()
	r, err := createReceiver(id, next, tel)
	require.NoError(t, err)
	require.NoError(t, r.Start(t.Context(), host))
	t.Cleanup(func() { assert.NoError(t, r.Shutdown(context.Background())) })
	return r
}

func createReceiver(id component.ID, next consumer.Logs, tel *componenttest.Telemetry) (receiver.Logs, error) {
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = id
	if tel != nil {
		set.TelemetrySettings = tel.NewTelemetrySettings()
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Ledger = ledgerID
	return NewFactory().CreateLogs(context.Background(), set, cfg, next)
}

// record records n audit events, as the audit exporter records deliveries.
func record(t *testing.T, ext extension.Extension, n int) {
	t.Helper()
	recorder := ext.(audit.Recorder)
	for i := range n {
		require.NoError(t, recorder.Record(t.Context(), audit.Event{
			Actor:    audit.Actor{Type: audit.ActorService, ID: "exporter/audit"},
			Action:   "telemetry.export",
			Resource: audit.Resource{Type: "destination", ID: "otlp_grpc/backend"},
			Outcome:  audit.OutcomeSuccess,
			Counts:   map[string]int64{"records": int64(i + 1)},
		}))
	}
}

// journalCheckpoints returns the stream's checkpoints as the ledger stored them: parsed, and
// each one's line without its newline.
func journalCheckpoints(t *testing.T, root string) ([]ledger.Checkpoint, []string) {
	t.Helper()
	dir := filepath.Join(root, "audit", streamID)
	cps, err := ledger.ReadCheckpoints(dir)
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoints.jsonl"))
	require.NoError(t, err)
	var lines []string
	for line := range bytes.Lines(raw) {
		lines = append(lines, string(bytes.TrimSuffix(line, []byte("\n"))))
	}
	require.Len(t, lines, len(cps))
	return cps, lines
}

// witnessed is a checkpoint as a log record carried it.
type witnessed struct {
	cp   ledger.Checkpoint
	body string
}

// received returns, in the order the pipeline got them, the checkpoints in the sink's log
// records, checking that each record is in the witness form: event name, attributes that
// repeat the checkpoint's identity, a body that parses as a checkpoint.
func received(t *testing.T, sink *consumertest.LogsSink) []witnessed {
	t.Helper()
	var out []witnessed
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := range rls.Len() {
			rl := rls.At(i)
			for j := range rl.ScopeLogs().Len() {
				sl := rl.ScopeLogs().At(j)
				assert.Equal(t, ledger.WitnessScopeName, sl.Scope().Name())
				for k := range sl.LogRecords().Len() {
					out = append(out, parseWitnessRecord(t, rl.Resource().Attributes().AsRaw(), sl.LogRecords().At(k)))
				}
			}
		}
	}
	return out
}

func parseWitnessRecord(t *testing.T, resource map[string]any, lr plog.LogRecord) witnessed {
	t.Helper()
	body := lr.Body().Str()
	cp, err := ledger.ParseCheckpoint([]byte(body))
	require.NoError(t, err, "the body is a checkpoint: %s", body)
	assert.Equal(t, ledger.WitnessEventName, lr.EventName())
	assert.Equal(t, map[string]any{ledger.WitnessAttrStream: streamID}, resource)
	assert.Equal(t, map[string]any{
		ledger.WitnessAttrStream: streamID,
		ledger.WitnessAttrSeq:    int64(cp.Seq),
		ledger.WitnessAttrHash:   cp.Hash,
		ledger.WitnessAttrKeyID:  cp.KeyID,
	}, lr.Attributes().AsRaw())
	assert.NotZero(t, lr.Timestamp())
	assert.NotZero(t, lr.ObservedTimestamp())
	return witnessed{cp: cp, body: body}
}

func seqs(ws []witnessed) []uint64 {
	out := make([]uint64, len(ws))
	for i, w := range ws {
		out[i] = w.cp.Seq
	}
	return out
}

// assertSameCheckpoints checks that got holds exactly the journal's checkpoints want, in
// order, each body byte-equal to the stored line.
func assertSameCheckpoints(t *testing.T, want []ledger.Checkpoint, lines []string, got []witnessed) {
	t.Helper()
	require.Len(t, got, len(want), "checkpoints received (seqs %v)", seqs(got))
	for i := range want {
		assert.Equal(t, want[i], got[i].cp, "checkpoint %d", i)
		assert.Equal(t, lines[i], got[i].body, "checkpoint %d is its stored line", i)
	}
}

// waitForRecords waits until the sink holds n log records.
func waitForRecords(t *testing.T, sink *consumertest.LogsSink, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= n }, deliveryWait, 20*time.Millisecond,
		"waiting for %d checkpoints", n)
}

// counter sums the data points of one of the receiver's counters (0 when never recorded).
func counter(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

func TestCheckpointsReachThePipeline(t *testing.T) {
	root := t.TempDir()
	ext := startLedger(t, root)
	host := audittest.Host{ledgerID: ext}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })

	// Checkpoints written before the receiver registers are delivered too.
	record(t, ext, 2*checkpointEvery)
	before, _ := journalCheckpoints(t, root)
	require.Len(t, before, 2)

	sink := new(consumertest.LogsSink)
	r := startReceiver(t, receiverID, host, sink, tel)
	// A second witness of the same ledger keeps its own cursor and gets everything too.
	backup := new(consumertest.LogsSink)
	rb := startReceiver(t, component.NewIDWithName(metadata.Type, "backup"), host, backup, nil)

	record(t, ext, 3*checkpointEvery)
	want, lines := journalCheckpoints(t, root)
	require.Len(t, want, 5)
	waitForRecords(t, sink, len(want))
	waitForRecords(t, backup, len(want))
	require.NoError(t, r.Shutdown(t.Context()))
	require.NoError(t, rb.Shutdown(t.Context()))

	assertSameCheckpoints(t, want, lines, received(t, sink))
	assertSameCheckpoints(t, want, lines, received(t, backup))
	for _, w := range received(t, sink) {
		assert.NotEmpty(t, w.cp.KeyID, "signed with the created key")
		assert.Equal(t, w.cp.ComputeHash(), w.cp.Hash)
	}
	assert.Equal(t, int64(len(want)), counter(t, tel, "otelcol_receiver_accepted_log_records"))
	assert.Zero(t, counter(t, tel, "otelcol_receiver_refused_log_records"))

	// The ledger's shutdown checkpoint comes after the receivers stopped: not delivered.
	require.NoError(t, ext.Shutdown(t.Context()))
	all, _ := journalCheckpoints(t, root)
	require.Len(t, all, len(want)+1)
	assert.Equal(t, ledger.ReasonShutdown, all[len(all)-1].Reason)
	assert.Equal(t, len(want), sink.LogRecordCount())
}

// recovering fails every delivery with the error consumer until healthy is set, then passes
// them to the sink.
type recovering struct {
	failing  consumer.Logs
	sink     *consumertest.LogsSink
	healthy  atomic.Bool
	failures atomic.Int64
}

func (c *recovering) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if !c.healthy.Load() {
		c.failures.Add(1)
		return c.failing.ConsumeLogs(ctx, ld)
	}
	return c.sink.ConsumeLogs(ctx, ld)
}

func (*recovering) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func TestRefusedCheckpointsAreRetriedUntilAccepted(t *testing.T) {
	root := t.TempDir()
	ext := startLedger(t, root)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	next := &recovering{failing: consumertest.NewErr(errors.New("backend unavailable")), sink: new(consumertest.LogsSink)}
	r := startReceiver(t, receiverID, audittest.Host{ledgerID: ext}, next, tel)

	// Each failed attempt doubles the ledger's wait (1s, 2s, 4s): a few keep the test short.
	record(t, ext, checkpointEvery)
	require.Eventually(t, func() bool { return next.failures.Load() >= 1 }, deliveryWait, 20*time.Millisecond,
		"the ledger offers the checkpoint")
	// A checkpoint written while the pipeline refuses waits with the others.
	record(t, ext, checkpointEvery)
	require.Eventually(t, func() bool { return next.failures.Load() >= 2 }, deliveryWait, 20*time.Millisecond,
		"the ledger offers both checkpoints")
	refused := next.failures.Load()
	require.Eventually(t, func() bool { return next.failures.Load() > refused }, deliveryWait, 20*time.Millisecond,
		"retried with no new checkpoint to prompt it")
	assert.Zero(t, next.sink.LogRecordCount())
	assert.Zero(t, counter(t, tel, "otelcol_receiver_accepted_log_records"))
	assert.GreaterOrEqual(t, counter(t, tel, "otelcol_receiver_refused_log_records"), refused,
		"every refused attempt counts its checkpoints")

	// Once the pipeline recovers, the next retry delivers everything that waited.
	next.healthy.Store(true)
	waiting, _ := journalCheckpoints(t, root)
	require.Len(t, waiting, 2)
	waitForRecords(t, next.sink, len(waiting))

	// And delivery goes on as checkpoints are written.
	record(t, ext, checkpointEvery)
	want, lines := journalCheckpoints(t, root)
	require.Len(t, want, 3)
	waitForRecords(t, next.sink, len(want))
	require.NoError(t, r.Shutdown(t.Context()))

	assertSameCheckpoints(t, want, lines, received(t, next.sink))
	assert.Equal(t, int64(len(want)), counter(t, tel, "otelcol_receiver_accepted_log_records"))
}

func TestRestartResumesFromTheCursor(t *testing.T) {
	root := t.TempDir()

	// First run: everything before the shutdown checkpoint is delivered.
	ext := startLedger(t, root)
	first := new(consumertest.LogsSink)
	r := startReceiver(t, receiverID, audittest.Host{ledgerID: ext}, first, nil)
	record(t, ext, 2*checkpointEvery)
	waitForRecords(t, first, 2)
	require.NoError(t, r.Shutdown(t.Context()))
	require.NoError(t, ext.Shutdown(t.Context()))
	firstRun, _ := journalCheckpoints(t, root)
	require.Len(t, firstRun, 3)
	require.Equal(t, ledger.ReasonShutdown, firstRun[2].Reason)

	// Second run on the same journal: it starts with the first run's shutdown checkpoint and
	// re-sends nothing the first run delivered.
	ext = startLedger(t, root)
	second := new(consumertest.LogsSink)
	r = startReceiver(t, receiverID, audittest.Host{ledgerID: ext}, second, nil)
	record(t, ext, checkpointEvery)
	all, lines := journalCheckpoints(t, root)
	require.Len(t, all, 4)
	waitForRecords(t, second, 2)
	require.NoError(t, r.Shutdown(t.Context()))

	got := append(received(t, first), received(t, second)...)
	assertSameCheckpoints(t, all, lines, got)
	assert.Equal(t, []uint64{firstRun[2].Seq, all[3].Seq}, seqs(received(t, second)))
}

// notALedger is an extension that is neither a ledger nor a witness registry.
type notALedger struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestStartNeedsALedgerThatTakesWitnesses(t *testing.T) {
	tests := []struct {
		name    string
		host    component.Host
		want    error
		wantMsg string
	}{
		{name: "no extension", host: componenttest.NewNopHost(), want: audit.ErrLedgerNotFound,
			wantMsg: `audit_checkpoints: ledger "audit_ledger": audit ledger extension not found (add it under extensions and service::extensions)`},
		{name: "not a ledger", host: audittest.Host{ledgerID: notALedger{}}, want: audit.ErrNotALedger,
			wantMsg: `audit_checkpoints: ledger "audit_ledger": extension is not an audit ledger`},
		{name: "a recorder without witnesses", host: audittest.Host{ledgerID: &audittest.Ledger{}}, want: audit.ErrNotALedger,
			wantMsg: `audit_checkpoints: ledger "audit_ledger": extension is not an audit ledger (it takes no witnesses: name an audit_ledger extension)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := createReceiver(receiverID, consumertest.NewNop(), nil)
			require.NoError(t, err)
			err = r.Start(t.Context(), tt.host)
			require.ErrorIs(t, err, tt.want)
			assert.EqualError(t, err, tt.wantMsg)
			require.NoError(t, r.Shutdown(t.Context()))
		})
	}
}

func TestOneWitnessPerID(t *testing.T) {
	ext := startLedger(t, t.TempDir())
	host := audittest.Host{ledgerID: ext}
	startReceiver(t, receiverID, host, consumertest.NewNop(), nil)

	again, err := createReceiver(receiverID, consumertest.NewNop(), nil)
	require.NoError(t, err)
	err = again.Start(t.Context(), host)
	require.ErrorContains(t, err, `audit_checkpoints: registering as a witness of ledger "audit_ledger": `)
	require.ErrorContains(t, err, `registered already`)
	require.NoError(t, again.Shutdown(t.Context()))
}
