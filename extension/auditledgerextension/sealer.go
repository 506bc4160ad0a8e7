package auditledgerextension

import (
	"fmt"

	"github.com/otelwarden/warden/internal/ledger"
)

// sealedBatch is a group of requests whose events the sealer has chained and encoded, on
// their way to the disk.
type sealedBatch struct {
	reqs     []*request
	lines    []byte
	firstSeq uint64
	lastSeq  uint64
	lastHash string
	ids      []string
	entries  []ledger.Entry // for the PostgreSQL shipper and the alerts, when there are any
	dups     int
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

// seal chains and encodes the requests' events after the sealer's head. A request whose event
// cannot be encoded, or would exceed the entry size bound, is answered at once with the error
// and leaves no trace; the others are sealed.
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
	sb := &sealedBatch{reqs: make([]*request, 0, len(reqs)), firstSeq: l.head.Seq + 1, lastSeq: l.head.Seq, lastHash: l.head.Hash}
	sb.lines = make([]byte, 0, n*512)
	ledgerTime := ledger.FormatTime(l.now())
	kid := l.signerID()
	for _, r := range reqs {
		mark, idMark, entryMark, dupMark := len(sb.lines), len(sb.ids), len(sb.entries), sb.dups
		seqMark, hashMark := sb.lastSeq, sb.lastHash
		var err error
		for i := range r.events {
			p := &r.events[i]
			if !l.dedup.add(p.RecordID) {
				sb.dups++
				continue
			}
			sb.ids = append(sb.ids, p.RecordID)
			e := ledger.Entry{
				Version: ledger.SchemaVersion, StreamID: l.stream, Seq: sb.lastSeq + 1, RecordID: p.RecordID,
				Time: ledger.FormatTime(p.Time), LedgerTime: ledgerTime, KeyID: kid,
				Event: p.Event, PrevHash: sb.lastHash,
			}
			start := len(sb.lines)
			if sb.lines, err = e.Seal(sb.lines); err != nil {
				break
			}
			if len(sb.lines)-start > ledger.MaxEntryLine {
				err = ErrEntryTooLarge
				break
			}
			sb.lastSeq, sb.lastHash = e.Seq, e.Hash
			if l.shipper != nil || l.alerts != nil {
				sb.entries = append(sb.entries, e)
			}
		}
		if err != nil {
			l.dedup.remove(sb.ids[idMark:]...)
			sb.lines, sb.ids, sb.entries, sb.dups = sb.lines[:mark], sb.ids[:idMark], sb.entries[:entryMark], dupMark
			sb.lastSeq, sb.lastHash = seqMark, hashMark
			l.tb.AuditLedgerRecordErrors.Add(ctxBackground, int64(len(r.events)), reasonInvalid)
			r.done <- fmt.Errorf("audit ledger: %w", err)
			continue
		}
		sb.reqs = append(sb.reqs, r)
	}
	l.head.Seq, l.head.Hash = sb.lastSeq, sb.lastHash
	return sb
}
