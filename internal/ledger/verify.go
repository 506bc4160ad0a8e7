package ledger

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// FailureKind classifies what verification found.
type FailureKind string

const (
	// Tampered: content does not match its hash, a link or signature is broken, entries are
	// missing, reordered or forked. The ledger was changed after it was written.
	Tampered FailureKind = "tampered"
	// Unverifiable: the chain is intact but its authenticity cannot be established (no public
	// key for a signing key id, unsigned checkpoints where signatures are required).
	Unverifiable FailureKind = "unverifiable"
)

// Failure is the first problem found, named precisely.
type Failure struct {
	Kind   FailureKind
	Stream string
	// Seq is the entry concerned (0 when a checkpoint or the stream as a whole is).
	Seq   uint64
	Where string
	Msg   string
}

func (f *Failure) Error() string {
	where := ""
	if f.Where != "" {
		where = " (" + f.Where + ")"
	}
	if f.Seq > 0 {
		return fmt.Sprintf("%s: stream %s entry %d%s: %s", f.Kind, f.Stream, f.Seq, where, f.Msg)
	}
	return fmt.Sprintf("%s: stream %s%s: %s", f.Kind, f.Stream, where, f.Msg)
}

// StreamReport summarises one verified stream.
type StreamReport struct {
	Stream            string
	Entries           uint64
	LastSeq           uint64
	LastHash          string
	Duplicates        int
	Checkpoints       int
	SignedCheckpoints int
	// Unsealed counts entries after the last checkpoint (not yet covered by a signature).
	Unsealed uint64
	KeyIDs   []string
	Warnings []string
}

// Verifier checks streams. Keys are the trusted public keys by key id; with none, signatures
// are not checked and the result is at best Unverifiable unless SkipSignatures is set.
type Verifier struct {
	Keys              map[string]ed25519.PublicKey
	RequireSignatures bool
	SkipSignatures    bool
}

// StreamCheck verifies one stream fed in order: checkpoints first, then entries.
type StreamCheck struct {
	v      *Verifier
	stream string
	rep    StreamReport
	cps    []Checkpoint
	cpPos  []string
	nextCp int
	expect uint64
	prev   string
	recent map[uint64]string
	order  []uint64
	keyIDs map[string]bool
}

// NewStreamCheck starts the verification of a stream.
func (v *Verifier) NewStreamCheck(stream string) *StreamCheck {
	return &StreamCheck{v: v, stream: stream, rep: StreamReport{Stream: stream}, expect: 1, prev: ZeroHash,
		recent: map[uint64]string{}, keyIDs: map[string]bool{}}
}

func (s *StreamCheck) fail(kind FailureKind, seq uint64, where, format string, args ...any) *Failure {
	return &Failure{Kind: kind, Stream: s.stream, Seq: seq, Where: where, Msg: fmt.Sprintf(format, args...)}
}

// Checkpoints checks the checkpoint chain and signatures; where[i] names checkpoint i.
func (s *StreamCheck) Checkpoints(cps []Checkpoint, where []string) *Failure {
	prevHash, prevSeq := "", uint64(0)
	for i := range cps {
		c := &cps[i]
		w := where[i]
		switch {
		case c.StreamID != s.stream:
			return s.fail(Tampered, 0, w, "checkpoint belongs to stream %q", c.StreamID)
		case c.ComputeHash() != c.Hash:
			return s.fail(Tampered, 0, w, "checkpoint for entries %d..%d: stored hash does not match its content", c.FirstSeq, c.Seq)
		case c.PrevCheckpoint != prevHash:
			return s.fail(Tampered, 0, w, "checkpoint for entries %d..%d does not link to the previous checkpoint (checkpoint removed, reordered or forged)", c.FirstSeq, c.Seq)
		case c.FirstSeq != prevSeq+1 || c.Seq < c.FirstSeq:
			return s.fail(Tampered, 0, w, "checkpoint covers entries %d..%d, expected to start at %d", c.FirstSeq, c.Seq, prevSeq+1)
		}
		if f := s.checkSignature(c, w); f != nil {
			return f
		}
		prevHash, prevSeq = c.Hash, c.Seq
	}
	s.cps, s.cpPos = cps, where
	s.rep.Checkpoints = len(cps)
	return nil
}

