package auditledgerextension

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

var (
	// ErrClosed is returned when recording into a ledger that is not running.
	ErrClosed = errors.New("audit ledger is not running")
	// ErrBacklogFull is returned when a sink is so far behind that the ledger refuses more.
	ErrBacklogFull = errors.New("audit ledger backlog is full: a sink has been failing; the event was not recorded")
)

type request struct {
	events []ledger.Prepared
	done   chan error
}

// ledgerExtension is the audit_ledger extension. Recording callers hand prepared events to one
// writer goroutine, which assigns sequence numbers, chains and appends them with one fsync per
// group, and acknowledges each caller once its events are durable.
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
	buf        []byte // the io goroutine's write buffer
	stopCh     chan struct{}
	writerDone chan struct{}
	// headSeq is the newest durable sequence number, for the sinks' backlog.
	headSeq   atomic.Uint64
	failEpoch atomic.Uint64

	stream string
	signer *ledger.Signer
	dedup  *recentIDs

	// owned by the sealer goroutine
	head      ledger.Head
	seenEpoch uint64

	// owned by the io goroutine (durable is also read by the sealer after a failure)
	journal   *ledger.Journal
	durableMu sync.Mutex
	durable   ledger.Head
	lastCp    ledger.Checkpoint
	sinceCp   int

	shipper *pgShipper
}

var (
	_             extension.Extension = (*ledgerExtension)(nil)
	_             audit.Recorder      = (*ledgerExtension)(nil)
	_             audit.BatchRecorder = (*ledgerExtension)(nil)
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

// Start opens the journal, resumes the chain where it stands, and starts the writer and the
// sinks. It records a start event, so every run of the collector is visible in the ledger.
func (l *ledgerExtension) Start(ctx context.Context, _ component.Host) error {
	if err := os.MkdirAll(l.cfg.File.Directory, 0o750); err != nil {
		return fmt.Errorf("audit_ledger: file.directory: %w", err)
	}
	stream, err := l.streamID()
	if err != nil {
		return err
	}
	if l.signer, err = l.loadSigner(); err != nil {
		return err
	}
	l.stream = stream
	j, head, err := ledger.OpenJournal(l.cfg.File.Directory, stream, l.journalOptions())
	if err != nil {
		return fmt.Errorf("audit_ledger: %w", err)
	}
	l.journal, l.head, l.durable = j, head, head
	l.lastCp = head.Checkpoint
	l.sinceCp = int(head.Seq - head.Checkpoint.Seq)
	l.headSeq.Store(head.Seq)
	l.dedup = newRecentIDs(l.cfg.DedupWindow, head.RecentIDs)
	if head.RepairedBytes > 0 {
		l.tb.AuditLedgerRepairedBytes.Add(ctx, head.RepairedBytes)
		l.logger.Warn("Cut a torn write off the audit journal (it was never acknowledged)", zap.Int64("bytes", head.RepairedBytes))
	}
	if pg := l.cfg.Postgres.Get(); l.cfg.Postgres.HasValue() && pg != nil {
		l.shipper = newPGShipper(*pg, j.Dir(), stream, l.logger, l.tb, l.headSeq.Load)
		if err := l.tb.RegisterAuditLedgerSinkBacklogCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(l.shipper.backlog()), sinkPostgres)
			return nil
		}); err != nil {
			return err
		}
		l.shipper.start()
	}
	l.stopCh, l.writerDone = make(chan struct{}), make(chan struct{})
	l.sealed = make(chan *sealedBatch, 2)
	go l.run()
	go l.persist()
	l.mu.Lock()
	l.running = true
	l.mu.Unlock()
	l.logger.Info("Audit ledger started", zap.String("stream", stream), zap.Uint64("seq", head.Seq),
		zap.String("directory", j.Dir()), zap.String("signing_key_id", l.signerID()))

	startEv := l.systemEvent("audit_ledger.start")
	startEv.Counts = map[string]int64{"resumed_at_seq": int64(head.Seq), "repaired_bytes": head.RepairedBytes}
	if l.signer != nil && head.Checkpoint.KeyID != "" && head.Checkpoint.KeyID != l.signer.ID() {
		startEv.Attributes["previous_signing_key_id"] = head.Checkpoint.KeyID
		startEv.Action = "audit_ledger.start.key_rotated"
	}
	if err := l.Record(ctx, startEv); err != nil {
		_ = l.Shutdown(ctx)
		return fmt.Errorf("audit_ledger: recording the start: %w", err)
	}
	return nil
}

