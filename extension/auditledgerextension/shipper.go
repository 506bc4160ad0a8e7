package auditledgerextension

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/ledger"
)

// pgShipper ships a stream's journal to PostgreSQL in order: entries in batches, and each
// checkpoint once the entries it covers are there. A failure is retried with backoff; the
// entries wait in the journal meanwhile.
type pgShipper struct {
	cfg     PostgresConfig
	dir     string
	stream  string
	logger  *zap.Logger
	tb      *metadata.TelemetryBuilder
	headSeq func() uint64

	shipped atomic.Uint64
	notify  chan struct{}
	stopCh  chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc

	// mem holds entries just made durable, so that a shipper that keeps up does not read
	// them back from the journal. It is bounded; a shipper that falls behind reads the
	// journal, which is the truth either way.
	memMu        sync.Mutex
	mem          []ledger.Entry
	readerBehind bool // entries were shipped from mem: the reader must skip them
	memCap       int  // overrides memLimit in tests

	store    *ledger.PGStore
	reader   *ledger.EntryReader
	pending  []ledger.Entry
	cpOffset int64
	cps      []ledger.Checkpoint
	failing  bool
}

func newPGShipper(cfg PostgresConfig, dir, stream string, logger *zap.Logger, tb *metadata.TelemetryBuilder, headSeq func() uint64) *pgShipper {
	s := &pgShipper{cfg: cfg, dir: dir, stream: stream, logger: logger, tb: tb, headSeq: headSeq,
		notify: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{})}
	if raw, err := os.ReadFile(filepath.Join(dir, ledger.ShippedHintFile)); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64); err == nil {
			s.shipped.Store(n)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func (s *pgShipper) backlog() uint64 {
	head, shipped := s.headSeq(), s.shipped.Load()
	if shipped >= head {
		return 0
	}
	return head - shipped
}

func (s *pgShipper) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *pgShipper) start() { go s.run() }

// stop lets the shipper drain, for at most shutdownDrain or until ctx ends, then stops it,
// interrupting an attempt in progress (a connection to an unreachable or unresolvable host
// can take many seconds): what is left stays in the journal, which the next start ships.
func (s *pgShipper) stop(ctx context.Context) {
	close(s.stopCh)
	drain := time.NewTimer(shutdownDrain)
	defer drain.Stop()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
	case <-drain.C:
		s.cancel()
		<-s.done
	}
	s.cancel()
	if b := s.backlog(); b > 0 {
		s.logger.Warn("Audit ledger stopped with entries not yet in PostgreSQL; they stay in the journal and are shipped at the next start",
			zap.Uint64("backlog", b), zap.Uint64("shipped_seq", s.shipped.Load()))
	}
}

func (s *pgShipper) stopping() bool {
	select {
	case <-s.stopCh:
		return true
	default:
		return false
	}
}

func (s *pgShipper) run() {
	defer close(s.done)
	defer func() {
		if s.reader != nil {
			_ = s.reader.Close()
		}
		if s.store != nil {
			s.store.Close()
		}
	}()
	delay := s.cfg.RetryInterval
	for {
		err := s.step()
		switch {
		case err == nil:
			delay = s.cfg.RetryInterval
			if s.failing {
				s.failing = false
				s.logger.Info("Audit ledger is delivering to PostgreSQL again", zap.Uint64("shipped_seq", s.shipped.Load()))
			}
			continue
		case errors.Is(err, errIdle):
			if s.stopping() {
				return
			}
			select {
			case <-s.notify:
			case <-s.stopCh:
			case <-time.After(time.Second):
			}
			continue
		case errors.Is(err, ledger.ErrFork):
			s.tb.AuditLedgerSinkErrors.Add(context.Background(), 1, sinkPostgres)
			s.logger.Error("Audit ledger stopped delivering to PostgreSQL: the table holds different entries for this stream (another writer uses the same stream id, or the table was edited); entries stay in the journal",
				zap.Error(err))
			<-s.ctx.Done()
			return
		case s.ctx.Err() != nil:
			return
		}
		s.tb.AuditLedgerSinkErrors.Add(context.Background(), 1, sinkPostgres)
		if !s.failing {
			s.failing = true
			s.logger.Warn("Audit ledger cannot deliver to PostgreSQL; entries wait in the journal and are retried",
				zap.Error(err), zap.Uint64("backlog", s.backlog()))
		}
		if s.store != nil && !isDataError(err) {
			s.store.Close()
			s.store = nil
		}
		select {
		case <-time.After(delay):
		case <-s.ctx.Done():
			return
		}
		if s.stopping() {
			// Shutting down with the database unavailable: leave the rest in the journal.
			return
		}
		delay = min(2*delay, s.cfg.MaxRetryInterval)
	}
}

var errIdle = errors.New("nothing to ship")

// shutdownDrain bounds how long a stopping ledger waits for PostgreSQL to take the rest.
const shutdownDrain = 5 * time.Second

// isDataError tells errors about the data (kept connection) from connection errors.
func isDataError(err error) bool { return errors.Is(err, ledger.ErrFork) }