func (s *StreamCheck) checkSignature(c *Checkpoint, where string) *Failure {
	if c.Signature == "" {
		if s.v.RequireSignatures {
			return s.fail(Unverifiable, 0, where, "checkpoint for entries %d..%d is not signed", c.FirstSeq, c.Seq)
		}
		return nil
	}
	s.rep.SignedCheckpoints++
	s.keyIDs[c.KeyID] = true
	if s.v.SkipSignatures {
		return nil
	}
	pub, ok := s.v.Keys[c.KeyID]
	if !ok {
		return s.fail(Unverifiable, 0, where, "checkpoint for entries %d..%d is signed by key %s, for which no public key was given", c.FirstSeq, c.Seq, c.KeyID)
	}
	if !c.VerifySignature(pub) {
		return s.fail(Tampered, 0, where, "checkpoint for entries %d..%d: signature does not verify with key %s", c.FirstSeq, c.Seq, c.KeyID)
	}
	return nil
}

const recentWindow = 4096

// Entry checks the next entry in stored order.
func (s *StreamCheck) Entry(e *Entry, where string) *Failure {
	if e.StreamID != s.stream {
		return s.fail(Tampered, e.Seq, where, "entry belongs to stream %q", e.StreamID)
	}
	h, err := e.ComputeHash()
	if err != nil {
		return s.fail(Tampered, e.Seq, where, "entry cannot be encoded: %v", err)
	}
	if h != e.Hash {
		return s.fail(Tampered, e.Seq, where, "stored hash does not match the entry's content (the entry was edited)")
	}
	switch {
	case e.Seq < s.expect:
		seen, ok := s.recent[e.Seq]
		switch {
		case !ok:
			return s.fail(Tampered, e.Seq, where, "entry out of order: it comes after entry %d", s.expect-1)
		case seen == e.Hash:
			s.rep.Duplicates++ // a benign re-delivery of the same entry
			return nil
		default:
			return s.fail(Tampered, e.Seq, where, "fork: two different entries have sequence number %d", e.Seq)
		}
	case e.Seq > s.expect:
		if e.Seq == s.expect+1 {
			return s.fail(Tampered, s.expect, where, "entry %d is missing (deleted, or moved elsewhere): the next entry found is %d", s.expect, e.Seq)
		}
		return s.fail(Tampered, s.expect, where, "entries %d..%d are missing (deleted, or moved elsewhere): the next entry found is %d", s.expect, e.Seq-1, e.Seq)
	}
	if e.PrevHash != s.prev {
		return s.fail(Tampered, e.Seq, where, "broken link: the entry does not chain to entry %d", e.Seq-1)
	}
	if s.nextCp < len(s.cps) && s.cps[s.nextCp].Seq == e.Seq {
		if s.cps[s.nextCp].TipHash != e.Hash {
			return s.fail(Tampered, e.Seq, where, "entry does not match the signed checkpoint that covers it (%s)", s.cpPos[s.nextCp])
		}
		s.nextCp++
	}
	s.prev = e.Hash
	s.recent[e.Seq] = e.Hash
	s.order = append(s.order, e.Seq)
	if len(s.order) > recentWindow {
		delete(s.recent, s.order[0])
		s.order = s.order[1:]
	}
	s.expect++
	s.rep.Entries++
	s.rep.LastSeq, s.rep.LastHash = e.Seq, e.Hash
	return nil
}

