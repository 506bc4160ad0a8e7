package ledger

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Actions of the entries that the ledger writes about itself.
const (
	// ActionStart begins every run of a stream; it announces the run's signing key.
	ActionStart = "audit_ledger.start"
	// ActionStop ends a run; the next entry of the stream, if any, is a start.
	ActionStop = "audit_ledger.stop"
	// ActionKeyRotation announces the stream's next signing key. It is covered by a
	// checkpoint signed by the previous key; later checkpoints are signed by the new one.
	ActionKeyRotation = "audit_ledger.key_rotation"
)

// announcementKey is the details member that carries an announced key.
const announcementKey = "signing_key"

// KeyAnnouncement is the details document of an entry that announces a signing key: the
// key's id, algorithm and PKIX DER public key (base64), so that a verifier given only the
// key's fingerprint finds the key in the ledger itself.
func KeyAnnouncement(pub *PublicKey) map[string]any {
	return map[string]any{announcementKey: map[string]any{
		"kid":        pub.ID(),
		"alg":        pub.Alg(),
		"public_key": base64.StdEncoding.EncodeToString(pub.DER()),
	}}
}

// AnnouncedKey returns the key an entry announces, nil when it announces none. An
// announcement that does not hold together (the id or algorithm is not the key's) is an error.
func AnnouncedKey(e *Entry) (*PublicKey, error) {
	if e.Event.Action != ActionStart && e.Event.Action != ActionKeyRotation || len(e.Event.Details) == 0 {
		return nil, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(e.Event.Details, &doc); err != nil {
		return nil, fmt.Errorf("details: %w", err)
	}
	raw, ok := doc[announcementKey]
	if !ok {
		return nil, nil
	}
	var a struct {
		KeyID     string `json:"kid"`
		Alg       string `json:"alg"`
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("announced key: %w", err)
	}
	der, err := base64.StdEncoding.DecodeString(a.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("announced key: %w", err)
	}
	pub, err := ParsePublicKeyDER(der)
	if err != nil {
		return nil, fmt.Errorf("announced key: %w", err)
	}
	if pub.ID() != a.KeyID || pub.Alg() != a.Alg {
		return nil, errors.New("announced key: its id or algorithm is not the key's")
	}
	return pub, nil
}
