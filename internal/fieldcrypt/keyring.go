package fieldcrypt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// KeyState is the state of a keyring key.
type KeyState string

const (
	// KeyActive: the key wraps new data keys of its tenant (one active key per tenant).
	KeyActive KeyState = "active"
	// KeyRetired: replaced by a newer key; it still unwraps the data keys it wrapped.
	KeyRetired KeyState = "retired"
	// KeyShredded: the key material is destroyed; what it wrapped is unrecoverable.
	KeyShredded KeyState = "shredded"
)

// KeyInfo describes a keyring key, never its material.
type KeyInfo struct {
	// ID names the key in every value it protects ("k-3f9a1c", "acme-7b2e90").
	ID string
	// Tenant is the tenant the key is for; "" for the default key.
	Tenant string
	// State is active, retired or shredded.
	State KeyState
	// Created is when the key was made; Retired and Shredded when it changed state (zero if
	// it has not).
	Created, Retired, Shredded time.Time
}

// Keyring is a loaded keyring file: named AES-256 master keys that wrap data keys the way KMS
// does (AES-256-GCM with the encryption context as associated data). It is a Provider and a
// KeySelector, safe for concurrent use; it does not see later changes of its file (a
// LocalProvider does).
type Keyring struct {
	keys []keyringKey
}

type keyringKey struct {
	KeyInfo
	master cipher.AEAD // nil once shredded
}

var _ interface {
	Provider
	KeySelector
} = (*Keyring)(nil)

// keyringFile is the JSON form of a keyring file.
type keyringFile struct {
	Format  string           `json:"format"`
	Version int              `json:"version"`
	Keys    []keyringFileKey `json:"keys"`
}

type keyringFileKey struct {
	ID       string     `json:"id"`
	Tenant   string     `json:"tenant,omitempty"`
	State    KeyState   `json:"state"`
	Created  time.Time  `json:"created"`
	Retired  *time.Time `json:"retired,omitempty"`
	Shredded *time.Time `json:"shredded,omitempty"`
	// Material is the 32-byte AES-256 key, base64; absent once shredded.
	Material []byte `json:"material,omitempty"`
}

const (
	keyringFormat  = "warden-keyring"
	keyringVersion = 1
)

// Load reads a keyring file.
func Load(path string) (*Keyring, error) {
	f, err := readKeyringFile(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, k := range f.Keys {
			clear(k.Material) // the ciphers hold what they need
		}
	}()
	return newKeyring(path, f)
}

func readKeyringFile(path string) (*keyringFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer clear(b)
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring %s: not a keyring file: %w", path, err)
	}
	if f.Format != keyringFormat || f.Version != keyringVersion {
		return nil, fmt.Errorf("keyring %s: format %q version %d, want %q version %d", path, f.Format, f.Version, keyringFormat, keyringVersion)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return &f, nil
}

