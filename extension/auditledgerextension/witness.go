package auditledgerextension

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/ledger"
)

// WitnessFunc delivers checkpoints, in order, to a witness. An error means none of them may be
// taken as delivered; they are offered again later.
type WitnessFunc func(ctx context.Context, cps []ledger.Checkpoint) error

// WitnessRegistry is implemented by the audit ledger: a component registers a witness that
// receives every checkpoint of the ledger's stream, including those written before it
// registered and not delivered to a witness of that name yet. The audit_checkpoints receiver
// registers itself this way to emit checkpoints into a logs pipeline.
type WitnessRegistry interface {
	// RegisterWitness starts delivering to publish under name (unique per ledger; it names the
	// witness's cursor, so a witness keeps its place across restarts). unregister stops it
	// after a last delivery within its context.
	RegisterWitness(name string, publish WitnessFunc) (unregister func(context.Context), err error)
}

const (
	// witnessCursorPrefix starts the name of the file, in the stream directory, that remembers
	// the newest checkpoint a witness received.
	witnessCursorPrefix = "witness-"
	witnessPostgresName = "postgres"
	witnessBatch        = 100
	witnessPoll         = 5 * time.Second
	witnessMaxBackoff   = 30 * time.Second
	witnessTimeout      = 30 * time.Second
)

var (
	sinkWitnessPostgres = metric.WithAttributeSet(attribute.NewSet(attribute.String("sink", "witness_postgres")))
	sinkWitnessPipeline = metric.WithAttributeSet(attribute.NewSet(attribute.String("sink", "witness_pipeline")))
	witnessNameChars    = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// witnesses delivers the stream's checkpoints to each witness from its own cursor.
type witnesses struct {
	dir    string
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder

	mu   sync.Mutex
	byID map[string]*witness
}

func newWitnesses(dir string, logger *zap.Logger, tb *metadata.TelemetryBuilder) *witnesses {
	return &witnesses{dir: dir, logger: logger, tb: tb, byID: map[string]*witness{}}
}

// witness is one witness's delivery loop.
type witness struct {
	name      string
	publish   WitnessFunc
	sink      metric.AddOption
	cursor    string
	delivered uint64
	// offset is how far the checkpoints file has been read; pending are checkpoints read and
	// not delivered yet.
	offset  int64
	pending []ledger.Checkpoint
	notify  chan struct{}
	stopCh  chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	// closer releases what publish holds (a connection pool) once the witness stops.
	closer func()
}

// RegisterWitness implements WitnessRegistry.
func (l *ledgerExtension) RegisterWitness(name string, publish WitnessFunc) (func(context.Context), error) {
	l.mu.RLock()
	running := l.running
	l.mu.RUnlock()
	if !running || l.witnesses == nil {
		return nil, ErrClosed
	}
	w, err := l.witnesses.add("pipeline-"+name, publish, sinkWitnessPipeline, nil)
	if err != nil {
		return nil, err
	}
	w.poke()
	return func(ctx context.Context) { l.witnesses.remove(w, ctx) }, nil
}

// add starts delivering to publish under name; closer (optional) runs when it stops.
func (ws *witnesses) add(name string, publish WitnessFunc, sink metric.AddOption, closer func()) (*witness, error) {
	file := witnessCursorPrefix + witnessNameChars.ReplaceAllString(name, "_") + ".seq"
	w := &witness{name: name, publish: publish, sink: sink, closer: closer, cursor: filepath.Join(ws.dir, file),
		notify: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{})}
	w.delivered, _ = readUint(w.cursor)
	w.ctx, w.cancel = context.WithCancel(context.Background())
	ws.mu.Lock()
	if _, dup := ws.byID[file]; dup {
		ws.mu.Unlock()
		return nil, fmt.Errorf("audit ledger: a witness named %q is registered already", name)
	}
	ws.byID[file] = w
	ws.mu.Unlock()
	go ws.run(w)
	return w, nil
}

func (ws *witnesses) remove(w *witness, ctx context.Context) {
	ws.mu.Lock()
	delete(ws.byID, filepath.Base(w.cursor))
	ws.mu.Unlock()
	w.stop(ctx)
}

