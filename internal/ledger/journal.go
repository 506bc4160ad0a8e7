package ledger

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	segmentPrefix   = "entries-"
	segmentSuffix   = ".jsonl"
	checkpointsFile = "checkpoints.jsonl"
)

// Segment is one file of a stream's journal.
type Segment struct {
	Path     string
	FirstSeq uint64
}

func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, firstSeq, segmentSuffix)
}

// Segments lists a stream directory's segment files in sequence order.
func Segments(dir string) ([]Segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []Segment
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, Segment{Path: filepath.Join(dir, name), FirstSeq: n})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].FirstSeq < segs[j].FirstSeq })
	return segs, nil
}

// Streams lists the stream directories under a journal root.
func Streams(root string) ([]string, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if de.IsDir() && ValidStreamID(de.Name()) {
			out = append(out, de.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// JournalOptions bound the segment files.
type JournalOptions struct {
	MaxSegmentBytes int64
	MaxSegmentAge   time.Duration
	// RecentIDs is how many record ids of the newest entries Open returns (for deduplication).
	RecentIDs int
}

// Head is where a stream's chain stands when its journal is opened.
type Head struct {
	Seq  uint64
	Hash string
	// Checkpoint is the newest checkpoint (zero when there is none).
	Checkpoint Checkpoint
	// RecentIDs are the record ids of the newest entries, oldest first.
	RecentIDs []string
	// RepairedBytes counts bytes of torn (never acknowledged) writes cut off the tails.
	RepairedBytes int64
}

// Journal is the append side of a stream's file journal. It is used by one writer.
type Journal struct {
	dir       string
	opts      JournalOptions
	seg       *os.File
	segSize   int64
	segOpened time.Time
	cp        *os.File
	cpSize    int64
}

// OpenJournal opens (creating it when missing) the journal of stream under root, repairs torn
// tails left by a crash, and returns where the chain stands.
func OpenJournal(root, stream string, opts JournalOptions) (*Journal, Head, error) {
	if !ValidStreamID(stream) {
		return nil, Head{}, fmt.Errorf("invalid stream id %q", stream)
	}
	dir := filepath.Join(root, stream)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, Head{}, err
	}
	j := &Journal{dir: dir, opts: opts}
	var head Head
	head.Hash = ZeroHash

	segs, err := Segments(dir)
	if err != nil {
		return nil, Head{}, err
	}
	// The newest segment holds the head; an empty newest segment (crash right after a
	// rotation) leaves the head in the one before it.
	for i := len(segs) - 1; i >= 0; i-- {
		cut, err := repairTail(segs[i].Path)
		if err != nil {
			return nil, Head{}, err
		}
		head.RepairedBytes += cut
		last, ids, err := lastEntries(segs[i].Path, opts.RecentIDs)
		if err != nil {
			return nil, Head{}, err
		}
		if last == nil {
			continue
		}
		head.Seq, head.Hash, head.RecentIDs = last.Seq, last.Hash, ids
		break
	}
	if len(segs) > 0 {
		lastSeg := segs[len(segs)-1]
		if j.seg, err = os.OpenFile(lastSeg.Path, os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
			return nil, Head{}, err
		}
		st, err := j.seg.Stat()
		if err != nil {
			return nil, Head{}, err
		}
		j.segSize, j.segOpened = st.Size(), st.ModTime()
	}

	cpPath := filepath.Join(dir, checkpointsFile)
	cut, err := repairTail(cpPath)
	if err != nil {
		return nil, Head{}, err
	}
	head.RepairedBytes += cut
	if cps, err := ReadCheckpoints(dir); err == nil && len(cps) > 0 {
		head.Checkpoint = cps[len(cps)-1]
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, Head{}, err
	}
	if j.cp, err = os.OpenFile(cpPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err != nil {
		return nil, Head{}, err
	}
	if st, err := j.cp.Stat(); err == nil {
		j.cpSize = st.Size()
	}
	return j, head, nil
}

// Dir is the stream's directory.
func (j *Journal) Dir() string { return j.dir }

// repairTail cuts a partial last line (a write that never completed, so was never
// acknowledged) off path and returns how many bytes it cut.
func repairTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	// Find the last newline, reading backwards in blocks.
	const block = 64 << 10
	buf := make([]byte, block)
	end := size
	for end > 0 {
		start := max(end-block, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep == size {
				return 0, nil
			}
			return size - keep, truncateSync(f, keep)
		}
		end = start
	}
	return size, truncateSync(f, 0)
}

func truncateSync(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// lastEntries returns the last entry of a segment and the record ids of up to n newest entries.
func lastEntries(path string, n int) (*Entry, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var last *Entry
	var ids []string
	r := bufio.NewReaderSize(f, 1<<20)
	lineNo := 0
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			var more []byte
			more, err = r.ReadBytes('\n')
			line = append(append([]byte(nil), line...), more...)
		}
		if len(line) > 0 {
			lineNo++
			e, perr := ParseEntry(line)
			if perr != nil {
				return nil, nil, fmt.Errorf("%s line %d: not a ledger entry (%w); the journal is damaged or was edited: run `wardenctl audit verify`", path, lineNo, perr)
			}
			last = &e
			if n > 0 {
				ids = append(ids, e.RecordID)
				if len(ids) > 2*n {
					ids = append(ids[:0], ids[len(ids)-n:]...)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	return last, ids, nil
}

// Append writes the lines of entries firstSeq.. in one write and makes them durable (fsync).
// On error nothing of the batch remains in the file.
func (j *Journal) Append(lines []byte, firstSeq uint64, now time.Time) error {
	mark := j.segSize
	if err := j.Write(lines, firstSeq, now); err != nil {
		return err
	}
	if err := j.Sync(); err != nil {
		if terr := j.TruncateTo(mark); terr != nil {
			return fmt.Errorf("%w, and it could not be undone: %v", err, terr)
		}
		return err
	}
	return nil
}

// Write appends the lines of entries firstSeq.. without waiting for the disk; Sync makes them
// durable. A segment that is full is made durable and closed first. On error nothing of the
// lines remains in the file.
func (j *Journal) Write(lines []byte, firstSeq uint64, now time.Time) error {
	if err := j.rotateIfDue(firstSeq, int64(len(lines)), now); err != nil {
		return err
	}
	n, err := j.seg.Write(lines)
	if err != nil {
		if n > 0 {
			if terr := j.seg.Truncate(j.segSize); terr != nil {
				return fmt.Errorf("journal write failed (%w) and could not be undone: %v", err, terr)
			}
		}
		return fmt.Errorf("journal write: %w", err)
	}
	j.segSize += int64(n)
	return nil
}

// Sync makes everything written so far durable.
func (j *Journal) Sync() error {
	if j.seg == nil {
		return nil
	}
	if err := j.seg.Sync(); err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	return nil
}

// Mark is the size of the current segment, to TruncateTo after a failed Sync.
func (j *Journal) Mark() int64 { return j.segSize }

// TruncateTo cuts the current segment back to a Mark taken in it.
func (j *Journal) TruncateTo(mark int64) error {
	if j.seg == nil || mark > j.segSize {
		return nil
	}
	if err := truncateSync(j.seg, mark); err != nil {
		return err
	}
	j.segSize = mark
	return nil
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
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(firstSeq)), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
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

// AppendCheckpoint writes a checkpoint line and makes it durable.
func (j *Journal) AppendCheckpoint(line []byte) error {
	n, err := j.cp.Write(line)
	if err == nil {
		err = j.cp.Sync()
	}
	if err != nil {
		if n > 0 {
			_ = j.cp.Truncate(j.cpSize)
		}
		return fmt.Errorf("checkpoint write: %w", err)
	}
	j.cpSize += int64(n)
	return nil
}

// Close closes the journal's files.
func (j *Journal) Close() error {
	var errs []error
	if j.seg != nil {
		errs = append(errs, j.seg.Close())
	}
	if j.cp != nil {
		errs = append(errs, j.cp.Close())
	}
	return errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadCheckpoints reads a stream directory's checkpoints in file order.
func ReadCheckpoints(dir string) ([]Checkpoint, error) {
	f, err := os.Open(filepath.Join(dir, checkpointsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		c, err := ParseCheckpoint(sc.Bytes())
		if err != nil {
			return out, &LineError{File: filepath.Join(dir, checkpointsFile), Line: line, Err: err}
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// LineError names the file and line of a record that could not be read.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }
