package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadata"
)

// maxPendingSummaries bounds the summaries waiting for the ledger. Past it, a batch's counts
// are merged into a waiting summary of the same service and signal (its "batches" count says
// how many it covers): under a slow ledger the entries get coarser, never lost, and memory
// stays bounded by services x signals.
const maxPendingSummaries = 4096

// recordTimeout bounds one round of recording into the ledger.
const recordTimeout = 30 * time.Second

// summarizer records one ledger entry per batch and service with findings: counts by type
// and action, never values. It records in the background, so the pipeline does not wait for
// the ledger's fsync.
type summarizer struct {
	rec    audit.Recorder
	actor  string
	action string
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder

	mu      sync.Mutex
	pending []audit.Event
	index   map[summaryKey]int // into pending, once merging has begun
	wake    chan struct{}
	stopCh  chan struct{}
	done    chan struct{}
	failing bool
}

type summaryKey struct{ service, signal string }

func newSummarizer(rec audit.Recorder, id component.ID, logger *zap.Logger, tb *metadata.TelemetryBuilder, dryRun bool) *summarizer {
	action := "pii.redact"
	if dryRun {
		action = "pii.detect" // found and counted, not changed
	}
	return &summarizer{rec: rec, actor: id.String(), action: action, logger: logger, tb: tb,
		wake: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{})}
}

func (s *summarizer) start() { go s.run() }

// add queues the summaries of one batch: byService maps a service to its counts, indexed by
// slot*len(actionNames)+action.
func (s *summarizer) add(signal walk.Signal, byService map[string][]int64, slotNames []string) {
	s.mu.Lock()
	for service, counts := range byService {
		key := summaryKey{service, signal.String()}
		if len(s.pending) >= maxPendingSummaries {
			if s.index == nil {
				s.index = make(map[summaryKey]int)
				for i := range s.pending {
					ev := &s.pending[i]
					s.index[summaryKey{ev.Resource.ID, ev.Attributes["signal"]}] = i
				}
			}
			if i, ok := s.index[key]; ok {
				ev := &s.pending[i]
				addCounts(ev.Counts, counts, slotNames)
				ev.Counts["batches"]++
				continue
			}
		}
		ev := audit.Event{
			Time:               time.Now(),
			Actor:              audit.Actor{Type: audit.ActorSystem, ID: s.actor},
			Action:             s.action,
			Resource:           audit.Resource{Type: "telemetry", ID: service, Name: signal.String()},
			Outcome:            audit.OutcomeSuccess,
			Counts:             map[string]int64{"batches": 1},
			Attributes:         map[string]string{"signal": signal.String(), "service": service},
			DataClassification: audit.ClassRestricted,
		}
		addCounts(ev.Counts, counts, slotNames)
		if s.index != nil {
			s.index[key] = len(s.pending)
		}
		s.pending = append(s.pending, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// addCounts adds counts under "<pii_type>.<action>" keys.
func addCounts(dst map[string]int64, counts []int64, slotNames []string) {
	for i, n := range counts {
		if n > 0 {
			dst[slotNames[i/len(actionNames)]+"."+string(actionNames[i%len(actionNames)])] += n
		}
	}
}

func (s *summarizer) run() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
			s.flush(context.Background())
		case <-s.stopCh:
			return
		}
	}
}

func (s *summarizer) flush(ctx context.Context) {
	s.mu.Lock()
	evs := s.pending
	s.pending, s.index = nil, nil
	s.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if err := audit.RecordAll(ctx, s.rec, evs); err != nil {
		s.tb.ProcessorPiiRedactionLedgerFailures.Add(ctx, int64(len(evs)))
		if !s.failing {
			s.failing = true
			s.logger.Error("pii_redaction: batch summaries could not be recorded in the audit ledger; the telemetry itself was redacted and passed on",
				zap.Int("summaries", len(evs)), zap.Error(err))
		}
		return
	}
	if s.failing {
		s.failing = false
		s.logger.Info("pii_redaction: recording batch summaries in the audit ledger again")
	}
}

// stop records what is pending, within ctx.
func (s *summarizer) stop(ctx context.Context) {
	close(s.stopCh)
	<-s.done
	s.flush(ctx)
}
