package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedLedger writes a stream of two runs signed by key: start, deliveries with checkpoints,
// stop, twice.
func signedLedger(t *testing.T, key Signer) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	w := newTestStream(t, root, "s1", key, JournalOptions{MaxSegmentBytes: 4 << 10})
	w.run(30, 10)
	w.run(20, 10)
	require.NoError(t, w.j.Close())
	return root, w.dir()
}

func requireVerified(t *testing.T, r Result) {
	t.Helper()
	require.NoError(t, r.Err)
	require.Nil(t, r.Failure, "%v", r.Failure)
}

func requireFailure(t *testing.T, r Result, kind FailureKind, want ...string) {
	t.Helper()
	require.NoError(t, r.Err)
	require.NotNil(t, r.Failure, "verification must fail")
	assert.Equal(t, kind, r.Failure.Kind, r.Failure.Error())
	for _, w := range want {
		assert.Contains(t, r.Failure.Error(), w)
	}
}

func TestVerifyTamperingInPlace(t *testing.T) {
	key := testKey(t)
	trusted := &Verifier{Roots: []*PublicKey{key.Public()}}
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"flip one byte in a value", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte {
				l[2] = bytes.Replace(l[2], []byte("u-42"), []byte("u-43"), 1)
				return l
			})
		}, "entry 3 (SEG0 line 3): stored hash does not match"},
		{"delete one line", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) })
		}, "entry 3 (SEG0 line 3): entry 3 is missing"},
		{"reorder two lines", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l })
		}, "entry 2 (SEG0 line 2): entry 2 is missing"},
		{"remove the tail", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Remove(segs[len(segs)-1].Path))
		}, "truncated"},
		{"edit a checkpoint", func(t *testing.T, dir string) {
			rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte {
				l[0] = bytes.Replace(l[0], []byte(`"reason":"entries"`), []byte(`"reason":"interval"`), 1)
				return l
			})
		}, "stored hash does not match its content"},
		{"drop a checkpoint", func(t *testing.T, dir string) {
			rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte { return l[1:] })
		}, "does not link to the previous checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, dir := signedLedger(t, key)
			requireVerified(t, trusted.VerifyDir(root))
			tc.tamper(t, dir)
			segs, _ := Segments(dir)
			requireFailure(t, trusted.VerifyDir(root), Tampered, strings.ReplaceAll(tc.want, "SEG0", segs[0].Path))
		})
	}
}

// TestVerifySignatureDowngrade: rewriting a signed ledger from some point on and re-issuing
// the later checkpoints without a signature, or appending forged entries after the stop entry,
// is tampering.
func TestVerifySignatureDowngrade(t *testing.T) {
	key := testKey(t)
	trusted := &Verifier{Roots: []*PublicKey{key.Public()}}

	t.Run("later entries rewritten, later checkpoints unsigned", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		forge(t, dir, func(es []Entry) []Entry {
			for i := 12; i < len(es); i++ {
				es[i].Event.Status = "failure"
				es[i].Event.Counts = nil
			}
			return es
		}, func(i int, _ Checkpoint) Signer {
			if i == 0 {
				return key
			}
			return nil
		})
		requireFailure(t, trusted.VerifyDir(root), Tampered, "is not signed, but an earlier checkpoint of the stream is (a signature downgrade)")
		requireFailure(t, (&Verifier{SkipSignatures: true}).VerifyDir(root), Tampered, "signature downgrade")
	})

	t.Run("forged entries after the stop, with an unsigned checkpoint", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		w := newTestStream(t, root, "s1", nil, JournalOptions{})
		w.start()
		w.deliveries(3)
		w.checkpoint(ReasonShutdown)
		requireFailure(t, trusted.VerifyDir(root), Tampered, "signature downgrade")
		_ = dir
	})

	t.Run("forged entries after the stop, without a start", func(t *testing.T) {
		root, _ := signedLedger(t, key)
		w := newTestStream(t, root, "s1", nil, JournalOptions{})
		w.deliveries(2)
		requireFailure(t, trusted.VerifyDir(root), Tampered, "after the stream's stop entry")
	})

	t.Run("forged entries after the stop, not covered by any checkpoint", func(t *testing.T) {
		root, _ := signedLedger(t, key)
		w := newTestStream(t, root, "s1", nil, JournalOptions{})
		w.start()
		w.deliveries(2)
		r := trusted.VerifyDir(root)
		requireVerified(t, r)
		assert.Contains(t, r.Reports[0].Warnings[0], "not covered by a checkpoint yet: nothing proves who wrote them")
		requireFailure(t, (&Verifier{Roots: trusted.Roots, RequireSealed: true}).VerifyDir(root), Unverifiable, "not covered by a checkpoint")
	})
}