// validate reports every problem of the file at once.
func (f *keyringFile) validate() error {
	var errs []error
	ids := map[string]bool{}
	active := map[string]string{}
	for i, k := range f.Keys {
		at := fmt.Sprintf("keys[%d] (%s)", i, k.ID)
		if err := ValidKeyID(k.ID); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		if ids[k.ID] {
			errs = append(errs, fmt.Errorf("%s: id used twice", at))
		}
		ids[k.ID] = true
		if k.Created.IsZero() {
			errs = append(errs, fmt.Errorf("%s: no creation time", at))
		}
		switch k.State {
		case KeyActive, KeyRetired:
			if len(k.Material) != dataKeySize {
				errs = append(errs, fmt.Errorf("%s: %s key with %d bytes of material, want %d", at, k.State, len(k.Material), dataKeySize))
			}
		case KeyShredded:
			if len(k.Material) != 0 {
				errs = append(errs, fmt.Errorf("%s: shredded key still holds material", at))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: unknown state %q (want active, retired or shredded)", at, k.State))
		}
		if k.State == KeyActive {
			if other, dup := active[k.Tenant]; dup {
				errs = append(errs, fmt.Errorf("%s: tenant %q has two active keys (%s and %s)", at, k.Tenant, other, k.ID))
			}
			active[k.Tenant] = k.ID
		}
	}
	return errors.Join(errs...)
}

func newKeyring(path string, f *keyringFile) (*Keyring, error) {
	kr := &Keyring{keys: make([]keyringKey, len(f.Keys))}
	for i, fk := range f.Keys {
		k := keyringKey{KeyInfo: KeyInfo{ID: fk.ID, Tenant: fk.Tenant, State: fk.State, Created: fk.Created}}
		if fk.Retired != nil {
			k.Retired = *fk.Retired
		}
		if fk.Shredded != nil {
			k.Shredded = *fk.Shredded
		}
		if fk.State != KeyShredded {
			block, err := aes.NewCipher(fk.Material)
			if err != nil {
				return nil, fmt.Errorf("keyring %s: key %s: %w", path, fk.ID, err)
			}
			if k.master, err = cipher.NewGCMWithRandomNonce(block); err != nil {
				return nil, fmt.Errorf("keyring %s: key %s: %w", path, fk.ID, err)
			}
		}
		kr.keys[i] = k
	}
	return kr, nil
}

// Keys describes every key, in the order of the file (oldest first).
func (kr *Keyring) Keys() []KeyInfo {
	out := make([]KeyInfo, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = k.KeyInfo
	}
	return out
}

// Key describes the key id.
func (kr *Keyring) Key(id string) (KeyInfo, bool) {
	k := kr.key(id)
	if k == nil {
		return KeyInfo{}, false
	}
	return k.KeyInfo, true
}

func (kr *Keyring) key(id string) *keyringKey {
	for i := range kr.keys {
		if kr.keys[i].ID == id {
			return &kr.keys[i]
		}
	}
	return nil
}

// KeyFor is the active key of tenant, or the default key when the tenant has no key of its
// own. A tenant whose every key is shredded gets ErrShredded, never the default key: its new
// data waits for a new key of its own (Rotate), so that it never lands under a key that a
// later erasure of the tenant would not destroy.
func (kr *Keyring) KeyFor(tenant string) (string, error) {
	if tenant != "" {
		has := false
		for _, k := range kr.keys {
			if k.Tenant != tenant {
				continue
			}
			if k.State == KeyActive {
				return k.ID, nil
			}
			has = true
		}
		if has {
			return "", fmt.Errorf("keyring: tenant %q: %w: every key of the tenant is shredded or retired; a new key (keys rotate --tenant) resumes encryption", tenant, ErrShredded)
		}
	}
	for _, k := range kr.keys {
		if k.Tenant == "" && k.State == KeyActive {
			return k.ID, nil
		}
	}
	return "", fmt.Errorf("keyring: %w: no active default key", ErrUnknownKey)
}

// GenerateDataKey makes a random data key and wraps it with the active key keyID: AES-256-GCM,
// random nonce, the encryption context as associated data (see wrapAAD).
func (kr *Keyring) GenerateDataKey(_ context.Context, keyID string, ec Context) ([]byte, []byte, error) {
	k, err := kr.usable(keyID)
	if err != nil {
		return nil, nil, err
	}
	if k.State != KeyActive {
		return nil, nil, fmt.Errorf("keyring: key %s: %w: it is %s and only decrypts; new data goes under the tenant's active key", keyID, ErrKeyDisabled, k.State)
	}
	dk := make([]byte, dataKeySize)
	_, _ = rand.Read(dk) // never fails (crypto/rand)
	return dk, k.master.Seal(nil, nil, dk, wrapAAD(keyID, ec)), nil
}

// Decrypt unwraps a data key wrapped by GenerateDataKey under keyID and ec.
func (kr *Keyring) Decrypt(_ context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error) {
	k, err := kr.usable(keyID)
	if err != nil {
		return nil, err
	}
	if len(wrapped) != localWrappedSize {
		return nil, fmt.Errorf("keyring: key %s: %w: wrapped data key of %d bytes, want %d", keyID, ErrTampered, len(wrapped), localWrappedSize)
	}
	dk, err := k.master.Open(nil, nil, wrapped, wrapAAD(keyID, ec))
	if err != nil {
		return nil, fmt.Errorf("keyring: key %s: %w: the data key does not unwrap under this key and encryption context", keyID, ErrTampered)
	}
	return dk, nil
}

func (kr *Keyring) usable(keyID string) (*keyringKey, error) {
	k := kr.key(keyID)
	switch {
	case k == nil:
		return nil, fmt.Errorf("keyring: key %s: %w", keyID, ErrUnknownKey)
	case k.State == KeyShredded:
		return nil, fmt.Errorf("keyring: key %s (tenant %q): %w on %s", keyID, k.Tenant, ErrShredded, k.Shredded.UTC().Format(time.RFC3339))
	}
	return k, nil
}

// localWrappedSize is the size of a data key wrapped by a keyring key: nonce, key, tag.
const localWrappedSize = nonceSize + dataKeySize + tagSize

// wrapAAD is the associated data of a wrapped data key: "warden-keyring:v1:", the key id, ":",
// and the canonical encoding of the whole encryption context (pairs count, then the pairs
// sorted by key as in a payload, FieldKey among them).
func wrapAAD(keyID string, ec Context) []byte {
	b := make([]byte, 0, 20+len(keyID)+1+len(ec.enc))
	b = append(b, "warden-keyring:v1:"...)
	b = append(b, keyID...)
	b = append(b, ':')
	return append(b, ec.canonical()...)
}

// GenerateKeyring writes a new keyring file at path holding one active default key, mode
// 0600, atomically, in a directory made for it (mode 0700) if there is none. It refuses to
// replace an existing file.
func GenerateKeyring(path string) (KeyInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return KeyInfo{}, err
	}
	f := &keyringFile{Format: keyringFormat, Version: keyringVersion}
	k := f.addKey("", time.Now())
	defer clear(f.Keys[0].Material)
	if err := writeKeyringFile(path, f, true); err != nil {
		return KeyInfo{}, err
	}
	return k, nil
}

