package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
)

// minHashKeyBytes is the shortest HMAC-SHA256 key accepted: a key shorter than the hash
// output weakens it.
const minHashKeyBytes = 32

// hashVersion versions the hash token: the HMAC input layout below. A change to either
// makes a new version, so old and new tokens are never confused.
const hashVersion = "v1"

// hashKey is the key of the hash action.
type hashKey struct {
	key []byte
	id  string
	// ephemeral: no key configured, a random one made for this process.
	ephemeral bool
	unkeyed   bool
}

var (
	processKeyOnce sync.Once
	processKey     []byte
)

// randomProcessKey is shared by every pii_redaction instance of the process, so that their
// hashes join with each other at least.
func randomProcessKey() []byte {
	processKeyOnce.Do(func() {
		processKey = make([]byte, minHashKeyBytes)
		_, _ = rand.Read(processKey) // crypto/rand.Read does not fail on supported platforms
	})
	return processKey
}

func loadHashKey(h HashConfig) (hashKey, error) {
	var k hashKey
	switch {
	case h.Unkeyed:
		return hashKey{id: "unkeyed", unkeyed: true}, nil
	case h.KeyFile != "":
		raw, err := os.ReadFile(h.KeyFile)
		if err != nil {
			return k, fmt.Errorf("hash.key_file: %w", err)
		}
		k.key = bytes.TrimRight(raw, "\r\n")
		if len(k.key) < minHashKeyBytes {
			return k, fmt.Errorf("hash.key_file: %s holds %d bytes, want at least %d (e.g. head -c 32 /dev/urandom | base64 > %s)", h.KeyFile, len(k.key), minHashKeyBytes, h.KeyFile)
		}
	case h.KeyEnv != "":
		v, ok := os.LookupEnv(h.KeyEnv)
		if !ok || v == "" {
			return k, fmt.Errorf("hash.key_env: environment variable %s is not set", h.KeyEnv)
		}
		if len(v) < minHashKeyBytes {
			return k, fmt.Errorf("hash.key_env: %s holds %d bytes, want at least %d", h.KeyEnv, len(v), minHashKeyBytes)
		}
		k.key = []byte(v)
	case h.Key != "":
		k.key = []byte(h.Key)
	default:
		k.key, k.ephemeral = randomProcessKey(), true
	}
	k.id = h.KeyID
	if k.id == "" {
		sum := sha256.Sum256(k.key)
		k.id = hex.EncodeToString(sum[:4])
	}
	return k, nil
}

func (k *hashKey) newMAC() hash.Hash {
	if k.unkeyed {
		return sha256.New()
	}
	return hmac.New(sha256.New, k.key)
}

// act is a resolved action for one kind of finding, with its tokens made once.
type act struct {
	kind      Action
	keepFirst int
	keepLast  int
	// slot is the counter index of the finding's type; actIdx that of the action.
	slot   int
	actIdx int
	// typeName is the finding's pii_type; norm how its values are normalised for hashing.
	typeName    string
	norm        normalisation
	redactToken string // [REDACTED:<type>]
	hashPrefix  string // [HASH:<type>:v1:<key id>:
	// phone: mask keeps the last digits of the number, not of its extension.
	phone bool
}

// The action indexes of the counters, in the order of actionNames.
var actionNames = [...]Action{ActionRedact, ActionHash, ActionMask, ActionKeep, ActionDrop}

func newAct(c ActionConfig, typeName string, slot int, norm normalisation) act {
	a := act{kind: c.Action, keepFirst: c.KeepFirst, keepLast: c.KeepLast, slot: slot, typeName: typeName, norm: norm,
		redactToken: "[REDACTED:" + typeName + "]", phone: typeName == detect.Phone.String()}
	for i, n := range actionNames {
		if n == c.Action {
			a.actIdx = i
		}
	}
	return a
}

// setKey names the hash key in the act's hash tokens.
func (a *act) setKey(key *hashKey) {
	a.hashPrefix = "[HASH:" + a.typeName + ":" + hashVersion + ":" + key.id + ":"
}

// normalisation makes equal values hash equal whatever their formatting.
type normalisation uint8

const (
	normNone normalisation = iota
	// normLower: e-mail addresses (compared without case in practice).
	normLower
	// normAlnumUpper: numbers and codes written with separators (cards, phones, SSNs, IBANs).
	normAlnumUpper
)

func appendNormalised(dst []byte, n normalisation, s string) []byte {
	switch n {
	case normLower:
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
	case normAlnumUpper:
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case 'a' <= c && c <= 'z':
				dst = append(dst, c-('a'-'A'))
			case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
				dst = append(dst, c)
			}
		}
	default:
		dst = append(dst, s...)
	}
	return dst
}

// hasher computes hash tokens. It is owned by one goroutine at a time (one per state).
type hasher struct {
	mac  hash.Hash
	tmp  []byte
	sum  [sha256.Size]byte
	hexb [32]byte
}

// appendHash appends the token for s: the first 128 bits of HMAC-SHA256 over the version,
// the type and the normalised value, domain-separated so that equal text of different types
// hashes differently.
func (h *hasher) appendHash(dst []byte, a *act, s string) []byte {
	h.tmp = append(h.tmp[:0], "warden.pii."+hashVersion+"\x00"...)
	h.tmp = append(h.tmp, a.typeName...)
	h.tmp = append(h.tmp, 0)
	h.tmp = appendNormalised(h.tmp, a.norm, s)
	h.mac.Reset()
	h.mac.Write(h.tmp)
	sum := h.mac.Sum(h.sum[:0])
	hex.Encode(h.hexb[:], sum[:16])
	dst = append(dst, a.hashPrefix...)
	dst = append(dst, h.hexb[:]...)
	return append(dst, ']')
}

// appendMask appends s with every letter and digit but the first keepFirst and the last
// keepLast replaced by '*'. Other characters (separators, '+', '@') stay, so the shape of the
// value remains. When fewer letters and digits than keepFirst+keepLast+1 are there, all of
// them are masked: a mask never shows the whole value.
func appendMask(dst []byte, s string, keepFirst, keepLast int) []byte {
	n := 0
	for _, r := range s {
		if isAlnum(r) {
			n++
		}
	}
	if keepFirst+keepLast >= n {
		keepFirst, keepLast = 0, 0
	}
	i := 0
	for _, r := range s {
		if !isAlnum(r) {
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if i < keepFirst || i >= n-keepLast {
			dst = utf8.AppendRune(dst, r)
		} else {
			dst = append(dst, '*')
		}
		i++
	}
	return dst
}

// appendMaskPhone masks a phone number as appendMask does, and its extension ("x42",
// " ext. 12", " #12") apart: the extension's digits are all masked and its marker stays, so
// that the kept digits are the number's last ones: "212.555.0187x42" becomes
// "***.***.0187x**".
func appendMaskPhone(dst []byte, s string, keepFirst, keepLast int) []byte {
	k := detect.PhoneExtensionStart(s)
	dst = appendMask(dst, s[:k], keepFirst, keepLast)
	for i := k; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			dst = append(dst, '*')
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

func isAlnum(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
