package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxHeldOutput bounds the decrypted output held in memory for stdout until the decrypt is
// recorded in the ledger. Larger outputs go to a file (--out), which is held as a temporary
// file instead.
var maxHeldOutput = 1 << 30

// decryptOutput is where decrypted lines go. Nothing written is visible at its destination
// before publish (apart from streamed stdout, which has no ledger to wait for).
type decryptOutput interface {
	io.Writer
	// finish makes everything written durable, still unpublished.
	finish() error
	// publish makes the output visible at its destination.
	publish() error
	// discard drops what was not published.
	discard()
}

// fileOutput writes to a temporary file (0600) beside the destination, which becomes the
// destination on publish; an existing file is never replaced (it may be the ciphertext).
type fileOutput struct {
	path string
	tmp  *os.File
	w    *bufio.Writer
}

func newFileOutput(path string) (*fileOutput, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("--out %s: %w: refusing to replace it", path, fs.ErrExist)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	return &fileOutput{path: path, tmp: tmp, w: bufio.NewWriterSize(tmp, 1<<20)}, nil
}

func (o *fileOutput) Write(p []byte) (int, error) { return o.w.Write(p) }

func (o *fileOutput) finish() error {
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	if err := o.tmp.Sync(); err != nil {
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	if err := o.tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	return nil
}

// publish links the temporary file to the destination, which fails if a file appeared there
// meanwhile; where hard links are not supported it renames it, after looking once more.
func (o *fileOutput) publish() error {
	err := os.Link(o.tmp.Name(), o.path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("--out %s: %w: it appeared while decrypting; refusing to replace it", o.path, fs.ErrExist)
	}
	if err != nil {
		if _, serr := os.Lstat(o.path); serr == nil {
			return fmt.Errorf("--out %s: %w: refusing to replace it", o.path, fs.ErrExist)
		}
		if err := os.Rename(o.tmp.Name(), o.path); err != nil {
			return fmt.Errorf("--out %s: %w", o.path, err)
		}
	}
	_ = os.Remove(o.tmp.Name())
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (o *fileOutput) discard() {
	_ = o.tmp.Close()
	_ = os.Remove(o.tmp.Name())
}

// heldOutput keeps the output in memory and writes it to stdout on publish.
type heldOutput struct {
	buf    bytes.Buffer
	stdout io.Writer
}

var errHeldTooLarge = errors.New("the decrypted output is too large to hold in memory until it is recorded")

func (o *heldOutput) Write(p []byte) (int, error) {
	if o.buf.Len()+len(p) > maxHeldOutput {
		return 0, fmt.Errorf("%w (over %s): write it to a file with --out FILE", errHeldTooLarge, byteSize(maxHeldOutput))
	}
	return o.buf.Write(p)
}

func (o *heldOutput) finish() error { return nil }

func (o *heldOutput) publish() error {
	_, err := o.buf.WriteTo(o.stdout)
	return err
}

func (o *heldOutput) discard() { o.buf.Reset() }

// streamOutput writes to stdout as it goes: with no ledger there is nothing to wait for. The
// lines before an error are written, whole.
type streamOutput struct{ w *bufio.Writer }

func (o *streamOutput) Write(p []byte) (int, error) { return o.w.Write(p) }
func (o *streamOutput) finish() error               { return o.w.Flush() }
func (o *streamOutput) publish() error              { return nil }
func (o *streamOutput) discard()                    { _ = o.w.Flush() }