func (l *ledgerExtension) journalOptions() ledger.JournalOptions {
	return ledger.JournalOptions{
		MaxSegmentBytes: int64(l.cfg.File.MaxSegmentMiB) << 20,
		MaxSegmentAge:   l.cfg.File.MaxSegmentAge,
		RecentIDs:       l.cfg.DedupWindow,
	}
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

func (l *ledgerExtension) signerID() string {
	if l.signer == nil {
		return ""
	}
	return l.signer.ID()
}

var hostChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// streamID returns the configured stream id, or the one kept in the directory (creating it).
func (l *ledgerExtension) streamID() (string, error) {
	if l.cfg.StreamID != "" {
		return l.cfg.StreamID, nil
	}
	path := filepath.Join(l.cfg.File.Directory, "stream_id")
	if raw, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(raw))
		if !ledger.ValidStreamID(id) {
			return "", fmt.Errorf("audit_ledger: %s holds an invalid stream id %q", path, id)
		}
		return id, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("audit_ledger: %w", err)
	}
	host, _ := os.Hostname()
	host = strings.Trim(hostChars.ReplaceAllString(host, "-"), "-._")
	if host == "" {
		host = "collector"
	}
	if len(host) > 40 {
		host = host[:40]
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := host + "-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("audit_ledger: %w", err)
	}
	return id, nil
}