// Rotate gives tenant ("" for the default key) a new active key for new data; its previous
// active key becomes retired and keeps decrypting. A tenant without keys gets its first one.
// A running LocalProvider picks the new key up within a second, for its next data key.
func Rotate(path, tenant string) (KeyInfo, error) {
	var made KeyInfo
	err := updateKeyring(path, func(f *keyringFile, now time.Time) error {
		for i := range f.Keys {
			if k := &f.Keys[i]; k.Tenant == tenant && k.State == KeyActive {
				k.State = KeyRetired
				k.Retired = &now
			}
		}
		made = f.addKey(tenant, now)
		return nil
	})
	return made, err
}

// Shred destroys the material of every key of tenant, keeping their ids as shredded so that
// decryption says "shredded" rather than "unknown key". Every value under those keys becomes
// unrecoverable wherever it is stored; copies of the keyring file (backups, snapshots) keep the
// material and must go too. It returns the keys shredded by this call (none when they already
// were); the default key cannot be shredded this way.
func Shred(path, tenant string) ([]KeyInfo, error) {
	if tenant == "" {
		return nil, errors.New("keyring: shred needs a tenant (the default key protects every tenant without a key of its own)")
	}
	var shredded []KeyInfo
	err := updateKeyring(path, func(f *keyringFile, now time.Time) error {
		found := false
		for i := range f.Keys {
			k := &f.Keys[i]
			if k.Tenant != tenant {
				continue
			}
			found = true
			if k.State == KeyShredded {
				continue
			}
			clear(k.Material)
			k.Material = nil
			k.State = KeyShredded
			k.Shredded = &now
			shredded = append(shredded, k.info())
		}
		if !found {
			return fmt.Errorf("%w: the keyring has no key for tenant %q", ErrUnknownKey, tenant)
		}
		return nil
	})
	return shredded, err
}

// addKey appends a new active key of tenant, with an id unique in the file.
func (f *keyringFile) addKey(tenant string, now time.Time) KeyInfo {
	prefix := idPrefix(tenant)
	var id string
	for id == "" || slices.ContainsFunc(f.Keys, func(k keyringFileKey) bool { return k.ID == id }) {
		var r [3]byte
		_, _ = rand.Read(r[:])
		id = prefix + "-" + hex.EncodeToString(r[:])
	}
	material := make([]byte, dataKeySize)
	_, _ = rand.Read(material)
	f.Keys = append(f.Keys, keyringFileKey{ID: id, Tenant: tenant, State: KeyActive, Created: now.UTC(), Material: material})
	return f.Keys[len(f.Keys)-1].info()
}

func (k keyringFileKey) info() KeyInfo {
	i := KeyInfo{ID: k.ID, Tenant: k.Tenant, State: k.State, Created: k.Created}
	if k.Retired != nil {
		i.Retired = *k.Retired
	}
	if k.Shredded != nil {
		i.Shredded = *k.Shredded
	}
	return i
}

// idPrefix is the readable start of a key id: "k" for the default key, else the tenant with
// every byte a key id may not hold replaced by '_', at most 24 bytes, starting with a letter
// or digit. The random part that follows makes the id unique.
func idPrefix(tenant string) string {
	if tenant == "" {
		return "k"
	}
	b := make([]byte, 0, 25)
	for i := 0; i < len(tenant) && len(b) < 24; i++ {
		if c := tenant[i]; isAlnum(c) || c == '-' || c == '_' || c == '.' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	if !isAlnum(b[0]) {
		b = append([]byte{'t'}, b...)
	}
	return string(b)
}
