package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// CheckpointVersion is the version of the checkpoint encoding. Version 2 names the signature
// algorithm and derives key ids from the key's PKIX encoding.
const CheckpointVersion = 2

// MaxCheckpointLine bounds a checkpoint line; a longer one is not a checkpoint.
const MaxCheckpointLine = 16 << 10

// Reasons a checkpoint is written.
const (
	ReasonEntries  = "entries"
	ReasonInterval = "interval"
	ReasonShutdown = "shutdown"
	// ReasonRotation is the checkpoint that the previous key signs over the entry that
	// announces the next key.
	ReasonRotation = "rotation"
)

// Checkpoint states that a stream's entries FirstSeq..Seq end in TipHash, and chains to the
// previous checkpoint. With a signer it carries a signature over its canonical encoding;
// without one it still chains, but cannot prove who wrote it.
type Checkpoint struct {
	Version  int    `json:"v"`
	StreamID string `json:"stream"`
	// FirstSeq is the first entry this checkpoint covers (the previous checkpoint's Seq + 1).
	FirstSeq uint64 `json:"first_seq"`
	Seq      uint64 `json:"seq"`
	TipHash  string `json:"tip"`
	// PrevCheckpoint is the hash of the previous checkpoint of the stream ("" for the first).
	PrevCheckpoint string `json:"prev_checkpoint,omitempty"`
	Time           string `json:"ts"`
	// Reason is why it was written: entries, interval, shutdown or rotation.
	Reason string `json:"reason"`
	// KeyID and Alg name the signing key and algorithm (both empty when unsigned).
	KeyID     string `json:"kid,omitempty"`
	Alg       string `json:"alg,omitempty"`
	Signature string `json:"sig,omitempty"`
	Hash      string `json:"hash"`
}

// AppendCanonical appends the bytes that the checkpoint's hash and signature cover.
func (c *Checkpoint) AppendCanonical(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(c.Version), 10)
	b = append(b, `,"stream":`...)
	b = appendString(b, c.StreamID)
	b = append(b, `,"first_seq":`...)
	b = strconv.AppendUint(b, c.FirstSeq, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, c.Seq, 10)
	b = append(b, `,"tip":`...)
	b = appendString(b, c.TipHash)
	if c.PrevCheckpoint != "" {
		b = append(b, `,"prev_checkpoint":`...)
		b = appendString(b, c.PrevCheckpoint)
	}
	b = append(b, `,"ts":`...)
	b = appendString(b, c.Time)
	b = append(b, `,"reason":`...)
	b = appendString(b, c.Reason)
	if c.KeyID != "" {
		b = append(b, `,"kid":`...)
		b = appendString(b, c.KeyID)
	}
	if c.Alg != "" {
		b = append(b, `,"alg":`...)
		b = appendString(b, c.Alg)
	}
	return append(b, '}')
}

// SignedMessage is what the signature covers: a domain separator and the canonical encoding.
func (c *Checkpoint) SignedMessage() []byte {
	return c.AppendCanonical([]byte(checkpointDomain))
}

// ComputeHash returns the checkpoint's hash (over its canonical encoding, signature excluded).
func (c *Checkpoint) ComputeHash() string { return hashHex(checkpointDomain, c.AppendCanonical(nil)) }

// AppendLine appends the checkpoint's one stored form: the canonical encoding with the
// signature and the hash added, and a newline.
func (c *Checkpoint) AppendLine(b []byte) []byte {
	b = c.AppendCanonical(b)
	b = b[:len(b)-1]
	if c.Signature != "" {
		b = append(b, `,"sig":`...)
		b = appendString(b, c.Signature)
	}
	b = append(b, `,"hash":`...)
	b = appendString(b, c.Hash)
	return append(b, '}', '\n')
}

// Seal signs the checkpoint (when s is not nil), sets its hash and returns its line.
func (c *Checkpoint) Seal(ctx context.Context, s Signer) ([]byte, error) {
	c.Version = CheckpointVersion
	c.KeyID, c.Alg, c.Signature = "", "", ""
	if s != nil {
		pub := s.Public()
		c.KeyID, c.Alg = pub.ID(), pub.Alg()
		sig, err := s.Sign(ctx, c.SignedMessage())
		if err != nil {
			return nil, fmt.Errorf("signing the checkpoint with key %s: %w", pub.ID(), err)
		}
		c.Signature = base64.StdEncoding.EncodeToString(sig)
	}
	c.Hash = c.ComputeHash()
	return c.AppendLine(nil), nil
}

// VerifySignature checks the checkpoint's signature with pub: the key id and algorithm it
// names must be pub's.
func (c *Checkpoint) VerifySignature(pub *PublicKey) bool {
	if c.KeyID != pub.ID() || c.Alg != pub.Alg() {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || base64.StdEncoding.EncodeToString(sig) != c.Signature {
		return false
	}
	return pub.Verify(c.SignedMessage(), sig)
}

// ParseCheckpoint decodes one stored checkpoint line (with or without its newline). The line
// must be exactly the checkpoint's stored form: unknown, duplicate or case-variant keys,
// other spellings and added whitespace are refused, so that nothing can ride along unhashed.
func ParseCheckpoint(line []byte) (Checkpoint, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(line) > MaxCheckpointLine {
		return Checkpoint{}, fmt.Errorf("checkpoint line of %d bytes is longer than %d", len(line), MaxCheckpointLine)
	}
	var c Checkpoint
	if err := json.Unmarshal(line, &c); err != nil {
		return Checkpoint{}, err
	}
	if c.Version != CheckpointVersion {
		return Checkpoint{}, fmt.Errorf("unknown checkpoint version %d (want %d)", c.Version, CheckpointVersion)
	}
	if (c.Signature == "") != (c.KeyID == "") || (c.KeyID == "") != (c.Alg == "") {
		return Checkpoint{}, errors.New("a checkpoint names its key, algorithm and signature together or none of them")
	}
	stored := c.AppendLine(nil)
	if !bytes.Equal(stored[:len(stored)-1], line) {
		return Checkpoint{}, errors.New("the line is not in the checkpoint's stored form (extra, duplicate or re-spelled fields, or added whitespace)")
	}
	return c, nil
}