// TestVerifyKeyTrust: trust flows from the roots; a key that trust does not reach is
// tampering, a rotation signed by the previous key is not.
func TestVerifyKeyTrust(t *testing.T) {
	key, other, next := testKey(t), testKey(t), testKey(t)

	t.Run("a key pair swapped in", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		forge(t, dir, func(es []Entry) []Entry {
			es[5].Event.Status = "failure"
			return es
		}, func(int, Checkpoint) Signer { return other })
		requireFailure(t, (&Verifier{Roots: []*PublicKey{key.Public()}}).VerifyDir(root), Tampered,
			"signed by key "+other.Public().ID()+", which is not a trusted key")
		requireFailure(t, (&Verifier{Pins: []string{key.Public().Fingerprint()}}).VerifyDir(root), Tampered, "not a trusted key")
		// Given the swapped-in key itself, the forgery verifies: the roots must come from
		// outside the collector's disk.
		requireVerified(t, (&Verifier{Roots: []*PublicKey{other.Public()}}).VerifyDir(root))
	})

	t.Run("signed by another key half way", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		forge(t, dir, func(es []Entry) []Entry { return es }, func(i int, _ Checkpoint) Signer {
			if i < 2 {
				return key
			}
			return other
		})
		requireFailure(t, (&Verifier{Roots: []*PublicKey{key.Public(), other.Public()}}).VerifyDir(root), Tampered,
			"no rotation to "+other.Public().ID()+" was recorded")
	})

	t.Run("a rotation signed by the previous key", func(t *testing.T) {
		root := t.TempDir()
		w := newTestStream(t, root, "s1", key, JournalOptions{})
		w.run(12, 5)
		w.start()
		w.rotate(next)
		w.deliveries(7)
		w.stop()
		for _, v := range []*Verifier{
			{Roots: []*PublicKey{key.Public()}},
			{Pins: []string{key.Public().Fingerprint()}},
		} {
			r := v.VerifyDir(root)
			requireVerified(t, r)
			assert.Equal(t, sortedIDs(key, next), r.Reports[0].KeyIDs)
			assert.True(t, r.Reports[0].Key.Equal(next.Public()), "the stream ends signed by the new key")
		}
		// Trusting only the new key does not reach the old checkpoints.
		requireFailure(t, (&Verifier{Roots: []*PublicKey{next.Public()}}).VerifyDir(root), Tampered, "not a trusted key")
	})

	t.Run("a rotation the previous key did not sign", func(t *testing.T) {
		root := t.TempDir()
		w := newTestStream(t, root, "s1", key, JournalOptions{})
		w.run(12, 5)
		w.start()
		ev := systemEvent(ActionKeyRotation)
		ev.Details = KeyAnnouncement(other.Public())
		w.record(ev)
		w.signer = other // the announcing entry is covered by the new key's own signature
		w.checkpoint(ReasonRotation)
		requireFailure(t, (&Verifier{Roots: []*PublicKey{key.Public()}}).VerifyDir(root), Tampered, "no rotation to")
	})

	t.Run("no trust root", func(t *testing.T) {
		root, _ := signedLedger(t, key)
		requireFailure(t, (&Verifier{}).VerifyDir(root), Unverifiable, "--key-id "+key.Public().Fingerprint())
		requireVerified(t, (&Verifier{SkipSignatures: true}).VerifyDir(root))
	})

	t.Run("a pin that does not match", func(t *testing.T) {
		root, _ := signedLedger(t, key)
		requireFailure(t, (&Verifier{Pins: []string{other.Public().Fingerprint()}}).VerifyDir(root), Tampered, "not a trusted key")
	})

	t.Run("an announcement that lies about its key", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		forge(t, dir, func(es []Entry) []Entry {
			es[0].Event.Details = []byte(strings.Replace(string(es[0].Event.Details), key.Public().ID(), other.Public().ID(), 1))
			return es
		}, func(int, Checkpoint) Signer { return key })
		requireFailure(t, (&Verifier{Pins: []string{key.Public().Fingerprint()}}).VerifyDir(root), Tampered, "its id or algorithm is not the key's")
	})
}

