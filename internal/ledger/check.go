package ledger

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// DamageError says that a stream's journal is not whole: entries or checkpoints are missing,
// edited or out of place. The ledger does not write to such a journal.
type DamageError struct {
	Stream string
	// Where names the file (and line) concerned, when there is one.
	Where string
	Msg   string
}

func (e *DamageError) Error() string {
	where := ""
	if e.Where != "" {
		where = " (" + e.Where + ")"
	}
	return fmt.Sprintf("the journal of stream %s is damaged%s: %s", e.Stream, where, e.Msg)
}

// CheckJournal checks that a stream directory's journal is whole and returns its head: the
// segments are named as the ledger names them and follow each other without a gap, every line
// of the newest segment is an entry in its stored form chained to the one before, the
// checkpoints chain, and the newest checkpoint matches the entry it covers. It reads the first
// and last line of each older segment, the newest segment in full, and one entry per
// checkpoint check. It does not check hashes or signatures (`wardenctl audit verify` does).
// Torn tails must have been cut first (OpenJournal does).
func CheckJournal(dir string, recentIDs int) (Head, error) {
	stream := filepath.Base(dir)
	damage := func(where, format string, args ...any) error {
		return &DamageError{Stream: stream, Where: where, Msg: fmt.Sprintf(format, args...)}
	}
	head := Head{Hash: ZeroHash}
	segs, err := Segments(dir)
	var ferr *FileError
	if errors.As(err, &ferr) {
		return Head{}, damage(ferr.File, "%v", ferr.Err)
	}
	if err != nil {
		return Head{}, err
	}

	var lastOfPrev uint64
	for i, seg := range segs {
		newest := i == len(segs)-1
		first, err := readFirstEntry(seg.Path)
		if err != nil {
			return Head{}, asDamage(stream, err)
		}
		if first == nil {
			if newest {
				break // a crash right after a rotation
			}
			return Head{}, damage(seg.Path, "an empty segment before the newest one")
		}
		if first.Seq != seg.FirstSeq {
			return Head{}, damage(seg.Path, "the segment is named for entry %d but starts with entry %d", seg.FirstSeq, first.Seq)
		}
		if want := lastOfPrev + 1; seg.FirstSeq != want {
			if seg.FirstSeq > want {
				return Head{}, damage(seg.Path, "entries %d..%d are missing (a segment was removed)", want, seg.FirstSeq-1)
			}
			return Head{}, damage(seg.Path, "the segment starts at entry %d, which an earlier segment already holds", seg.FirstSeq)
		}
		if newest {
			h, err := scanNewestSegment(stream, seg, lastOfPrev, head.Hash, recentIDs)
			if err != nil {
				return Head{}, err
			}
			head.Seq, head.Hash, head.RecentIDs = h.Seq, h.Hash, h.RecentIDs
			break
		}
		last, err := readLastEntry(seg.Path)
		if err != nil {
			return Head{}, asDamage(stream, err)
		}
		lastOfPrev, head.Seq, head.Hash = last.Seq, last.Seq, last.Hash
	}

	cps, err := ReadCheckpoints(dir)
	if err != nil && !isNotExist(err) {
		return Head{}, asDamage(stream, err)
	}
	cpPath := filepath.Join(dir, checkpointsFile)
	prevHash, prevSeq := "", uint64(0)
	for i := range cps {
		c := &cps[i]
		where := fmt.Sprintf("%s line %d", cpPath, i+1)
		switch {
		case c.StreamID != stream:
			return Head{}, damage(where, "the checkpoint belongs to stream %q", c.StreamID)
		case c.ComputeHash() != c.Hash:
			return Head{}, damage(where, "the checkpoint's hash does not match its content")
		case c.PrevCheckpoint != prevHash || c.FirstSeq != prevSeq+1 || c.Seq < c.FirstSeq:
			return Head{}, damage(where, "the checkpoint does not follow the one before it")
		}
		prevHash, prevSeq = c.Hash, c.Seq
	}
	if len(cps) == 0 {
		return head, nil
	}
	head.Checkpoint, head.Checkpoints = cps[len(cps)-1], len(cps)
	cp := head.Checkpoint
	where := fmt.Sprintf("%s line %d", cpPath, len(cps))
	if cp.Seq > head.Seq {
		return Head{}, damage(where, "the newest checkpoint covers entries up to %d, but the journal ends at entry %d (entries were removed)", cp.Seq, head.Seq)
	}
	hash, err := EntryHashAt(dir, cp.Seq)
	if err != nil {
		return Head{}, asDamage(stream, err)
	}
	if hash != cp.TipHash {
		return Head{}, damage(where, "entry %d is not the entry the newest checkpoint covers (the journal was rewritten)", cp.Seq)
	}
	return head, nil
}

