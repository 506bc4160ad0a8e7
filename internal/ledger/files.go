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
	"syscall"
)

const (
	segmentPrefix   = "entries-"
	segmentSuffix   = ".jsonl"
	checkpointsFile = "checkpoints.jsonl"
)

// ErrNotRegular is returned for a journal file that is not a regular file (a symbolic link,
// a FIFO, a device): the ledger writes only regular files, so anything else was put there.
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens path for reading only if it is a regular file, without following a
// symbolic link and without blocking on a FIFO.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s: %w (a symbolic link)", path, ErrNotRegular)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, st.Mode().Type())
	}
	return f, nil
}

// FileError names a journal file that is wrong as a whole.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// LineError names the file and line of a record that could not be read.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Segment is one file of a stream's journal.
type Segment struct {
	Path     string
	FirstSeq uint64
}

func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, firstSeq, segmentSuffix)
}

// Segments lists a stream directory's segment files in sequence order. A file named like a
// segment but not exactly as the ledger names them, or one that is not a regular file, is a
// *FileError: the ledger never writes one, so it cannot be skipped.
func Segments(dir string) ([]Segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []Segment
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		path := filepath.Join(dir, name)
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
		if err != nil || segmentName(n) != name {
			return nil, &FileError{File: path, Err: errors.New("not a segment name the ledger writes (entries-<20-digit first sequence number>.jsonl)")}
		}
		if !de.Type().IsRegular() {
			return nil, &FileError{File: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, de.Type())}
		}
		segs = append(segs, Segment{Path: path, FirstSeq: n})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].FirstSeq < segs[j].FirstSeq })
	return segs, nil
}

// Streams lists the stream directories under a journal root. A symbolic link named like a
// stream is a *FileError: a stream directory that points elsewhere is not this ledger's.
func Streams(root string) ([]string, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if !ValidStreamID(de.Name()) {
			continue
		}
		if de.Type()&os.ModeSymlink != 0 {
			return nil, &FileError{File: filepath.Join(root, de.Name()), Err: errors.New("a stream directory that is a symbolic link")}
		}
		if de.IsDir() {
			out = append(out, de.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// lineReader reads newline-terminated lines of at most max bytes (newline excluded).
type lineReader struct {
	r       *bufio.Reader
	max     int
	partial []byte
}

func newLineReader(r io.Reader, max, bufSize int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// errLineTooLong is returned for a line longer than the reader's bound.
var errLineTooLong = errors.New("line too long")

// next returns the next complete line, newline included; the slice is valid until the next
// call. At the end it returns io.EOF, with what is left of an unterminated line in partial.
func (lr *lineReader) next() ([]byte, error) {
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.partial)+len(chunk) > lr.max+1 {
			return nil, fmt.Errorf("%w: more than %d bytes", errLineTooLong, lr.max)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			lr.partial = append(lr.partial, chunk...)
			continue
		case err == nil:
			if len(lr.partial) == 0 {
				return chunk, nil
			}
			lr.partial = append(lr.partial, chunk...)
			line := lr.partial
			lr.partial = lr.partial[:0] // line stays valid until the next call
			return line, nil
		case errors.Is(err, io.EOF):
			lr.partial = append(lr.partial, chunk...)
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// pending is an unterminated last line.
func (lr *lineReader) pending() []byte { return lr.partial }

// ReadCheckpoints reads a stream directory's checkpoints in file order. A line that is not a
// checkpoint in its stored form is a *LineError.
func ReadCheckpoints(dir string) ([]Checkpoint, error) {
	cps, _, err := ReadCheckpointsFrom(dir, 0)
	return cps, err
}

// ReadCheckpointsFrom reads the checkpoints that start at byte offset from of the stream
// directory's checkpoints file, and returns the offset after the last complete line read, to
// continue from later. A partial last line (being written, or torn) is left for next time and
// reported as ErrTornLine after the complete ones.
func ReadCheckpointsFrom(dir string, from int64) ([]Checkpoint, int64, error) {
	path := filepath.Join(dir, checkpointsFile)
	f, err := openRegular(path)
	if err != nil {
		if errors.Is(err, ErrNotRegular) {
			return nil, from, &FileError{File: path, Err: err}
		}
		return nil, from, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, from, err
	}
	var out []Checkpoint
	offset := from
	lr := newLineReader(f, MaxCheckpointLine, 64<<10)
	for n := 1; ; n++ {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			if p := lr.pending(); len(p) > 0 {
				return out, offset, &LineError{File: path, Line: n, Err: ErrTornLine}
			}
			return out, offset, nil
		}
		if err != nil {
			return out, offset, &LineError{File: path, Line: n, Err: err}
		}
		c, err := ParseCheckpoint(line)
		if err != nil {
			return out, offset, &LineError{File: path, Line: n, Err: err}
		}
		offset += int64(len(line))
		out = append(out, c)
	}
}

// ErrTornLine is an unterminated last line: a write torn by a crash (never acknowledged), or
// one being written while it is read.
var ErrTornLine = errors.New("incomplete last line (a write torn by a crash)")

// readFirstEntry returns the first entry of a segment, or nil when it has none.
func readFirstEntry(path string) (*Entry, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lr := newLineReader(f, MaxEntryLine, 64<<10)
	line, err := lr.next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, &LineError{File: path, Line: 1, Err: err}
	}
	e, err := ParseEntry(line)
	if err != nil {
		return nil, &LineError{File: path, Line: 1, Err: err}
	}
	return &e, nil
}

// readLastLine returns the last complete line of a file by reading it backwards.
func readLastLine(f *os.File, size int64, max int) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	// The file ends with a newline (torn tails are repaired first); find the one before.
	const block = 64 << 10
	var tail []byte
	end := size - 1
	for end > 0 {
		start := max64(end-block, 0)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		tail = append(buf, tail...)
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return tail[i+1:], nil
		}
		if len(tail) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", errLineTooLong, max)
		}
		end = start
	}
	return tail, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