// poke wakes every witness: a checkpoint was written.
func (ws *witnesses) poke() {
	if ws == nil {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, w := range ws.byID {
		w.poke()
	}
}

// stop stops every witness after a last delivery within ctx.
func (ws *witnesses) stop(ctx context.Context) {
	if ws == nil {
		return
	}
	ws.mu.Lock()
	all := make([]*witness, 0, len(ws.byID))
	for _, w := range ws.byID {
		all = append(all, w)
	}
	ws.byID = map[string]*witness{}
	ws.mu.Unlock()
	for _, w := range all {
		w.stop(ctx)
	}
}

func (w *witness) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *witness) stop(ctx context.Context) {
	close(w.stopCh)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
}

func (ws *witnesses) run(w *witness) {
	defer close(w.done)
	defer func() {
		if w.closer != nil {
			w.closer()
		}
	}()
	delay := time.Second
	failing := false
	for {
		err := ws.deliver(w)
		switch {
		case err == nil:
			delay = time.Second
			if failing {
				failing = false
				ws.logger.Info("Audit ledger is delivering checkpoints to its witness again", zap.String("witness", w.name), zap.Uint64("seq", w.delivered))
			}
		case errors.Is(err, ledger.ErrFork):
			ws.tb.AuditLedgerSinkErrors.Add(context.Background(), 1, w.sink)
			ws.logger.Error("Audit ledger stopped delivering to a witness: the witness holds a different checkpoint for this stream (the ledger was rewritten, or another collector uses the same stream id)",
				zap.String("witness", w.name), zap.Error(err))
			return
		default:
			ws.tb.AuditLedgerSinkErrors.Add(context.Background(), 1, w.sink)
			if !failing {
				failing = true
				ws.logger.Warn("Audit ledger cannot deliver checkpoints to a witness; they are retried", zap.String("witness", w.name), zap.Error(err))
			}
		}
		wait := witnessPoll
		if err != nil {
			wait, delay = delay, min(2*delay, witnessMaxBackoff)
		}
		select {
		case <-w.stopCh:
			if err == nil {
				_ = ws.deliver(w) // the shutdown checkpoint
			}
			return
		case <-w.notify:
		case <-time.After(wait):
		}
	}
}

// deliver offers the witness every checkpoint after its cursor, in batches. The checkpoints
// file is read from where the last call stopped.
func (ws *witnesses) deliver(w *witness) error {
	cps, offset, err := ledger.ReadCheckpointsFrom(ws.dir, w.offset)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, ledger.ErrTornLine) {
		return err
	}
	w.offset = offset
	for _, c := range cps {
		if c.Seq > w.delivered {
			w.pending = append(w.pending, c)
		}
	}
	for len(w.pending) > 0 {
		batch := w.pending[:min(witnessBatch, len(w.pending))]
		ctx, cancel := context.WithTimeout(w.ctx, witnessTimeout)
		err := w.publish(ctx, batch)
		cancel()
		if err != nil {
			return err
		}
		w.delivered = batch[len(batch)-1].Seq
		if err := writeFileSync(w.cursor, []byte(strconv.FormatUint(w.delivered, 10)+"\n")); err != nil {
			return err
		}
		ws.tb.AuditLedgerSinkEntries.Add(context.Background(), int64(len(batch)), w.sink)
		w.pending = append(w.pending[:0], w.pending[len(batch):]...)
	}
	return nil
}

// pgWitnessPublisher publishes checkpoints to a PostgreSQL witness table.
type pgWitnessPublisher struct {
	cfg WitnessPostgresConfig
	w   *ledger.PGWitness
}

func (p *pgWitnessPublisher) close() {
	if p.w != nil {
		p.w.Close()
		p.w = nil
	}
}

func (p *pgWitnessPublisher) publish(ctx context.Context, cps []ledger.Checkpoint) error {
	if p.w == nil {
		w, err := ledger.OpenPGWitness(ctx, string(p.cfg.DSN), p.cfg.Table)
		if err != nil {
			return err
		}
		if p.cfg.CreateSchema {
			if err := w.EnsureSchema(ctx); err != nil {
				w.Close()
				return err
			}
		}
		p.w = w
	}
	err := p.w.Publish(ctx, cps)
	if err != nil && !errors.Is(err, ledger.ErrFork) {
		p.w.Close()
		p.w = nil
	}
	return err
}
