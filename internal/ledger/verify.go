package ledger

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// FailureKind classifies what verification found.
type FailureKind string

const (
	// Tampered: content does not match its hash, a link or signature is broken, entries or
	// checkpoints are missing, reordered, duplicated, forked, signed by a key that trust does
	// not reach, or the ledger does not extend what was verified or witnessed before.
	Tampered FailureKind = "tampered"
	// Unverifiable: the chain is intact but its authenticity cannot be established from what
	// was given (no trust root for a signed ledger, no signature where signatures are required,
	// entries not covered by a checkpoint where that is required).
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
	Checkpoints       int
	SignedCheckpoints int
	// LastCheckpoint is the newest checkpoint (zero when there is none).
	LastCheckpoint Checkpoint
	// CheckpointHashes maps each checkpoint's Seq to its hash, to compare with other copies.
	CheckpointHashes map[uint64]string
	// Unsealed counts entries after the last checkpoint (not yet covered by a signature).
	Unsealed uint64
	KeyIDs   []string
	// Key is the key that signs the stream's checkpoints at its end, when trust reached it.
	Key      *PublicKey
	Warnings []string
}

// Verifier checks streams.
//
// Trust flows from the roots: the keys given (Roots) and the fingerprints pinned (Pins, whose
// keys the ledger announces itself). A stream's first signed checkpoint must be signed by a
// root; every later checkpoint must be signed, by the same key, until an entry announces a
// rotation and a checkpoint signed by the current key covers it, after which the announced key
// signs. A checkpoint signed by any other key is tampering.
type Verifier struct {
	Roots []*PublicKey
	Pins  []string
	// RequireSignatures makes a stream without a signed checkpoint unverifiable.
	RequireSignatures bool
	// RequireSealed makes entries after the last checkpoint unverifiable.
	RequireSealed bool
	// SkipSignatures checks the hash chain and the signature rules, not the signatures.
	SkipSignatures bool
	// Anchors are checkpoints verified before (`--state`): each stream must extend its anchor.
	Anchors map[string]Anchor
	// Streams must all be present.
	Streams []string
}

