package ledger

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseEntry: a line is accepted only in its stored form, so whatever parses encodes back
// to the very same bytes; nothing panics.
func FuzzParseEntry(f *testing.F) {
	e, line := sealed(f, "s1", 7, ZeroHash)
	f.Add(line)
	f.Add(bytes.Replace(line, []byte(`,"seq":7`), []byte(`,"seq":7,"Seq":8`), 1))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"stream":"s","seq":1,"record_id":"r","ts":"","ledger_ts":"","event":{"details":{"a":1e400}},"prev":"","hash":""}`))
	_ = e
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseEntry(in)
		if err != nil {
			return
		}
		canon, err := got.AppendCanonical(nil)
		require.NoError(t, err, "a parsed entry encodes")
		stored := append(canon[:len(canon)-1], `,"hash":`...)
		stored = appendString(stored, got.Hash)
		stored = append(stored, '}')
		require.Equal(t, string(bytes.TrimSuffix(in, []byte("\n"))), string(stored), "only the stored form parses")
		_, _ = got.ComputeHash()
		_, _ = AnnouncedKey(&got)
		_, _ = PeekSeq(in)
	})
}

// FuzzParseCheckpoint: likewise for checkpoint lines.
func FuzzParseCheckpoint(f *testing.F) {
	key := testKey(f)
	cp := Checkpoint{StreamID: "s1", FirstSeq: 1, Seq: 9, TipHash: ZeroHash, Time: "2026-01-01T00:00:00.000000Z", Reason: ReasonEntries}
	line, err := cp.Seal(context.Background(), key)
	require.NoError(f, err)
	f.Add(line)
	f.Add(bytes.Replace(line, []byte(`"reason"`), []byte(`"note":"x","reason"`), 1))
	f.Add([]byte(`{"v":2,"stream":"s","first_seq":1,"seq":1,"tip":"","ts":"","reason":"","hash":""}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCheckpoint(in)
		if err != nil {
			return
		}
		require.Equal(t, string(bytes.TrimSuffix(in, []byte("\n"))), string(bytes.TrimSuffix(c.AppendLine(nil), []byte("\n"))))
		_ = c.VerifySignature(key.Public())
	})
}

// FuzzVerifyJournal: whatever bytes a segment and the checkpoints file hold, verification and
// the start-up check answer without panicking, and never call such a ledger verified unless it
// parses as one.
func FuzzVerifyJournal(f *testing.F) {
	root := f.TempDir()
	w := newTestStream(f, root, "s1", testKey(f), JournalOptions{})
	w.run(5, 3)
	segs, err := Segments(w.dir())
	require.NoError(f, err)
	seg, err := os.ReadFile(segs[0].Path)
	require.NoError(f, err)
	cps, err := os.ReadFile(filepath.Join(w.dir(), checkpointsFile))
	require.NoError(f, err)
	f.Add(seg, cps)
	f.Add(seg[:len(seg)/2], cps)
	f.Add([]byte("\n\n"), []byte("{}\n"))
	f.Fuzz(func(t *testing.T, segment, checkpoints []byte) {
		root, err := os.MkdirTemp("", "fuzz-journal-")
		require.NoError(t, err)
		defer os.RemoveAll(root)
		dir := filepath.Join(root, "s1")
		require.NoError(t, os.MkdirAll(dir, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), segment, 0o640))
		require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointsFile), checkpoints, 0o640))
		r := (&Verifier{SkipSignatures: true}).VerifyDir(root)
		if !r.Failed() && len(segment) > 0 && bytes.HasSuffix(segment, []byte("\n")) {
			for _, line := range bytes.SplitAfter(segment, []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				_, err := ParseEntry(line)
				require.NoError(t, err, "a verified journal holds only entries")
			}
		}
		_, _ = CheckJournal(dir, 10)
	})
}