func sortedIDs(keys ...Signer) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.Public().ID())
	}
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	return ids
}

// TestVerifyStoredForm: a line that decodes to the right fields but is not stored exactly as
// the ledger writes it carries something the hash does not cover.
func TestVerifyStoredForm(t *testing.T) {
	key := testKey(t)
	trusted := &Verifier{Roots: []*PublicKey{key.Public()}}
	edits := map[string]func(line []byte) []byte{
		"unknown field": func(l []byte) []byte {
			return bytes.Replace(l, []byte(`,"prev":`), []byte(`,"approved_by":"cfo@example.com","prev":`), 1)
		},
		"duplicate key": func(l []byte) []byte {
			return bytes.Replace(l, []byte(`,"event":{`), []byte(`,"seq":4,"event":{`), 1)
		},
		"case-variant key": func(l []byte) []byte {
			return bytes.Replace(l, []byte(`,"prev":`), []byte(`,"Status":"x","prev":`), 1)
		},
		"whitespace": func(l []byte) []byte { return bytes.Replace(l, []byte(`,"seq":`), []byte(`, "seq": `), 1) },
		"escaped letter": func(l []byte) []byte {
			return bytes.Replace(l, []byte(`"login.success"`), []byte(`"login\u002esuccess"`), 1)
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			root, dir := signedLedger(t, key)
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte {
				l[3] = edit(l[3])
				return l
			})
			requireFailure(t, trusted.VerifyDir(root), Tampered, segs[0].Path+" line 4", "stored form")
		})
	}

	t.Run("checkpoint with an unknown field", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"reason"`), []byte(`"note":"ok","reason"`), 1)
			return l
		})
		requireFailure(t, trusted.VerifyDir(root), Tampered, checkpointsFile+" line 2", "stored form")
	})

	t.Run("duplicated line", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		segs, _ := Segments(dir)
		rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte {
			return append(l[:3:3], append([][]byte{l[2]}, l[3:]...)...)
		})
		requireFailure(t, trusted.VerifyDir(root), Tampered, "entry 3 appears again")
	})

	t.Run("duplicated segment", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		segs, _ := Segments(dir)
		raw, err := os.ReadFile(segs[0].Path)
		require.NoError(t, err)
		last := segs[len(segs)-1]
		entries := allEntries(t, dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(entries[len(entries)-1].Seq+1)), raw, 0o640))
		_ = last
		requireFailure(t, trusted.VerifyDir(root), Tampered, "named for entry")
	})

	t.Run("segment is a symbolic link to /dev/zero", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		segs, _ := Segments(dir)
		require.NoError(t, os.Remove(segs[1].Path))
		require.NoError(t, os.Symlink("/dev/zero", segs[1].Path))
		requireFailure(t, trusted.VerifyDir(root), Tampered, segs[1].Path, "not a regular file")
	})

	t.Run("segment is a FIFO", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		segs, _ := Segments(dir)
		require.NoError(t, os.Remove(segs[1].Path))
		require.NoError(t, syscall.Mkfifo(segs[1].Path, 0o600))
		done := make(chan Result, 1)
		go func() { done <- trusted.VerifyDir(root) }()
		select {
		case r := <-done:
			requireFailure(t, r, Tampered, "not a regular file")
		case <-time.After(10 * time.Second):
			t.Fatal("verify hangs on a FIFO")
		}
	})

	t.Run("checkpoints file is a FIFO", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		path := filepath.Join(dir, checkpointsFile)
		require.NoError(t, os.Remove(path))
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		done := make(chan Result, 1)
		go func() { done <- trusted.VerifyDir(root) }()
		select {
		case r := <-done:
			requireFailure(t, r, Tampered, "not a regular file")
		case <-time.After(10 * time.Second):
			t.Fatal("verify hangs on a FIFO")
		}
	})

	t.Run("a 2 MiB checkpoint line", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		f, err := os.OpenFile(filepath.Join(dir, checkpointsFile), os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write(append(bytes.Repeat([]byte("x"), 2<<20), '\n'))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		requireFailure(t, trusted.VerifyDir(root), Tampered, "not a checkpoint", "more than")
	})

	t.Run("a 2 MiB entry line", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		segs, _ := Segments(dir)
		f, err := os.OpenFile(segs[len(segs)-1].Path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write(append(bytes.Repeat([]byte("x"), 2<<20), '\n'))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		requireFailure(t, trusted.VerifyDir(root), Tampered, "more than")
	})

	t.Run("stream directory is a symbolic link", func(t *testing.T) {
		root, dir := signedLedger(t, key)
		other, _ := signedLedger(t, key)
		require.NoError(t, os.RemoveAll(dir))
		require.NoError(t, os.Symlink(filepath.Join(other, "s1"), dir))
		requireFailure(t, trusted.VerifyDir(root), Tampered, "symbolic link")
	})
}

// TestVerifyRollback: a ledger cut back to an earlier state verifies on its own; the state of
// an earlier verification, a required stream or a witness catches it.
func TestVerifyRollback(t *testing.T) {
	key := testKey(t)
	root, dir := signedLedger(t, key)
	v := &Verifier{Roots: []*PublicKey{key.Public()}}
	r := v.VerifyDir(root)
	requireVerified(t, r)
	anchors := UpdateAnchors(nil, r.Reports, time.Now())
	require.Equal(t, r.Reports[0].LastCheckpoint.Seq, anchors["s1"].Seq)
	statePath := filepath.Join(t.TempDir(), "verify.state")
	require.NoError(t, SaveAnchors(statePath, anchors))
	loaded, err := LoadAnchors(statePath)
	require.NoError(t, err)
	require.Equal(t, anchors, loaded)
	witness := filepath.Join(t.TempDir(), "witness.jsonl")
	raw, err := os.ReadFile(filepath.Join(dir, checkpointsFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(witness, raw, 0o600))

	// Cut the newest run off, entries and checkpoints alike.
	entries := allEntries(t, dir)
	var secondStart uint64
	for _, e := range entries {
		if e.Event.Action == ActionStart {
			secondStart = e.Seq
		}
	}
	forge(t, dir, func(es []Entry) []Entry { return es[:secondStart-1] }, func(int, Checkpoint) Signer { return key })
	requireVerified(t, v.VerifyDir(root)) // alone, a consistent earlier state verifies

	anchored := &Verifier{Roots: v.Roots, Anchors: loaded}
	requireFailure(t, anchored.VerifyDir(root), Tampered, "does not extend the checkpoint verified before")

	w, err := ReadWitnessFile(witness)
	require.NoError(t, err)
	r = v.VerifyDir(root)
	CheckWitness(&r, w, true)
	requireFailure(t, r, Tampered, "the witness holds a checkpoint for entries up to", "rolled back")

	// Another run's ledger in the stream's place.
	otherRoot, _ := signedLedger(t, key)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Rename(filepath.Join(otherRoot, "s1"), dir))
	requireVerified(t, v.VerifyDir(root))
	requireFailure(t, anchored.VerifyDir(root), Tampered, "does not extend the checkpoint verified before")
	r = v.VerifyDir(root)
	CheckWitness(&r, w, true)
	requireFailure(t, r, Tampered, "fork")

	// The stream removed altogether.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "s2"), 0o750))
	w2 := newTestStream(t, root, "s2", key, JournalOptions{})
	w2.run(3, 10)
	requireFailure(t, anchored.VerifyDir(root), Tampered, "stream s1", "it was removed")
	requireFailure(t, (&Verifier{Roots: v.Roots, Streams: []string{"s1"}}).VerifyDir(root), Tampered, "required")
	r = v.VerifyDir(root)
	CheckWitness(&r, w, true)
	requireFailure(t, r, Tampered, "the ledger has no such stream")
}
