package ledger

import (
	"errors"
	"io"
	"os"
)

// Position is where a line was read.
type Position struct {
	File string
	Line int
}

// EntryReader reads a stream's journal lines in order, across segments. It can follow a
// journal that is being written: Next returns io.EOF when no complete line is available yet,
// and later calls pick up what was appended since. It opens only regular files and bounds
// every line (MaxEntryLine), so a hostile journal can neither hang it nor exhaust memory.
type EntryReader struct {
	dir    string
	next   int // index of the next segment to open
	cur    Segment
	f      *os.File
	lr     *lineReader
	line   int
	skipTo uint64
}

// NewEntryReader reads the stream directory dir from the entry with sequence number fromSeq
// (1 for the whole stream).
func NewEntryReader(dir string, fromSeq uint64) (*EntryReader, error) {
	segs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	r := &EntryReader{dir: dir, skipTo: fromSeq}
	for i, s := range segs {
		if s.FirstSeq <= fromSeq {
			r.next = i
		}
	}
	return r, nil
}

// Next returns the next complete line and where it is. The returned slice is only valid until
// the next call. At the end it returns io.EOF; Pending then tells whether a partial line is
// left. A line that is too long, or a segment that cannot be read as one, is a *LineError or
// *FileError.
func (r *EntryReader) Next() ([]byte, Position, error) {
	for {
		if r.f == nil {
			ok, err := r.openNext()
			if err != nil || !ok {
				if err == nil {
					err = io.EOF
				}
				return nil, Position{}, err
			}
		}
		line, err := r.lr.next()
		if err == nil {
			r.line++
			pos := Position{File: r.cur.Path, Line: r.line}
			if r.skipTo > 1 {
				if seq, ok := PeekSeq(line); ok && seq < r.skipTo {
					continue
				}
				r.skipTo = 0
			}
			return line, pos, nil
		}
		if !errors.Is(err, io.EOF) {
			return nil, Position{}, &LineError{File: r.cur.Path, Line: r.line + 1, Err: err}
		}
		// The end of this segment for now: move on only if a newer segment exists, which
		// means the writer is done with this one.
		moved, merr := r.advanceIfNewer()
		if merr != nil {
			return nil, Position{}, merr
		}
		if !moved {
			return nil, Position{}, io.EOF
		}
	}
}

// Pending returns a partial line left at the end of the current segment (a torn write).
func (r *EntryReader) Pending() []byte {
	if r.lr == nil {
		return nil
	}
	return r.lr.pending()
}

// Close closes the current file.
func (r *EntryReader) Close() error {
	if r.f != nil {
		err := r.f.Close()
		r.f = nil
		return err
	}
	return nil
}

func (r *EntryReader) openNext() (bool, error) {
	segs, err := Segments(r.dir)
	if err != nil {
		return false, err
	}
	if r.next >= len(segs) {
		return false, nil
	}
	r.cur = segs[r.next]
	r.next++
	f, err := openRegular(r.cur.Path)
	if err != nil {
		if errors.Is(err, ErrNotRegular) {
			return false, &FileError{File: r.cur.Path, Err: err}
		}
		return false, err
	}
	r.f, r.lr, r.line = f, newLineReader(f, MaxEntryLine, 256<<10), 0
	return true, nil
}

func (r *EntryReader) advanceIfNewer() (bool, error) {
	segs, err := Segments(r.dir)
	if err != nil {
		return false, err
	}
	if r.next >= len(segs) {
		return false, nil
	}
	if len(r.lr.pending()) > 0 {
		// A closed segment must end with a complete line: report the torn one as a line.
		return false, &LineError{File: r.cur.Path, Line: r.line + 1, Err: errors.New("incomplete line at the end of a closed segment")}
	}
	_ = r.f.Close()
	r.f = nil
	return true, nil
}