// Finish checks the end of the stream and returns its report.
func (s *StreamCheck) Finish() (StreamReport, *Failure) {
	if s.nextCp < len(s.cps) {
		c := s.cps[s.nextCp]
		return s.rep, s.fail(Tampered, s.rep.LastSeq+1, s.cpPos[s.nextCp],
			"truncated: a checkpoint covers entries up to %d but the ledger ends at entry %d", c.Seq, s.rep.LastSeq)
	}
	if len(s.cps) > 0 {
		s.rep.Unsealed = s.rep.LastSeq - s.cps[len(s.cps)-1].Seq
	} else {
		s.rep.Unsealed = s.rep.LastSeq
	}
	if s.rep.Unsealed > 0 {
		s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("entries %d..%d are not covered by a checkpoint yet", s.rep.LastSeq-s.rep.Unsealed+1, s.rep.LastSeq))
	}
	for id := range s.keyIDs {
		s.rep.KeyIDs = append(s.rep.KeyIDs, id)
	}
	sort.Strings(s.rep.KeyIDs)
	if s.rep.SignedCheckpoints > 0 && len(s.v.Keys) == 0 && !s.v.SkipSignatures {
		return s.rep, s.fail(Unverifiable, 0, "", "the hash chain is intact, but no public key was given to check the checkpoint signatures (key ids %v)", s.rep.KeyIDs)
	}
	if s.rep.SignedCheckpoints == 0 && s.rep.Entries > 0 && !s.v.SkipSignatures {
		if s.v.RequireSignatures || len(s.v.Keys) > 0 {
			return s.rep, s.fail(Unverifiable, 0, "", "the hash chain is intact, but no checkpoint is signed")
		}
		s.rep.Warnings = append(s.rep.Warnings, "no checkpoint is signed: the chain proves order and integrity, not who wrote it")
	}
	return s.rep, nil
}

// VerifyDir verifies every stream of a journal root (or the single stream directory dir).
func (v *Verifier) VerifyDir(dir string) ([]StreamReport, *Failure, error) {
	var streamDirs []string
	if segs, err := Segments(dir); err == nil && len(segs) > 0 {
		streamDirs = []string{dir}
	} else {
		streams, err := Streams(dir)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range streams {
			streamDirs = append(streamDirs, filepath.Join(dir, s))
		}
	}
	if len(streamDirs) == 0 {
		return nil, nil, fmt.Errorf("%s holds no audit ledger streams", dir)
	}
	var reports []StreamReport
	for _, sd := range streamDirs {
		rep, f, err := v.verifyStreamDir(sd)
		reports = append(reports, rep)
		if f != nil || err != nil {
			return reports, f, err
		}
	}
	return reports, nil, nil
}

func (v *Verifier) verifyStreamDir(dir string) (StreamReport, *Failure, error) {
	stream := filepath.Base(dir)
	check := v.NewStreamCheck(stream)
	cps, err := ReadCheckpoints(dir)
	var lerr *LineError
	switch {
	case errors.As(err, &lerr):
		return check.rep, check.fail(Tampered, 0, fmt.Sprintf("%s line %d", lerr.File, lerr.Line), "not a checkpoint: %v", lerr.Err), nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return check.rep, nil, err
	}
	where := make([]string, len(cps))
	for i := range cps {
		where[i] = fmt.Sprintf("%s line %d", filepath.Join(dir, checkpointsFile), i+1)
	}
	if f := check.Checkpoints(cps, where); f != nil {
		return check.rep, f, nil
	}
	r, err := NewEntryReader(dir, 1)
	if err != nil {
		return check.rep, nil, err
	}
	defer r.Close()
	for {
		line, pos, err := r.Next()
		if errors.As(err, &lerr) {
			return check.rep, check.fail(Tampered, 0, fmt.Sprintf("%s line %d", lerr.File, lerr.Line), "%v", lerr.Err), nil
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return check.rep, nil, err
		}
		w := fmt.Sprintf("%s line %d", pos.File, pos.Line)
		e, perr := ParseEntry(line)
		if perr != nil {
			return check.rep, check.fail(Tampered, 0, w, "not a ledger entry: %v", perr), nil
		}
		if f := check.Entry(&e, w); f != nil {
			return check.rep, f, nil
		}
	}
	rep, f := check.Finish()
	if p := r.Pending(); len(p) > 0 && f == nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the last line is incomplete (%d bytes): a write torn by a crash, never acknowledged; the ledger removes it when it restarts", len(p)))
	}
	return rep, f, nil
}