// Anchor is a checkpoint of a stream that was verified before; a ledger that does not hold it
// (at its sequence number, with its hash) was rolled back or replaced.
type Anchor struct {
	Seq            uint64 `json:"seq"`
	TipHash        string `json:"tip"`
	CheckpointHash string `json:"checkpoint_hash"`
	KeyID          string `json:"kid,omitempty"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	VerifiedAt     string `json:"verified_at,omitempty"`
}

func (v *Verifier) hasRoots(stream string) bool {
	return len(v.Roots) > 0 || len(v.Pins) > 0 || v.Anchors[stream].Fingerprint != ""
}

// root returns the trusted key with id kid, looking among the given keys and, for pinned
// fingerprints, among the keys the stream announced.
func (v *Verifier) root(stream, kid string, announced map[string]*PublicKey) *PublicKey {
	for _, k := range v.Roots {
		if k.ID() == kid {
			return k
		}
	}
	if k := announced[kid]; k != nil {
		if slices.Contains(v.Pins, k.Fingerprint()) || v.Anchors[stream].Fingerprint == k.Fingerprint() {
			return k
		}
	}
	return nil
}

// StreamCheck verifies one stream: checkpoints first, then entries in stored order.
type StreamCheck struct {
	v      *Verifier
	stream string
	rep    StreamReport
	cps    []Checkpoint
	cpPos  []string
	nextCp int
	expect uint64
	prev   string

	announced map[string]*PublicKey
	current   *PublicKey // signs the stream's checkpoints now
	pending   *PublicKey // announced by a rotation entry; signs after the next signed checkpoint
	signed    bool       // a signed checkpoint was seen
	untrusted string     // a signed checkpoint whose key no root reaches (no roots given)
	stopped   bool       // the last entry was a stop entry
	probes    map[uint64]string
}

// NewStreamCheck starts the verification of a stream.
func (v *Verifier) NewStreamCheck(stream string) *StreamCheck {
	return &StreamCheck{v: v, stream: stream, expect: 1, prev: ZeroHash,
		rep:       StreamReport{Stream: stream, CheckpointHashes: map[uint64]string{}},
		announced: map[string]*PublicKey{}}
}

// Probe asks for the hash of entry seq, which Finish's report then holds in Probed.
func (s *StreamCheck) Probe(seq uint64) {
	if s.probes == nil {
		s.probes = map[uint64]string{}
	}
	s.probes[seq] = ""
}

// Probed returns the hash of a probed entry ("" when the stream has no such entry).
func (s *StreamCheck) Probed(seq uint64) string { return s.probes[seq] }

func (s *StreamCheck) fail(kind FailureKind, seq uint64, where, format string, args ...any) *Failure {
	return &Failure{Kind: kind, Stream: s.stream, Seq: seq, Where: where, Msg: fmt.Sprintf(format, args...)}
}

// Checkpoints checks the checkpoint chain and the anchor; where[i] names checkpoint i.
// Signatures are checked as the entries they cover are read.
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
		prevHash, prevSeq = c.Hash, c.Seq
		s.rep.CheckpointHashes[c.Seq] = c.Hash
	}
	if a, ok := s.v.Anchors[s.stream]; ok {
		if h, found := s.rep.CheckpointHashes[a.Seq]; !found || h != a.CheckpointHash {
			last := uint64(0)
			if len(cps) > 0 {
				last = cps[len(cps)-1].Seq
			}
			return s.fail(Tampered, 0, "", "the ledger does not extend the checkpoint verified before (entries 1..%d, checkpoint %s, verified %s); its newest checkpoint covers entries up to %d: it was rolled back, truncated or replaced",
				a.Seq, short(a.CheckpointHash), a.VerifiedAt, last)
		}
	}
	s.cps, s.cpPos = cps, where
	s.rep.Checkpoints = len(cps)
	if len(cps) > 0 {
		s.rep.LastCheckpoint = cps[len(cps)-1]
	}
	return nil
}

func short(hash string) string {
	if len(hash) > 16 {
		return hash[:16]
	}
	return hash
}

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
		return s.fail(Tampered, e.Seq, where, "entry %d appears again after entry %d (a stream has one writer: a duplicated or reordered entry)", e.Seq, s.expect-1)
	case e.Seq == s.expect+1:
		return s.fail(Tampered, s.expect, where, "entry %d is missing (deleted, or moved elsewhere): the next entry found is %d", s.expect, e.Seq)
	case e.Seq > s.expect:
		return s.fail(Tampered, s.expect, where, "entries %d..%d are missing (deleted, or moved elsewhere): the next entry found is %d", s.expect, e.Seq-1, e.Seq)
	}
	if e.PrevHash != s.prev {
		return s.fail(Tampered, e.Seq, where, "broken link: the entry does not chain to entry %d", e.Seq-1)
	}
	if s.stopped && e.Event.Action != ActionStart {
		return s.fail(Tampered, e.Seq, where, "entry after the stream's stop entry %d that is not a start entry (a stopped stream only resumes with a start)", e.Seq-1)
	}
	s.stopped = e.Event.Action == ActionStop
	key, err := AnnouncedKey(e)
	if err != nil {
		return s.fail(Tampered, e.Seq, where, "%v", err)
	}
	if key != nil {
		s.announced[key.ID()] = key
		if e.Event.Action == ActionKeyRotation {
			s.pending = key
		}
	}
	if _, ok := s.probes[e.Seq]; ok {
		s.probes[e.Seq] = e.Hash
	}
	s.prev = e.Hash
	s.expect++
	s.rep.Entries++
	s.rep.LastSeq, s.rep.LastHash = e.Seq, e.Hash

	if s.nextCp < len(s.cps) && s.cps[s.nextCp].Seq == e.Seq {
		c := &s.cps[s.nextCp]
		if c.TipHash != e.Hash {
			return s.fail(Tampered, e.Seq, where, "entry does not match the checkpoint that covers it (%s)", s.cpPos[s.nextCp])
		}
		if f := s.checkSignature(c, s.cpPos[s.nextCp]); f != nil {
			return f
		}
		s.nextCp++
	}
	return nil
}

// checkSignature applies the signature rules to checkpoint c, whose entries have been read.
func (s *StreamCheck) checkSignature(c *Checkpoint, where string) *Failure {
	pending := s.pending
	s.pending = nil
	if c.Signature == "" {
		if s.signed {
			return s.fail(Tampered, 0, where, "checkpoint for entries %d..%d is not signed, but an earlier checkpoint of the stream is (a signature downgrade)", c.FirstSeq, c.Seq)
		}
		if s.v.RequireSignatures {
			return s.fail(Unverifiable, 0, where, "checkpoint for entries %d..%d is not signed", c.FirstSeq, c.Seq)
		}
		return nil
	}
	s.rep.SignedCheckpoints++
	if !slices.Contains(s.rep.KeyIDs, c.KeyID) {
		s.rep.KeyIDs = append(s.rep.KeyIDs, c.KeyID)
	}
	s.signed = true
	if s.current != nil && c.KeyID != s.current.ID() {
		return s.fail(Tampered, 0, where, "checkpoint for entries %d..%d is signed by key %s, but the stream's checkpoints are signed by key %s and no rotation to %s was recorded under it",
			c.FirstSeq, c.Seq, c.KeyID, s.current.ID(), c.KeyID)
	}
	key := s.current
	if key == nil {
		key = s.v.root(s.stream, c.KeyID, s.announced)
	}
	if key == nil {
		if s.v.hasRoots(s.stream) {
			return s.fail(Tampered, 0, where, "checkpoint for entries %d..%d is signed by key %s, which is not a trusted key (neither given with --public-key nor pinned with --key-id) and no trusted key handed over to it",
				c.FirstSeq, c.Seq, c.KeyID)
		}
		// No trust root at all: check that the stream is consistent with the key it announced,
		// and say at the end that it is not proven whose key that is.
		key = s.announced[c.KeyID]
		if s.untrusted == "" {
			s.untrusted = c.KeyID
		}
	}
	if key != nil && !s.v.SkipSignatures && !c.VerifySignature(key) {
		return s.fail(Tampered, 0, where, "checkpoint for entries %d..%d: signature does not verify with key %s", c.FirstSeq, c.Seq, c.KeyID)
	}
	s.current = key
	if pending != nil && key != nil {
		s.current = pending // the rotation is covered by the previous key's signature
	}
	s.rep.Key = s.current
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
		msg := fmt.Sprintf("entries %d..%d are not covered by a checkpoint yet: nothing proves who wrote them", s.rep.LastSeq-s.rep.Unsealed+1, s.rep.LastSeq)
		if s.v.RequireSealed {
			return s.rep, s.fail(Unverifiable, 0, "", "%s", msg)
		}
		s.rep.Warnings = append(s.rep.Warnings, msg)
	}
	sort.Strings(s.rep.KeyIDs)
	if s.untrusted != "" && !s.v.SkipSignatures {
		hint := ""
		if k := s.announced[s.untrusted]; k != nil {
			hint = fmt.Sprintf(" (the stream announces it as %s: pin it with --key-id %s once you know it is yours)", k.Fingerprint(), k.Fingerprint())
		}
		return s.rep, s.fail(Unverifiable, 0, "", "the hash chain is intact, but no trust root was given to check the checkpoint signatures: key %s%s", s.untrusted, hint)
	}
	if s.rep.SignedCheckpoints == 0 && s.rep.Entries > 0 && !s.v.SkipSignatures {
		if s.v.RequireSignatures || s.v.hasRoots(s.stream) {
			return s.rep, s.fail(Unverifiable, 0, "", "the hash chain is intact, but no checkpoint is signed")
		}
		s.rep.Warnings = append(s.rep.Warnings, "no checkpoint is signed: the chain proves order and integrity, not who wrote it")
	}
	return s.rep, nil
}

// Result is what a verification found: a report per stream, the first failure, or an error
// that kept it from reading the ledger.
type Result struct {
	Reports []StreamReport
	Failure *Failure
	Err     error
}

// Failed reports whether the ledger is not verified.
func (r *Result) Failed() bool { return r.Failure != nil || r.Err != nil }

// report returns the report of stream, or nil.
func (r *Result) report(stream string) *StreamReport {
	for i := range r.Reports {
		if r.Reports[i].Stream == stream {
			return &r.Reports[i]
		}
	}
	return nil
}

// checkRequired fails when a required or anchored stream is missing from the result.
func (v *Verifier) checkRequired(r *Result, source string) {
	if r.Failed() {
		return
	}
	want := append([]string(nil), v.Streams...)
	for s := range v.Anchors {
		want = append(want, s)
	}
	sort.Strings(want)
	for _, s := range slices.Compact(want) {
		if r.report(s) == nil {
			msg := "the stream is required (--stream) but is not in " + source
			if a, ok := v.Anchors[s]; ok {
				msg = fmt.Sprintf("the stream was verified before (entries 1..%d) but is not in %s: it was removed", a.Seq, source)
			}
			r.Failure = &Failure{Kind: Tampered, Stream: s, Msg: msg}
			return
		}
	}
}

// VerifyDir verifies every stream of a journal root (or the single stream directory dir).
func (v *Verifier) VerifyDir(dir string) Result {
	streamDirs, single, err := streamDirs(dir)
	var ferr *FileError
	if errors.As(err, &ferr) {
		return Result{Failure: &Failure{Kind: Tampered, Stream: filepath.Base(ferr.File), Where: ferr.File, Msg: ferr.Err.Error()}}
	}
	if err != nil {
		return Result{Err: err}
	}
	var r Result
	for _, sd := range streamDirs {
		rep, f, err := v.verifyStreamDir(sd, nil)
		r.Reports = append(r.Reports, rep)
		if f != nil || err != nil {
			r.Failure, r.Err = f, err
			return r
		}
	}
	if !single {
		v.checkRequired(&r, dir)
	}
	return r
}

// streamDirs returns the stream directories to verify: dir itself when it is one, else the
// streams under it.
func streamDirs(dir string) ([]string, bool, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, false, err
	}
	if !st.IsDir() {
		return nil, false, fmt.Errorf("%s is not a directory", dir)
	}
	segs, err := Segments(dir)
	if err != nil {
		return nil, false, err
	}
	if _, cerr := os.Lstat(filepath.Join(dir, checkpointsFile)); len(segs) > 0 || cerr == nil {
		return []string{dir}, true, nil
	}
	streams, err := Streams(dir)
	if err != nil {
		return nil, false, err
	}
	if len(streams) == 0 {
		return nil, false, fmt.Errorf("%s holds no audit ledger streams", dir)
	}
	out := make([]string, len(streams))
	for i, s := range streams {
		out[i] = filepath.Join(dir, s)
	}
	return out, false, nil
}

func (v *Verifier) verifyStreamDir(dir string, probe func(*StreamCheck)) (StreamReport, *Failure, error) {
	stream := filepath.Base(dir)
	check := v.NewStreamCheck(stream)
	if probe != nil {
		probe(check)
	}
	tampered := func(where string, err error) (StreamReport, *Failure, error) {
		return check.rep, check.fail(Tampered, 0, where, "%v", err), nil
	}
	cps, err := ReadCheckpoints(dir)
	var lerr *LineError
	var ferr *FileError
	switch {
	case errors.As(err, &lerr):
		return tampered(fmt.Sprintf("%s line %d", lerr.File, lerr.Line), fmt.Errorf("not a checkpoint: %w", lerr.Err))
	case errors.As(err, &ferr):
		return tampered(ferr.File, ferr.Err)
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
	if errors.As(err, &ferr) {
		return tampered(ferr.File, ferr.Err)
	}
	if err != nil {
		return check.rep, nil, err
	}
	defer r.Close()
	var segFirst uint64
	for {
		line, pos, err := r.Next()
		switch {
		case errors.As(err, &lerr):
			return tampered(fmt.Sprintf("%s line %d", lerr.File, lerr.Line), lerr.Err)
		case errors.As(err, &ferr):
			return tampered(ferr.File, ferr.Err)
		case errors.Is(err, io.EOF):
			rep, f := check.Finish()
			if p := r.Pending(); len(p) > 0 && f == nil {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("the last line is incomplete (%d bytes): a write torn by a crash, never acknowledged; the ledger removes it when it restarts", len(p)))
			}
			return rep, f, nil
		case err != nil:
			return check.rep, nil, err
		}
		w := fmt.Sprintf("%s line %d", pos.File, pos.Line)
		e, perr := ParseEntry(line)
		if perr != nil {
			return tampered(w, fmt.Errorf("not a ledger entry: %w", perr))
		}
		if pos.Line == 1 {
			segFirst = firstSeqOf(pos.File)
			if e.Seq != segFirst {
				return check.rep, check.fail(Tampered, e.Seq, w, "the segment is named for entry %d but starts with entry %d (a renamed or copied segment)", segFirst, e.Seq), nil
			}
		}
		if f := check.Entry(&e, w); f != nil {
			return check.rep, f, nil
		}
	}
}

// firstSeqOf returns the first sequence number a segment's name states.
func firstSeqOf(path string) uint64 {
	var n uint64
	_, _ = fmt.Sscanf(filepath.Base(path), segmentPrefix+"%d"+segmentSuffix, &n)
	return n
}
