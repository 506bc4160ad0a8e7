package apikeys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

const (
	keyPrefix  = "wk_"
	secretLen  = 43 // unpadded base64url of 32 bytes
	maxIDLen   = 64
	maxKeyLen  = len(keyPrefix) + maxIDLen + 1 + secretLen
	idRandLen  = 4
	tenantMax  = 128
	secretSize = 32
)

// Generate returns a new key for tenant and its record, created at now. A zero expires means
// the key does not expire. The key string is shown once to whoever asked for it; only the
// record is stored.
func Generate(tenant string, scopes []Scope, expires, now time.Time) (key string, rec Record, err error) {
	var idBytes [idRandLen]byte
	var secret [secretSize]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return "", Record{}, fmt.Errorf("generate api key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Record{}, fmt.Errorf("generate api key: %w", err)
	}
	id := "k-" + hex.EncodeToString(idBytes[:])
	key = keyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(key))
	rec = Record{
		ID:      id,
		Tenant:  tenant,
		Scopes:  append([]Scope(nil), scopes...),
		Created: now.UTC().Truncate(time.Second),
		SHA256:  hex.EncodeToString(sum[:]),
	}
	if !expires.IsZero() {
		rec.Expires = expires.UTC()
	}
	if errs := rec.validate(); len(errs) > 0 {
		return "", Record{}, fmt.Errorf("generate api key: %w", errors.Join(errs...))
	}
	return key, rec, nil
}

// splitKey returns the id of a well-formed key string; ok is false when key is not of the
// form wk_<id>_<43 base64url characters>.
func splitKey(key string) (id string, ok bool) {
	if len(key) > maxKeyLen || len(key) < len(keyPrefix)+1+1+secretLen || key[:len(keyPrefix)] != keyPrefix {
		return "", false
	}
	sep := len(key) - secretLen - 1
	if key[sep] != '_' {
		return "", false
	}
	for i := sep + 1; i < len(key); i++ {
		if !isBase64URL(key[i]) {
			return "", false
		}
	}
	// The last character carries 2 bits of padding, which are zero in a canonical encoding.
	if base64URLValue(key[len(key)-1])&0x3 != 0 {
		return "", false
	}
	id = key[len(keyPrefix):sep]
	if !validID(id) {
		return "", false
	}
	return id, true
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validTenant(t string) bool {
	if len(t) == 0 || len(t) > tenantMax {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validHash(h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func base64URLValue(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}
