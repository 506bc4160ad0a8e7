package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJournalReopenAndRepair(t *testing.T) {
	root := t.TempDir()
	w := newTestStream(t, root, "s1", nil, JournalOptions{MaxSegmentBytes: 4 << 10})
	w.run(50, 10)
	require.NoError(t, w.j.Close())
	segs, err := Segments(w.dir())
	require.NoError(t, err)
	assert.Greater(t, len(segs), 1, "segments rotate by size")

	// A torn write at the tail is cut off when the journal is reopened.
	torn := `{"v":1,"stream":"s1","seq":53,"rec`
	f, err := os.OpenFile(segs[len(segs)-1].Path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(torn)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j, head, err := OpenJournal(root, "s1", JournalOptions{RecentIDs: 5})
	require.NoError(t, err)
	defer j.Close()
	assert.Equal(t, uint64(52), head.Seq)
	assert.Equal(t, uint64(52), head.Checkpoint.Seq)
	assert.Equal(t, 6, head.Checkpoints)
	assert.Len(t, head.RecentIDs, 5)
	assert.EqualValues(t, len(torn), head.RepairedBytes)

	r := (&Verifier{}).VerifyDir(root)
	require.False(t, r.Failed(), "%v %v", r.Failure, r.Err)
	assert.Equal(t, uint64(52), r.Reports[0].Entries)
}

// TestJournalStartupCheck opens journals that were damaged while the collector was down: each
// must be refused with a DamageError that says what is wrong, and nothing written to it.
func TestJournalStartupCheck(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"the last segment deleted", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Remove(segs[len(segs)-1].Path))
		}, "entries were removed"},
		{"a middle segment deleted", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Remove(segs[1].Path))
		}, "are missing (a segment was removed)"},
		{"the newest entries cut", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[len(segs)-1].Path, func(l [][]byte) [][]byte { return l[:len(l)-2] })
		}, "entries were removed"},
		{"an entry rewritten and the chain recomputed", func(t *testing.T, dir string) {
			forge(t, dir, func(es []Entry) []Entry {
				es[3].Event.Status = "failure"
				return es
			}, func(int, Checkpoint) Signer { return nil })
			// The original checkpoints are put back below: they no longer match.
		}, "the journal was rewritten"},
		{"a line that is not an entry", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			f, err := os.OpenFile(segs[len(segs)-1].Path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, _ = f.WriteString("garbage that is a whole line\n")
			require.NoError(t, f.Close())
		}, "line"},
		{"a segment renamed", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Rename(segs[0].Path, filepath.Join(dir, "entries-1.jsonl")))
		}, "not a segment name the ledger writes"},
		{"a segment replaced by a symbolic link", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Remove(segs[0].Path))
			require.NoError(t, os.Symlink("/dev/zero", segs[0].Path))
		}, "not a regular file"},
		{"the checkpoints file edited", func(t *testing.T, dir string) {
			rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte {
				l[0] = []byte(strings.Replace(string(l[0]), `"reason":"entries"`, `"reason":"interval"`, 1))
				return l
			})
		}, "hash does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			w := newTestStream(t, root, "s1", nil, JournalOptions{MaxSegmentBytes: 4 << 10})
			w.run(60, 10)
			require.NoError(t, w.j.Close())
			dir := w.dir()
			var cps []byte
			if tc.want == "the journal was rewritten" {
				raw, err := os.ReadFile(filepath.Join(dir, checkpointsFile))
				require.NoError(t, err)
				cps = raw
			}
			tc.damage(t, dir)
			if cps != nil {
				require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointsFile), cps, 0o640))
			}
			before := snapshot(t, dir)
			_, _, err := OpenJournal(root, "s1", JournalOptions{})
			var damage *DamageError
			require.ErrorAs(t, err, &damage)
			assert.Equal(t, "s1", damage.Stream)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, before, snapshot(t, dir), "nothing is written to a damaged journal")
		})
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, de := range des {
		fi, err := os.Lstat(filepath.Join(dir, de.Name()))
		require.NoError(t, err)
		out[de.Name()] = fi.Mode().String() + " " + time.Duration(fi.Size()).String()
	}
	return out
}

