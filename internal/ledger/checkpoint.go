package ledger

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// Checkpoint states that a stream's entries FirstSeq..Seq end in TipHash, and chains to the
// previous checkpoint. With a signer it carries an Ed25519 signature over its canonical
// encoding; without one it still chains, but cannot prove who wrote it.
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
	// Reason is why it was written: "entries", "interval" or "shutdown".
	Reason    string `json:"reason"`
	KeyID     string `json:"kid,omitempty"`
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
	return append(b, '}')
}

func (c *Checkpoint) signedMessage() []byte {
	return c.AppendCanonical([]byte(checkpointDomain))
}

// ComputeHash returns the checkpoint's hash (over its canonical encoding, signature excluded).
func (c *Checkpoint) ComputeHash() string { return hashHex(checkpointDomain, c.AppendCanonical(nil)) }

// Seal signs the checkpoint (when s is not nil), sets its hash and returns its JSON line.
func (c *Checkpoint) Seal(s *Signer) []byte {
	c.Version = SchemaVersion
	if s != nil {
		c.KeyID = s.ID()
		c.Signature = base64.StdEncoding.EncodeToString(s.Sign(c.signedMessage()))
	}
	c.Hash = c.ComputeHash()
	line, _ := json.Marshal(c)
	return append(line, '\n')
}

// VerifySignature checks the signature with pub.
func (c *Checkpoint) VerifySignature(pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, c.signedMessage(), sig)
}

// ParseCheckpoint decodes one JSON line of a checkpoint file.
func ParseCheckpoint(line []byte) (Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(line, &c); err != nil {
		return Checkpoint{}, err
	}
	if c.Version != SchemaVersion {
		return Checkpoint{}, fmt.Errorf("unknown checkpoint version %d", c.Version)
	}
	return c, nil
}