// step does one unit of work: connect, ship one batch, or ship checkpoints.
func (s *pgShipper) step() error {
	if s.store == nil {
		store, err := ledger.OpenPG(s.ctx, string(s.cfg.DSN), s.cfg.Table)
		if err != nil {
			return err
		}
		if err := s.connect(store); err != nil {
			store.Close()
			return err
		}
		s.store = store
	}
	if len(s.pending) == 0 {
		if err := s.fill(); err != nil {
			return err
		}
	}
	if len(s.pending) > 0 {
		if err := s.store.CopyEntries(s.ctx, s.pending); err != nil {
			return err
		}
		last := s.pending[len(s.pending)-1].Seq
		s.tb.AuditLedgerSinkEntries.Add(context.Background(), int64(len(s.pending)), sinkPostgres)
		s.pending = s.pending[:0]
		s.shipped.Store(last)
		_ = os.WriteFile(filepath.Join(s.dir, ledger.ShippedHintFile), []byte(strconv.FormatUint(last, 10)+"\n"), 0o640)
	}
	shippedCps, err := s.shipCheckpoints()
	if err != nil {
		return err
	}
	if len(s.pending) == 0 && !shippedCps && s.shipped.Load() >= s.headSeq() {
		return errIdle
	}
	return nil
}

// connect prepares the schema and learns how far the database has the stream.
func (s *pgShipper) connect(store *ledger.PGStore) error {
	if err := store.Ping(s.ctx); err != nil {
		return err
	}
	if s.cfg.CreateSchema {
		if err := store.EnsureSchema(s.ctx); err != nil {
			return err
		}
	}
	hw, hwHash, err := store.HighWater(s.ctx, s.stream)
	if err != nil {
		return err
	}
	// The table is shipped from the journal, so it can never hold more than the journal.
	if head := s.headSeq(); hw > head {
		return fmt.Errorf("table %s holds entries of stream %s up to %d, but the journal ends at entry %d (the journal lost entries): %w", s.cfg.Table, s.stream, hw, head, ledger.ErrFork)
	}
	if hw > 0 {
		h, err := ledger.EntryHashAt(s.dir, hw)
		if err != nil {
			return err
		}
		if h != hwHash {
			return fmt.Errorf("table %s holds another entry %d of stream %s than the journal: %w", s.cfg.Table, hw, s.stream, ledger.ErrFork)
		}
	}
	if s.reader != nil {
		_ = s.reader.Close()
	}
	s.pending = s.pending[:0]
	s.shipped.Store(hw)
	s.reader, err = ledger.NewEntryReader(s.dir, hw+1)
	if err != nil {
		return err
	}
	s.cpOffset, s.cps = 0, nil
	return nil
}

// memLimit bounds the entries the shipper holds in memory.
func (s *pgShipper) memLimit() int {
	if s.memCap > 0 {
		return s.memCap
	}
	return max(8*s.cfg.BatchSize, 16384)
}

// offer hands the shipper entries that are now durable in the journal, in order.
func (s *pgShipper) offer(entries []ledger.Entry) {
	if len(entries) == 0 {
		return
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if n := len(s.mem); n > 0 && s.mem[n-1].Seq+1 != entries[0].Seq {
		clear(s.mem)
		s.mem = s.mem[:0]
	}
	s.mem = append(s.mem, entries...)
	if over := len(s.mem) - s.memLimit(); over > 0 {
		// Far behind: keep the newest; the journal has the rest. Dropping a quarter at a
		// time keeps the copying amortised.
		n := copy(s.mem, s.mem[max(over, s.memLimit()/4):])
		clear(s.mem[n:])
		s.mem = s.mem[:n]
	}
}

// takeMem moves up to max consecutive entries from seq on out of mem into pending.
func (s *pgShipper) takeMem(seq uint64, max int) bool {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	i := 0
	for i < len(s.mem) && s.mem[i].Seq < seq {
		i++
	}
	j := i
	for j < len(s.mem) && j-i < max && s.mem[j].Seq == seq+uint64(j-i) {
		j++
	}
	s.pending = append(s.pending, s.mem[i:j]...)
	rest := copy(s.mem, s.mem[j:])
	clear(s.mem[rest:])
	s.mem = s.mem[:rest]
	return j > i
}

// fill gathers the next batch of entries: from memory when it holds the next ones, otherwise
// from the journal.
func (s *pgShipper) fill() error {
	if s.takeMem(s.shipped.Load()+1, s.cfg.BatchSize) {
		s.readerBehind = true
		return nil
	}
	if s.readerBehind {
		_ = s.reader.Close()
		r, err := ledger.NewEntryReader(s.dir, s.shipped.Load()+1)
		if err != nil {
			return err
		}
		s.reader, s.readerBehind = r, false
	}
	for len(s.pending) < s.cfg.BatchSize {
		line, pos, err := s.reader.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		e, err := ledger.ParseEntry(line)
		if err != nil {
			return &ledger.LineError{File: pos.File, Line: pos.Line, Err: err}
		}
		if e.Seq <= s.shipped.Load() {
			continue
		}
		s.pending = append(s.pending, e)
	}
	return nil
}

// shipCheckpoints sends the checkpoints whose entries the database has.
func (s *pgShipper) shipCheckpoints() (bool, error) {
	f, err := os.Open(filepath.Join(s.dir, "checkpoints.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if _, err := f.Seek(s.cpOffset, io.SeekStart); err != nil {
		return false, err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break // a partial line is read again next time
		}
		s.cpOffset += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		c, perr := ledger.ParseCheckpoint(line)
		if perr != nil {
			return false, perr
		}
		s.cps = append(s.cps, c)
	}
	n := 0
	for n < len(s.cps) && s.cps[n].Seq <= s.shipped.Load() {
		n++
	}
	if n == 0 {
		return false, nil
	}
	if err := s.store.InsertCheckpoints(s.ctx, s.cps[:n]); err != nil {
		return false, err
	}
	s.cps = append(s.cps[:0], s.cps[n:]...)
	return true, nil
}