func (l *ledgerExtension) loadSigner() (*ledger.Signer, error) {
	path := l.cfg.Checkpoint.SigningKeyFile
	if path == "" {
		l.logger.Warn("Audit ledger checkpoints are not signed: set checkpoint.signing_key_file so that the ledger proves who wrote it")
		return nil, nil
	}
	s, err := ledger.LoadSigningKey(path)
	if errors.Is(err, os.ErrNotExist) && l.cfg.Checkpoint.CreateKey {
		if s, err = ledger.GenerateSigningKey(path); err == nil {
			l.logger.Info("Created the audit ledger signing key; keep the public key to verify the ledger",
				zap.String("private_key", path), zap.String("public_key", path+".pub"), zap.String("key_id", s.ID()))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("audit_ledger: checkpoint.signing_key_file: %w", err)
	}
	return s, nil
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

// sealedBatch is a group of requests whose events the sealer has chained and encoded, on
// their way to the disk.
type sealedBatch struct {
	reqs     []*request
	lines    []byte
	firstSeq uint64
	lastSeq  uint64
	lastHash string
	ids      []string
	entries  []ledger.Entry // for the PostgreSQL shipper, when there is one
	dups     int
	err      error
}

// run is the sealer: it gathers requests, assigns sequence numbers, chains and encodes the
// entries, and hands them to persist (the io goroutine), which writes them while the sealer
// prepares the next group. The disk's fsync is thus shared by everything sealed meanwhile.
func (l *ledgerExtension) run() {
	defer close(l.sealed)
	batch := make([]*request, 0, 64)
	for {
		select {
		case r := <-l.reqs:
			batch = append(batch[:0], r)
			n := len(r.events)
		gather:
			for n < l.cfg.MaxBatch {
				select {
				case r2 := <-l.reqs:
					batch = append(batch, r2)
					n += len(r2.events)
				default:
					break gather
				}
			}
			l.sealed <- l.seal(batch)
		case <-l.stopCh:
			for {
				select {
				case r := <-l.reqs:
					l.sealed <- l.seal([]*request{r})
					continue
				default:
				}
				return
			}
		}
	}
}

func (l *ledgerExtension) seal(reqs []*request) *sealedBatch {
	if epoch := l.failEpoch.Load(); epoch != l.seenEpoch {
		// The io goroutine lost a write: continue from what is really on disk.
		l.seenEpoch = epoch
		l.durableMu.Lock()
		l.head.Seq, l.head.Hash = l.durable.Seq, l.durable.Hash
		l.durableMu.Unlock()
	}
	n := 0
	for _, r := range reqs {
		n += len(r.events)
	}
	sb := &sealedBatch{reqs: append([]*request(nil), reqs...), firstSeq: l.head.Seq + 1, lastSeq: l.head.Seq, lastHash: l.head.Hash}
	sb.lines = make([]byte, 0, n*512)
	ledgerTime := ledger.FormatTime(l.now())
	for _, r := range reqs {
		for i := range r.events {
			p := &r.events[i]
			if !l.dedup.add(p.RecordID) {
				sb.dups++
				continue
			}
			e := ledger.Entry{
				Version: ledger.SchemaVersion, StreamID: l.stream, Seq: sb.lastSeq + 1, RecordID: p.RecordID,
				Time: ledger.FormatTime(p.Time), LedgerTime: ledgerTime, KeyID: l.signerID(),
				Event: p.Event, PrevHash: sb.lastHash,
			}
			var err error
			if sb.lines, err = e.Seal(sb.lines); err != nil {
				sb.err = err
				l.dedup.remove(p.RecordID)
				for _, id := range sb.ids {
					l.dedup.remove(id)
				}
				return sb
			}
			sb.ids = append(sb.ids, p.RecordID)
			sb.lastSeq, sb.lastHash = e.Seq, e.Hash
			if l.shipper != nil {
				sb.entries = append(sb.entries, e)
			}
		}
	}
	l.head.Seq, l.head.Hash = sb.lastSeq, sb.lastHash
	return sb
}

// persist is the io goroutine: it writes sealed groups, makes them durable with one fsync per
// round, acknowledges their requests, and writes checkpoints of what is durable.
func (l *ledgerExtension) persist() {
	defer close(l.writerDone)
	var tick <-chan time.Time
	if l.cfg.Checkpoint.Interval > 0 {
		t := time.NewTicker(l.cfg.Checkpoint.Interval)
		defer t.Stop()
		tick = t.C
	}
	group := make([]*sealedBatch, 0, 64)
	prevReqs := 0
	for {
		select {
		case sb, ok := <-l.sealed:
			if !ok {
				if l.sinceCp > 0 {
					l.checkpoint("shutdown")
				}
				return
			}
			group = append(group[:0], sb)
			reqs := len(sb.reqs)
			var linger <-chan time.Time
		more:
			for len(group) < cap(group) {
				select {
				case sb2, ok := <-l.sealed:
					if !ok {
						break more
					}
					group = append(group, sb2)
					reqs += len(sb2.reqs)
				default:
					// The callers of the last round come back at about the same time: when
					// many were there, wait a moment for them rather than split them over
					// two fsyncs. A lone caller never waits.
					if prevReqs < minLingerReqs || reqs >= prevReqs {
						break more
					}
					if linger == nil {
						linger = time.After(maxLinger)
					}
					select {
					case sb2, ok := <-l.sealed:
						if !ok {
							break more
						}
						group = append(group, sb2)
						reqs += len(sb2.reqs)
					case <-linger:
						break more
					}
				}
			}
			prevReqs = reqs
			l.write(group)
		case <-tick:
			if l.sinceCp > 0 {
				l.checkpoint("interval")
			}
		}
	}
}

// Group commit lingers up to maxLinger for the callers of the previous round when it had at
// least minLingerReqs of them.
const (
	maxLinger     = 200 * time.Microsecond
	minLingerReqs = 4
)

// maxRetainedBuf bounds the write buffer the io goroutine keeps between rounds.
const maxRetainedBuf = 4 << 20

func (l *ledgerExtension) write(group []*sealedBatch) {
	ctx := context.Background()
	start := time.Now()
	now := l.now()
	l.durableMu.Lock()
	next, tip := l.durable.Seq+1, l.durable.Hash
	l.durableMu.Unlock()
	// One write for the whole group: batches that chain on the durable tip, in order.
	var err error
	written := group[:0:0]
	l.buf = l.buf[:0]
	first := next
	for _, sb := range group {
		switch {
		case sb.err != nil:
			l.fail(ctx, sb, sb.err)
		case sb.lastSeq < sb.firstSeq: // duplicates only: nothing to write
			written = append(written, sb)
		case sb.firstSeq != next:
			// Sealed on top of a write that was lost: refuse, the caller may retry.
			l.fail(ctx, sb, errors.New("an earlier write failed"))
		default:
			l.buf = append(l.buf, sb.lines...)
			written = append(written, sb)
			next, tip = sb.lastSeq+1, sb.lastHash
		}
	}
	if len(l.buf) > 0 {
		err = l.journal.Write(l.buf, first, now)
	}
	if cap(l.buf) > maxRetainedBuf {
		l.buf = nil
	}
	if err == nil {
		err = l.journal.Sync()
	}
	if err != nil {
		for _, sb := range written {
			l.fail(ctx, sb, err)
		}
		l.recover(err)
		return
	}
	appended := int(next - 1 - l.durable.Seq)
	l.durableMu.Lock()
	l.durable.Seq, l.durable.Hash = next-1, tip
	l.durableMu.Unlock()
	l.headSeq.Store(next - 1)
	l.sinceCp += appended
	dups := 0
	for _, sb := range written {
		dups += sb.dups
		for _, r := range sb.reqs {
			r.done <- nil
		}
	}
	if appended > 0 {
		l.tb.AuditLedgerEntries.Add(ctx, int64(appended))
		l.tb.AuditLedgerCommitDuration.Record(ctx, float64(time.Since(start).Microseconds())/1000)
		if l.shipper != nil {
			for _, sb := range written {
				l.shipper.offer(sb.entries)
			}
			l.shipper.poke()
		}
	}
	if dups > 0 {
		l.tb.AuditLedgerDuplicates.Add(ctx, int64(dups))
	}
	if l.cfg.Checkpoint.Entries > 0 && l.sinceCp >= l.cfg.Checkpoint.Entries {
		l.checkpoint("entries")
	}
}

// fail answers a sealed group's requests with err and forgets its record ids.
func (l *ledgerExtension) fail(ctx context.Context, sb *sealedBatch, err error) {
	n := 0
	for _, r := range sb.reqs {
		n += len(r.events)
		r.done <- fmt.Errorf("audit ledger: %w", err)
	}
	for _, id := range sb.ids {
		l.dedup.remove(id)
	}
	l.tb.AuditLedgerRecordErrors.Add(ctx, int64(n), reasonWrite)
}

// recover reopens the journal after a failed write or sync: whatever reached the disk is the
// chain from now on, and the sealer continues from there.
func (l *ledgerExtension) recover(cause error) {
	l.logger.Error("Audit ledger could not make entries durable; they were not recorded", zap.Error(cause))
	_ = l.journal.Close()
	j, head, err := ledger.OpenJournal(l.cfg.File.Directory, l.stream, l.journalOptions())
	if err != nil {
		l.logger.Error("Audit ledger cannot reopen its journal; recording fails until it can", zap.Error(err))
		return
	}
	l.journal = j
	l.durableMu.Lock()
	l.durable.Seq, l.durable.Hash = head.Seq, head.Hash
	l.durableMu.Unlock()
	l.headSeq.Store(head.Seq)
	l.failEpoch.Add(1)
}

func (l *ledgerExtension) checkpoint(reason string) {
	l.durableMu.Lock()
	seq, tip := l.durable.Seq, l.durable.Hash
	l.durableMu.Unlock()
	cp := ledger.Checkpoint{
		StreamID: l.stream, FirstSeq: l.lastCp.Seq + 1, Seq: seq, TipHash: tip,
		PrevCheckpoint: l.lastCp.Hash, Time: ledger.FormatTime(l.now()), Reason: reason,
	}
	if err := l.journal.AppendCheckpoint(cp.Seal(l.signer)); err != nil {
		l.logger.Error("Audit ledger could not write a checkpoint; it will try again", zap.Error(err))
		return
	}
	l.lastCp, l.sinceCp = cp, 0
	l.tb.AuditLedgerCheckpoints.Add(context.Background(), 1)
	if l.shipper != nil {
		l.shipper.poke()
	}
}

// Shutdown records a stop event, stops the writer (which writes a final checkpoint), gives
// the sinks until ctx's deadline to catch up, and closes the journal. Whatever a sink did not
// receive stays in the journal and is shipped after the next start.
func (l *ledgerExtension) Shutdown(ctx context.Context) error {
	l.mu.RLock()
	running := l.running
	l.mu.RUnlock()
	if !running {
		l.tb.Shutdown()
		return nil
	}
	var errs []error
	if err := l.Record(ctx, l.systemEvent("audit_ledger.stop")); err != nil {
		errs = append(errs, fmt.Errorf("recording the stop: %w", err))
	}
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
	close(l.stopCh)
	select {
	case <-l.writerDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("audit ledger writer did not stop: %w", ctx.Err()))
	}
	if l.shipper != nil {
		l.shipper.stop(ctx)
	}
	if err := l.journal.Close(); err != nil {
		errs = append(errs, err)
	}
	l.tb.Shutdown()
	return errors.Join(errs...)
}

// recentIDs remembers the last n record ids. The sealer adds, the io goroutine removes the
// ids of writes that failed.
type recentIDs struct {
	mu   sync.Mutex
	n    int
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentIDs(n int, initial []string) *recentIDs {
	r := &recentIDs{n: n, set: make(map[string]struct{}, n)}
	for _, id := range initial {
		r.add(id)
	}
	return r
}

// add remembers id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	if r.n == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < r.n {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % r.n
	}
	r.set[id] = struct{}{}
	return true
}

func (r *recentIDs) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.set, id)
}