// LastGoodCheckpoint returns the newest checkpoint of a damaged stream directory that the
// journal still matches (the entry it covers is there, with the hash it names), or nil.
func LastGoodCheckpoint(dir string) *Checkpoint {
	cps, _ := ReadCheckpoints(dir) // the lines read before any bad one
	for i := len(cps) - 1; i >= 0; i-- {
		if hash, err := EntryHashAt(dir, cps[i].Seq); err == nil && hash == cps[i].TipHash && cps[i].ComputeHash() == cps[i].Hash {
			return &cps[i]
		}
	}
	return nil
}

// EntryHashAt returns the stored hash of entry seq of a stream directory.
func EntryHashAt(dir string, seq uint64) (string, error) {
	r, err := NewEntryReader(dir, seq)
	if err != nil {
		return "", err
	}
	defer r.Close()
	for {
		line, pos, err := r.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("entry %d is not in the journal", seq)
		}
		if err != nil {
			return "", err
		}
		if s, ok := PeekSeq(line); !ok || s != seq {
			if ok && s < seq {
				continue
			}
			return "", fmt.Errorf("entry %d is not in the journal (%s line %d holds another)", seq, pos.File, pos.Line)
		}
		e, err := ParseEntry(line)
		if err != nil {
			return "", &LineError{File: pos.File, Line: pos.Line, Err: err}
		}
		return e.Hash, nil
	}
}

// scanNewestSegment reads the newest segment in full: every line an entry in stored form,
// in sequence, chained to the one before.
func scanNewestSegment(stream string, seg Segment, lastOfPrev uint64, prevHash string, recentIDs int) (Head, error) {
	f, err := openRegular(seg.Path)
	if err != nil {
		return Head{}, asDamage(stream, &FileError{File: seg.Path, Err: err})
	}
	defer f.Close()
	lr := newLineReader(f, MaxEntryLine, 1<<20)
	head := Head{Seq: lastOfPrev, Hash: prevHash}
	for n := 1; ; n++ {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Head{}, asDamage(stream, &LineError{File: seg.Path, Line: n, Err: err})
		}
		e, err := ParseEntry(line)
		if err != nil {
			return Head{}, asDamage(stream, &LineError{File: seg.Path, Line: n, Err: err})
		}
		where := fmt.Sprintf("%s line %d", seg.Path, n)
		if e.Seq != head.Seq+1 {
			return Head{}, &DamageError{Stream: stream, Where: where, Msg: fmt.Sprintf("entry %d where entry %d was expected", e.Seq, head.Seq+1)}
		}
		if e.PrevHash != head.Hash {
			return Head{}, &DamageError{Stream: stream, Where: where, Msg: fmt.Sprintf("entry %d does not chain to the entry before it", e.Seq)}
		}
		head.Seq, head.Hash = e.Seq, e.Hash
		if recentIDs > 0 {
			head.RecentIDs = append(head.RecentIDs, e.RecordID)
			if len(head.RecentIDs) >= 2*recentIDs {
				head.RecentIDs = append(head.RecentIDs[:0], head.RecentIDs[len(head.RecentIDs)-recentIDs:]...)
			}
		}
	}
	if len(head.RecentIDs) > recentIDs {
		head.RecentIDs = head.RecentIDs[len(head.RecentIDs)-recentIDs:]
	}
	return head, nil
}

// readLastEntry returns the last entry of a closed segment.
func readLastEntry(path string) (*Entry, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	line, err := readLastLine(f, st.Size(), MaxEntryLine)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	e, err := ParseEntry(line)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("last line: %w", err)}
	}
	return &e, nil
}

// asDamage turns what is wrong with the journal's content into a DamageError; an error of the
// file system (a file that cannot be read) passes as it is.
func asDamage(stream string, err error) error {
	var lerr *LineError
	var ferr *FileError
	var perr *fs.PathError
	switch {
	case errors.As(err, &lerr):
		return &DamageError{Stream: stream, Where: fmt.Sprintf("%s line %d", lerr.File, lerr.Line), Msg: lerr.Err.Error()}
	case errors.As(err, &ferr):
		return &DamageError{Stream: stream, Where: ferr.File, Msg: ferr.Err.Error()}
	case errors.As(err, &perr):
		return err
	}
	return &DamageError{Stream: stream, Msg: err.Error()}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
