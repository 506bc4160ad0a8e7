package ledger

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/audit"
)

// testStream writes a stream the way the audit_ledger extension does: a start entry that
// announces the signing key, entries, checkpoints, rotations and a stop entry, each committed
// to a real journal.
type testStream struct {
	t      testing.TB
	root   string
	stream string
	j      *Journal
	signer Signer
	seq    uint64
	prev   string
	lastCp Checkpoint
	clock  time.Time
}

func newTestStream(t testing.TB, root, stream string, signer Signer, opts JournalOptions) *testStream {
	t.Helper()
	if opts.MaxSegmentBytes == 0 {
		opts.MaxSegmentBytes = 8 << 10
	}
	j, head, err := OpenJournal(root, stream, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return &testStream{t: t, root: root, stream: stream, j: j, signer: signer, seq: head.Seq, prev: head.Hash,
		lastCp: head.Checkpoint, clock: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
}

func (w *testStream) dir() string { return filepath.Join(w.root, w.stream) }

func (w *testStream) record(ev audit.Event) Entry {
	w.t.Helper()
	w.clock = w.clock.Add(time.Millisecond)
	p, err := Prepare(ev, w.clock)
	require.NoError(w.t, err)
	e := Entry{Version: SchemaVersion, StreamID: w.stream, Seq: w.seq + 1, RecordID: p.RecordID,
		Time: FormatTime(p.Time), LedgerTime: FormatTime(w.clock), Event: p.Event, PrevHash: w.prev}
	if w.signer != nil {
		e.KeyID = w.signer.Public().ID()
	}
	line, err := e.Seal(nil)
	require.NoError(w.t, err)
	require.NoError(w.t, w.j.Commit(line, e.Seq, w.clock))
	w.seq, w.prev = e.Seq, e.Hash
	return e
}

func systemEvent(action string) audit.Event {
	return audit.Event{Actor: audit.Actor{Type: audit.ActorSystem, ID: "audit_ledger"}, Action: action,
		Resource: audit.Resource{Type: "audit_ledger", ID: "s"}, Outcome: audit.OutcomeSuccess}
}

func (w *testStream) start() {
	ev := systemEvent(ActionStart)
	if w.signer != nil {
		ev.Details = KeyAnnouncement(w.signer.Public())
	}
	w.record(ev)
}

func (w *testStream) stop() {
	w.record(systemEvent(ActionStop))
	w.checkpoint(ReasonShutdown)
}

func (w *testStream) deliveries(n int) {
	for i := range n {
		w.record(sampleEvent(i))
	}
}

func (w *testStream) checkpoint(reason string) Checkpoint {
	w.t.Helper()
	cp := Checkpoint{StreamID: w.stream, FirstSeq: w.lastCp.Seq + 1, Seq: w.seq, TipHash: w.prev,
		PrevCheckpoint: w.lastCp.Hash, Time: FormatTime(w.clock), Reason: reason}
	line, err := cp.Seal(context.Background(), w.signer)
	require.NoError(w.t, err)
	require.NoError(w.t, w.j.AppendCheckpoint(line))
	w.lastCp = cp
	return cp
}

// rotate announces next, has the current key sign the checkpoint that covers the
// announcement, and signs with next from then on.
func (w *testStream) rotate(next Signer) {
	ev := systemEvent(ActionKeyRotation)
	ev.Details = KeyAnnouncement(next.Public())
	w.record(ev)
	w.checkpoint(ReasonRotation)
	w.signer = next
}

// run writes a whole run: start, n deliveries with a checkpoint every cpEvery, stop.
func (w *testStream) run(n, cpEvery int) {
	w.start()
	for i := 1; i <= n; i++ {
		w.record(sampleEvent(i))
		if i%cpEvery == 0 {
			w.checkpoint(ReasonEntries)
		}
	}
	w.stop()
}

func testKey(t testing.TB) *FileSigner {
	t.Helper()
	s, err := GenerateSigningKey(filepath.Join(t.TempDir(), "signing.key"))
	require.NoError(t, err)
	return s
}

// fileLines reads a file as lines (newlines kept).
func fileLines(t testing.TB, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func rewriteLines(t testing.TB, path string, edit func(lines [][]byte) [][]byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, bytes.Join(edit(fileLines(t, path)), nil), 0o600))
}

// allEntries reads every entry of a stream directory.
func allEntries(t testing.TB, dir string) []Entry {
	t.Helper()
	r, err := NewEntryReader(dir, 1)
	require.NoError(t, err)
	defer r.Close()
	var out []Entry
	for {
		line, _, err := r.Next()
		if err != nil {
			break
		}
		e, err := ParseEntry(line)
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

// forge rewrites a stream directory as someone who knows the published format would: edit
// changes the entries, every hash and link is recomputed, sequence numbers are renumbered, and
// the checkpoints are issued again at the same places (those still within the stream), each
// signed by what signerFor returns for it (nil: unsigned).
func forge(t testing.TB, dir string, edit func([]Entry) []Entry, signerFor func(i int, cp Checkpoint) Signer) {
	t.Helper()
	entries := edit(allEntries(t, dir))
	cps, err := ReadCheckpoints(dir)
	require.NoError(t, err)
	segs, err := Segments(dir)
	require.NoError(t, err)
	for _, s := range segs {
		require.NoError(t, os.Remove(s.Path))
	}
	var lines []byte
	prev := ZeroHash
	for i := range entries {
		e := &entries[i]
		e.Seq, e.PrevHash = uint64(i+1), prev
		lines, err = e.Seal(lines)
		require.NoError(t, err)
		prev = e.Hash
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), lines, 0o640))
	var out []byte
	var last Checkpoint
	for i, c := range cps {
		if c.Seq > uint64(len(entries)) {
			break
		}
		cp := Checkpoint{StreamID: c.StreamID, FirstSeq: last.Seq + 1, Seq: c.Seq, TipHash: entries[c.Seq-1].Hash,
			PrevCheckpoint: last.Hash, Time: c.Time, Reason: c.Reason}
		line, err := cp.Seal(context.Background(), signerFor(i, c))
		require.NoError(t, err)
		out = append(out, line...)
		last = cp
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointsFile), out, 0o640))
}
