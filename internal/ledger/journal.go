package ledger

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// JournalOptions bound the segment files.
type JournalOptions struct {
	MaxSegmentBytes int64
	MaxSegmentAge   time.Duration
	// RecentIDs is how many record ids of the newest entries Open returns (for deduplication).
	RecentIDs int

	// openFile opens the journal's files for writing; tests inject faults through it.
	openFile func(name string, flag int, perm os.FileMode) (journalFile, error)
}

// journalFile is what the journal needs of a file it appends to.
type journalFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

func openOSFile(name string, flag int, perm os.FileMode) (journalFile, error) {
	return os.OpenFile(name, flag, perm)
}

// Head is where a stream's chain stands when its journal is opened.
type Head struct {
	Seq  uint64
	Hash string
	// Checkpoint is the newest checkpoint (zero when there is none).
	Checkpoint Checkpoint
	// Checkpoints is how many checkpoints the stream has.
	Checkpoints int
	// RecentIDs are the record ids of the newest entries, oldest first.
	RecentIDs []string
	// RepairedBytes counts bytes of torn (never acknowledged) writes cut off the tails.
	RepairedBytes int64
}

// ErrJournalBroken is returned by every write once a failed write could not be undone: what
// is in the file is no longer known to be what was acknowledged, so nothing more is written
// until the journal is opened again (and checked).
var ErrJournalBroken = errors.New("the audit journal could not undo a failed write and accepts no more writes until it is reopened")

// Journal is the append side of a stream's file journal. It is used by one writer. A commit
// is either durable in full or rolled back in full: the file never keeps lines that were not
// acknowledged.
type Journal struct {
	dir       string
	opts      JournalOptions
	seg       journalFile
	segSize   int64
	segOpened time.Time
	cp        journalFile
	cpSize    int64
	broken    error
}