func TestLastGoodCheckpoint(t *testing.T) {
	root := t.TempDir()
	w := newTestStream(t, root, "s1", nil, JournalOptions{MaxSegmentBytes: 4 << 10})
	w.run(60, 10)
	require.NoError(t, w.j.Close())
	segs, _ := Segments(w.dir())
	require.NoError(t, os.Remove(segs[len(segs)-1].Path))
	head, err := CheckJournal(w.dir(), 0)
	require.Error(t, err)
	good := LastGoodCheckpoint(w.dir())
	require.NotNil(t, good)
	assert.Less(t, good.Seq, uint64(62))
	assert.Zero(t, head.Seq)
	hash, err := EntryHashAt(w.dir(), good.Seq)
	require.NoError(t, err)
	assert.Equal(t, good.TipHash, hash)
}

// faultyFile fails the operations it is told to fail.
type faultyFile struct {
	journalFile
	failWriteAfter int // bytes written before a write fails (-1: never)
	failSyncs      int // how many syncs fail from now on
	failTruncate   bool
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.failWriteAfter >= 0 && len(p) > f.failWriteAfter {
		n, _ := f.journalFile.Write(p[:f.failWriteAfter])
		return n, errors.New("injected: no space left on device")
	}
	return f.journalFile.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.failSyncs > 0 {
		f.failSyncs--
		return errors.New("injected: input/output error")
	}
	return f.journalFile.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	if f.failTruncate {
		return errors.New("injected: truncate failed")
	}
	return f.journalFile.Truncate(size)
}

// TestJournalCommitIsAllOrNothing injects write, sync and truncate failures: a failed commit
// leaves the segment as it was (so lines that were not acknowledged never stay to be taken for
// durable ones), and a failure that cannot be undone breaks the journal until it is reopened.
func TestJournalCommitIsAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		file       faultyFile
		wantBroken bool
	}{
		{"short write", faultyFile{failWriteAfter: 100}, false},
		{"sync fails", faultyFile{failWriteAfter: -1, failSyncs: 1}, false},
		{"sync and undo fail", faultyFile{failWriteAfter: -1, failSyncs: 1, failTruncate: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var files []*faultyFile
			faulty := false
			opts := JournalOptions{MaxSegmentBytes: 1 << 20, openFile: func(name string, flag int, perm os.FileMode) (journalFile, error) {
				f, err := openOSFile(name, flag, perm)
				if err != nil {
					return nil, err
				}
				ff := &faultyFile{journalFile: f, failWriteAfter: -1}
				files = append(files, ff)
				return ff, nil
			}}
			w := newTestStream(t, root, "s1", nil, opts)
			w.start()
			w.deliveries(3)
			segs, _ := Segments(w.dir())
			before, err := os.ReadFile(segs[0].Path)
			require.NoError(t, err)

			for _, f := range files {
				if strings.HasPrefix(filepath.Base(nameOf(f)), segmentPrefix) {
					*f = faultyFile{journalFile: f.journalFile, failWriteAfter: tc.file.failWriteAfter, failSyncs: tc.file.failSyncs, failTruncate: tc.file.failTruncate}
					faulty = true
				}
			}
			require.True(t, faulty)
			e, line := sealed(t, "s1", w.seq+1, w.prev)
			err = w.j.Commit(line, e.Seq, time.Now())
			require.Error(t, err)
			if tc.wantBroken {
				require.ErrorIs(t, err, ErrJournalBroken)
				require.ErrorIs(t, w.j.Commit(line, e.Seq, time.Now()), ErrJournalBroken, "a broken journal takes no more writes")
				return
			}
			require.NotErrorIs(t, err, ErrJournalBroken)
			after, err := os.ReadFile(segs[0].Path)
			require.NoError(t, err)
			assert.Equal(t, string(before), string(after), "the failed commit left nothing behind")

			// The faults pass: the same entry commits, once.
			for _, f := range files {
				f.failWriteAfter, f.failSyncs, f.failTruncate = -1, 0, false
			}
			require.NoError(t, w.j.Commit(line, e.Seq, time.Now()))
			assert.Len(t, allEntries(t, w.dir()), 5)
		})
	}
}

func nameOf(f *faultyFile) string {
	if n, ok := f.journalFile.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}
