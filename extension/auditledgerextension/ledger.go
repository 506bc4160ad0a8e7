package auditledgerextension

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

var (
	// ErrClosed is returned when recording into a ledger that is not running.
	ErrClosed = errors.New("audit ledger is not running")
	// ErrBacklogFull is returned when a sink is so far behind that the ledger refuses more.
	ErrBacklogFull = errors.New("audit ledger backlog is full: a sink has been failing; the event was not recorded")
	// ErrEntryTooLarge is returned for an event whose entry would exceed ledger.MaxEntryLine.
	ErrEntryTooLarge = fmt.Errorf("audit event too large: its ledger entry would exceed %d bytes", ledger.MaxEntryLine)
)

// request is one caller's events on their way into the ledger.
type request struct {
	events []ledger.Prepared
	done   chan error
}

// ledgerExtension is the audit_ledger extension. Recording callers hand prepared events to the
// sealer goroutine, which assigns sequence numbers and chains and encodes the entries; the io
// goroutine (the committer) appends each group with one fsync, acknowledges its callers once
// their entries are durable, and writes the checkpoints.
//
// The work is split by role: startup.go opens the stream and its keys, sealer.go chains,
// committer.go writes and checkpoints, dedup.go remembers record ids, shipper.go and
// witness.go deliver to PostgreSQL and to witnesses.
type ledgerExtension struct {
	cfg    *Config
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder
	id     component.ID
	now    func() time.Time

	mu      sync.RWMutex
	running bool

	reqs       chan *request
	sealed     chan *sealedBatch
	control    chan checkpointRequest
	stopCh     chan struct{}
	writerDone chan struct{}
	// headSeq is the newest durable sequence number, for the sinks' backlog.
	headSeq atomic.Uint64
	// failEpoch counts failed commits, so that the sealer continues from the durable head.
	failEpoch atomic.Uint64
	// broken is set once the journal could not undo a failed write: nothing is recorded until
	// the collector restarts (and checks the journal).
	broken atomic.Pointer[error]

	stream string
	dedup  *recentIDs
	// signer signs checkpoints (nil: unsigned). It changes only during Start (a rotation).
	signer atomic.Pointer[signerHolder]
	// link describes the damaged stream this one replaces, for the start entry (nil if none).
	link *streamLink

	// owned by the sealer goroutine
	head      ledger.Head
	seenEpoch uint64

	// owned by the io goroutine (durable is also read by the sealer after a failure)
	journal   *ledger.Journal
	buf       []byte
	durableMu sync.Mutex
	durable   ledger.Head
	lastCp    ledger.Checkpoint
	sinceCp   int

	shipper   *pgShipper
	witnesses *witnesses
	// alerts matches durable entries against the alert rules (nil: no rules).
	alerts *alerting.Alerter
}

type signerHolder struct{ s ledger.Signer }

var (
	_             extension.Extension = (*ledgerExtension)(nil)
	_             audit.Recorder      = (*ledgerExtension)(nil)
	_             audit.BatchRecorder = (*ledgerExtension)(nil)
	_             WitnessRegistry     = (*ledgerExtension)(nil)
	reasonInvalid                     = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "invalid")))
	reasonBacklog                     = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "backlog_full")))
	reasonWrite                       = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "write_failed")))
	reasonClosed                      = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "closed")))
	sinkPostgres                      = metric.WithAttributeSet(attribute.NewSet(attribute.String("sink", "postgres")))
)

func newLedger(cfg *Config, set extension.Settings) (*ledgerExtension, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &ledgerExtension{
		cfg:    cfg,
		logger: set.Logger,
		tb:     tb,
		id:     set.ID,
		now:    time.Now,
		reqs:   make(chan *request, 1024),
	}, nil
}

func (l *ledgerExtension) currentSigner() ledger.Signer {
	if h := l.signer.Load(); h != nil {
		return h.s
	}
	return nil
}

func (l *ledgerExtension) signerID() string {
	if s := l.currentSigner(); s != nil {
		return s.Public().ID()
	}
	return ""
}

func (l *ledgerExtension) systemEvent(action string) audit.Event {
	return audit.Event{
		Actor:              audit.Actor{Type: audit.ActorSystem, ID: l.id.String()},
		Action:             action,
		Resource:           audit.Resource{Type: "audit_ledger", ID: l.stream},
		Outcome:            audit.OutcomeSuccess,
		Attributes:         map[string]string{"signing_key_id": l.signerID()},
		DataClassification: audit.ClassInternal,
	}
}

// Record makes ev durable in the ledger.
func (l *ledgerExtension) Record(ctx context.Context, ev audit.Event) error {
	return l.RecordBatch(ctx, []audit.Event{ev})
}

// RecordBatch makes evs durable in the ledger, in order, with one fsync.
func (l *ledgerExtension) RecordBatch(ctx context.Context, evs []audit.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if errp := l.broken.Load(); errp != nil {
		l.tb.AuditLedgerRecordErrors.Add(ctx, int64(len(evs)), reasonWrite)
		return *errp
	}
	now := l.now()
	prepared := make([]ledger.Prepared, len(evs))
	for i := range evs {
		p, err := ledger.Prepare(evs[i], now)
		if err != nil {
			l.tb.AuditLedgerRecordErrors.Add(ctx, int64(len(evs)), reasonInvalid)
			return fmt.Errorf("audit event %d: %w", i, err)
		}
		prepared[i] = p
	}
	if l.shipper != nil && l.shipper.backlog() >= uint64(l.shipper.cfg.MaxBacklog) {
		l.tb.AuditLedgerRecordErrors.Add(ctx, int64(len(evs)), reasonBacklog)
		return ErrBacklogFull
	}
	req := &request{events: prepared, done: make(chan error, 1)}
	l.mu.RLock()
	if !l.running {
		l.mu.RUnlock()
		l.tb.AuditLedgerRecordErrors.Add(ctx, int64(len(evs)), reasonClosed)
		return ErrClosed
	}
	select {
	case l.reqs <- req:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The events may still become durable; recording them again with the same record
		// ids stores them once.
		return ctx.Err()
	}
}

// Shutdown records a stop event, stops the writer (which writes a final checkpoint), gives
// the sinks and witnesses until ctx's deadline to catch up, and closes the journal. Whatever a
// sink did not receive stays in the journal and is delivered after the next start.
func (l *ledgerExtension) Shutdown(ctx context.Context) error {
	l.mu.RLock()
	running := l.running
	l.mu.RUnlock()
	if !running {
		l.tb.Shutdown()
		return nil
	}
	var errs []error
	if l.alerts != nil {
		// First, while the ledger still records what became of the alerts in flight.
		if err := l.alerts.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.Record(ctx, l.systemEvent(ledger.ActionStop)); err != nil {
		errs = append(errs, fmt.Errorf("recording the stop: %w", err))
	}
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
	close(l.stopCh)
	select {
	case <-l.writerDone:
		l.logStopped()
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("audit ledger writer did not stop: %w", ctx.Err()))
	}
	if l.shipper != nil {
		l.shipper.stop(ctx)
	}
	l.witnesses.stop(ctx)
	if err := l.journal.Close(); err != nil {
		errs = append(errs, err)
	}
	l.tb.Shutdown()
	return errors.Join(errs...)
}
