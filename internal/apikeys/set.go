package apikeys

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"
)

// Result is the outcome of checking a key.
type Result uint8

// The results of Verify.
const (
	// OK: the key is known, matches its record, and is neither expired nor revoked.
	OK Result = iota
	// Malformed: the string is not of the form wk_<id>_<secret>.
	Malformed
	// Unknown: no record has the key's id.
	Unknown
	// Wrong: a record has the key's id, but the secret does not match its hash.
	Wrong
	// Expired: the key matches, and its expiry has passed.
	Expired
	// Revoked: the key matches, and it has been revoked.
	Revoked
)

var resultNames = [...]string{OK: "ok", Malformed: "malformed", Unknown: "unknown", Wrong: "wrong", Expired: "expired", Revoked: "revoked"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", r)
}

// Set is a loaded keys file, ready to check keys. It is not changed after it is built and may
// be used from many goroutines.
type Set struct {
	records []Record
	hashes  [][sha256.Size]byte
	byID    map[string]int
	// decoy is compared against when the id is unknown, so that an unknown id costs what a
	// known one does.
	decoy [sha256.Size]byte
}

// comparedHook, when set (by tests), is called at every hash comparison.
var comparedHook func()

// Load reads, validates and indexes the keys file at path.
func Load(path string) (*Set, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return NewSet(f)
}

// NewSet indexes a validated file.
func NewSet(f *File) (*Set, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &Set{
		records: append([]Record(nil), f.Keys...),
		hashes:  make([][sha256.Size]byte, len(f.Keys)),
		byID:    make(map[string]int, len(f.Keys)),
	}
	for i := range s.records {
		if _, err := hex.Decode(s.hashes[i][:], []byte(s.records[i].SHA256)); err != nil {
			return nil, fmt.Errorf("keys[%d].sha256: %w", i, err)
		}
		s.byID[s.records[i].ID] = i
	}
	s.decoy = sha256.Sum256([]byte("warden-apikeys decoy"))
	return s, nil
}

// Len returns the number of keys in the set, revoked and expired ones included.
func (s *Set) Len() int { return len(s.records) }

// Records returns a copy of the set's records.
func (s *Set) Records() []Record { return append([]Record(nil), s.records...) }

// Verify checks key at now. The record is returned for every result but Malformed and
// Unknown. A well-formed key is hashed and compared in constant time whether or not its id is
// known, and Verify does not allocate.
func (s *Set) Verify(key string, now time.Time) (Record, Result) {
	id, ok := splitKey(key)
	if !ok {
		return Record{}, Malformed
	}
	// Hash a copy on the stack: converting key to []byte would allocate.
	var buf [maxKeyLen]byte
	n := copy(buf[:], key)
	sum := sha256.Sum256(buf[:n])

	i, known := s.byID[id]
	want := &s.decoy
	if known {
		want = &s.hashes[i]
	}
	match := subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	if comparedHook != nil {
		comparedHook()
	}
	if !known {
		return Record{}, Unknown
	}
	rec := s.records[i]
	switch {
	case !match:
		return rec, Wrong
	case !rec.Revoked.IsZero() && !now.Before(rec.Revoked):
		return rec, Revoked
	case !rec.Expires.IsZero() && !now.Before(rec.Expires):
		return rec, Expired
	}
	return rec, OK
}