// OpenJournal opens (creating it when missing) the journal of stream under root, cuts torn
// tails left by a crash (writes that were never acknowledged), checks that the journal is
// whole (see CheckJournal) and returns where the chain stands. A journal that is not whole is
// a *DamageError, and nothing is written to it.
func OpenJournal(root, stream string, opts JournalOptions) (*Journal, Head, error) {
	if !ValidStreamID(stream) {
		return nil, Head{}, fmt.Errorf("invalid stream id %q", stream)
	}
	if opts.openFile == nil {
		opts.openFile = openOSFile
	}
	dir := filepath.Join(root, stream)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, Head{}, err
	}
	repaired, err := repairTails(dir)
	if err != nil {
		return nil, Head{}, asDamage(stream, err)
	}
	head, err := CheckJournal(dir, opts.RecentIDs)
	if err != nil {
		return nil, Head{}, err
	}
	head.RepairedBytes = repaired

	j := &Journal{dir: dir, opts: opts}
	segs, err := Segments(dir)
	if err != nil {
		return nil, Head{}, err
	}
	if len(segs) > 0 {
		if j.seg, err = opts.openFile(segs[len(segs)-1].Path, os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
			return nil, Head{}, err
		}
		st, err := j.seg.Stat()
		if err != nil {
			j.Close()
			return nil, Head{}, err
		}
		j.segSize, j.segOpened = st.Size(), st.ModTime()
	}
	if j.cp, err = opts.openFile(filepath.Join(dir, checkpointsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err != nil {
		j.Close()
		return nil, Head{}, err
	}
	if st, err := j.cp.Stat(); err == nil {
		j.cpSize = st.Size()
	}
	return j, head, nil
}

// Dir is the stream's directory.
func (j *Journal) Dir() string { return j.dir }

// repairTails cuts a partial last line off the newest segment and off the checkpoints file:
// a write that never completed was never acknowledged.
func repairTails(dir string) (int64, error) {
	segs, err := Segments(dir)
	if err != nil {
		return 0, err
	}
	var cut int64
	if len(segs) > 0 {
		n, err := repairTail(segs[len(segs)-1].Path)
		if err != nil {
			return 0, err
		}
		cut += n
	}
	n, err := repairTail(filepath.Join(dir, checkpointsFile))
	return cut + n, err
}

// repairTail cuts a partial last line off path and returns how many bytes it cut.
func repairTail(path string) (int64, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	rf, err := openRegular(path)
	if err != nil {
		return 0, &FileError{File: path, Err: err}
	}
	st, err := rf.Stat()
	if err != nil {
		rf.Close()
		return 0, err
	}
	size := st.Size()
	var keep int64
	if size > 0 {
		last := make([]byte, 1)
		if _, err := rf.ReadAt(last, size-1); err != nil {
			rf.Close()
			return 0, err
		}
		if last[0] == '\n' {
			rf.Close()
			return 0, nil
		}
		line, err := readLastLine(rf, size+1, max(MaxEntryLine, MaxCheckpointLine))
		if err != nil {
			rf.Close()
			return 0, &FileError{File: path, Err: err}
		}
		keep = size - int64(len(line))
	}
	rf.Close()
	if keep == size {
		return 0, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return size - keep, truncateSync(f, keep)
}

func truncateSync(f journalFile, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// Commit appends the lines of entries firstSeq.. and makes them durable (fsync). It either
// succeeds in full or leaves the journal as it was: on any error the lines are cut off again,
// so entries that were not acknowledged never stay in the file. When even that fails, the
// journal is broken (ErrJournalBroken) until it is reopened.
func (j *Journal) Commit(lines []byte, firstSeq uint64, now time.Time) error {
	if j.broken != nil {
		return j.broken
	}
	if err := j.rotateIfDue(firstSeq, int64(len(lines)), now); err != nil {
		return err
	}
	mark := j.segSize
	n, err := j.seg.Write(lines)
	if err == nil && n < len(lines) {
		err = io.ErrShortWrite
	}
	if err == nil {
		if err = j.seg.Sync(); err != nil {
			err = fmt.Errorf("journal sync: %w", err)
		}
	} else {
		err = fmt.Errorf("journal write: %w", err)
	}
	if err == nil {
		j.segSize += int64(n)
		return nil
	}
	if rerr := truncateSync(j.seg, mark); rerr != nil {
		j.broken = fmt.Errorf("%w: %v; undoing it: %v", ErrJournalBroken, err, rerr)
		return j.broken
	}
	return err
}

func (j *Journal) rotateIfDue(firstSeq uint64, add int64, now time.Time) error {
	if j.seg != nil && j.segSize > 0 {
		full := j.opts.MaxSegmentBytes > 0 && j.segSize+add > j.opts.MaxSegmentBytes
		old := j.opts.MaxSegmentAge > 0 && now.Sub(j.segOpened) >= j.opts.MaxSegmentAge
		if !full && !old {
			return nil
		}
		if err := j.seg.Sync(); err != nil {
			return fmt.Errorf("journal sync: %w", err)
		}
		if err := j.seg.Close(); err != nil {
			return err
		}
		j.seg = nil
	}
	if j.seg != nil {
		return nil
	}
	f, err := j.opts.openFile(filepath.Join(j.dir, segmentName(firstSeq)), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("journal segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	j.seg, j.segSize, j.segOpened = f, 0, now
	return nil
}

// AppendCheckpoint writes a checkpoint line and makes it durable, or leaves the file as it was.
func (j *Journal) AppendCheckpoint(line []byte) error {
	if j.broken != nil {
		return j.broken
	}
	n, err := j.cp.Write(line)
	if err == nil && n < len(line) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = j.cp.Sync()
	}
	if err == nil {
		j.cpSize += int64(n)
		return nil
	}
	if rerr := truncateSync(j.cp, j.cpSize); rerr != nil {
		j.broken = fmt.Errorf("%w: checkpoint write: %v; undoing it: %v", ErrJournalBroken, err, rerr)
		return j.broken
	}
	return fmt.Errorf("checkpoint write: %w", err)
}

// Close closes the journal's files.
func (j *Journal) Close() error {
	var errs []error
	if j.seg != nil {
		errs = append(errs, j.seg.Close())
		j.seg = nil
	}
	if j.cp != nil {
		errs = append(errs, j.cp.Close())
		j.cp = nil
	}
	return errors.Join(errs...)
}
