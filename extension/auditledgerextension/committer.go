package auditledgerextension

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/ledger"
)

var ctxBackground = context.Background()

// Group commit lingers up to maxLinger for the callers of the previous round when it had at
// least minLingerReqs of them.
const (
	maxLinger     = 200 * time.Microsecond
	minLingerReqs = 4
)

// maxRetainedBuf bounds the write buffer the io goroutine keeps between rounds.
const maxRetainedBuf = 4 << 20

// signTimeout bounds signing one checkpoint (a KMS call).
const signTimeout = 30 * time.Second

// checkpointRequest asks the io goroutine for a checkpoint now, signed by signer.
type checkpointRequest struct {
	reason string
	signer ledger.Signer
	done   chan error
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
					_ = l.checkpoint(ledger.ReasonShutdown, l.currentSigner())
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
		case req := <-l.control:
			req.done <- l.checkpoint(req.reason, req.signer)
		case <-tick:
			if l.sinceCp > 0 {
				_ = l.checkpoint(ledger.ReasonInterval, l.currentSigner())
			}
		}
	}
}

func (l *ledgerExtension) write(group []*sealedBatch) {
	ctx := ctxBackground
	start := time.Now()
	now := l.now()
	l.durableMu.Lock()
	next, tip := l.durable.Seq+1, l.durable.Hash
	l.durableMu.Unlock()
	// One write for the whole group: batches that chain on the durable tip, in order.
	written := group[:0:0]
	l.buf = l.buf[:0]
	first := next
	for _, sb := range group {
		switch {
		case sb.lastSeq < sb.firstSeq: // duplicates only, or nothing left: nothing to write
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
	var err error
	if len(l.buf) > 0 {
		err = l.journal.Commit(l.buf, first, now)
	}
	if cap(l.buf) > maxRetainedBuf {
		l.buf = nil
	}
	if err != nil {
		// The journal rolled the group back: the durable head is unchanged, and the sealer
		// continues from it.
		for _, sb := range written {
			l.fail(ctx, sb, err)
		}
		l.failEpoch.Add(1)
		if errors.Is(err, ledger.ErrJournalBroken) {
			l.broken.Store(&err)
			l.logger.Error("Audit ledger journal is broken: a failed write could not be undone. Nothing more is recorded until the collector restarts and checks the journal", zap.Error(err))
		} else {
			l.logger.Error("Audit ledger could not make entries durable; they were not recorded and the callers were told", zap.Error(err))
		}
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
		if l.alerts != nil {
			for _, sb := range written {
				l.alerts.Observe(sb.entries)
			}
		}
	}
	if dups > 0 {
		l.tb.AuditLedgerDuplicates.Add(ctx, int64(dups))
	}
	if l.cfg.Checkpoint.Entries > 0 && l.sinceCp >= l.cfg.Checkpoint.Entries {
		_ = l.checkpoint(ledger.ReasonEntries, l.currentSigner())
	}
}

// fail answers a sealed group's requests with err and forgets its record ids.
func (l *ledgerExtension) fail(ctx context.Context, sb *sealedBatch, err error) {
	n := 0
	for _, r := range sb.reqs {
		n += len(r.events)
		r.done <- fmt.Errorf("audit ledger: %w", err)
	}
	l.dedup.remove(sb.ids...)
	l.tb.AuditLedgerRecordErrors.Add(ctx, int64(n), reasonWrite)
}

// checkpoint writes a checkpoint of what is durable, signed by signer (nil: unsigned).
func (l *ledgerExtension) checkpoint(reason string, signer ledger.Signer) error {
	l.durableMu.Lock()
	seq, tip := l.durable.Seq, l.durable.Hash
	l.durableMu.Unlock()
	cp := ledger.Checkpoint{
		StreamID: l.stream, FirstSeq: l.lastCp.Seq + 1, Seq: seq, TipHash: tip,
		PrevCheckpoint: l.lastCp.Hash, Time: ledger.FormatTime(l.now()), Reason: reason,
	}
	ctx, cancel := context.WithTimeout(ctxBackground, signTimeout)
	defer cancel()
	line, err := cp.Seal(ctx, signer)
	if err == nil {
		err = l.journal.AppendCheckpoint(line)
	}
	if err != nil {
		l.logger.Error("Audit ledger could not write a checkpoint; it will try again", zap.Error(err))
		return err
	}
	l.lastCp, l.sinceCp = cp, 0
	l.tb.AuditLedgerCheckpoints.Add(ctxBackground, 1)
	if l.shipper != nil {
		l.shipper.poke()
	}
	l.witnesses.poke()
	return nil
}

// checkpointNow has the io goroutine write a checkpoint signed by signer, and waits for it.
func (l *ledgerExtension) checkpointNow(ctx context.Context, reason string, signer ledger.Signer) error {
	req := checkpointRequest{reason: reason, signer: signer, done: make(chan error, 1)}
	select {
	case l.control <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
