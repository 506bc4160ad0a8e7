package fieldcrypt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// FieldKey is the encryption-context key that holds the field name (an attribute key, or a
// body path such as "body.card.number"). It is never carried in a value: the decryptor is told
// the field by where it found the value, so a value moved to another field does not decrypt.
const FieldKey = "warden.field"

// Bounds of an encryption context, so that it fits the payload's length fields and stays
// small: it is carried in every value.
const (
	maxContextPairs = 16
	maxContextKey   = 255
	maxContextValue = 1024
	maxContextBytes = 2048 // the encoded pairs, all together
	maxFieldName    = 1024
)

// Context is the encryption context of a value besides its field: configured resource
// attributes such as tenant.id and service.name, never values. It is carried in every value
// (so a value decrypts on its own) and bound to its data key: KMS (or the keyring) unwraps the
// data key only under the same context, and a KMS key policy can grant decryption by it
// (kms:EncryptionContext:tenant.id). It is immutable; the zero Context is empty.
type Context struct {
	// enc is the canonical encoding: the pairs sorted by key, each as key length (1 byte),
	// key, value length (2 bytes, big-endian), value. It is written as is into payloads, and
	// two Contexts are equal when their encodings are.
	enc string
	n   int
}

// Pair is one key and value of a Context.
type Pair struct {
	Key, Value string
}

// NewContext makes a Context of attrs. Keys are 1 to 255 bytes and may not use the reserved
// prefixes "warden." (FieldKey), "aws:" or "aws-crypto-"; values are 1 to 1024 bytes (leave out
// an attribute the resource does not have rather than giving it empty); both valid UTF-8, as
// KMS requires; at most 16 pairs and 2048 bytes encoded.
func NewContext(attrs map[string]string) (Context, error) {
	if len(attrs) > maxContextPairs {
		return Context{}, fmt.Errorf("encryption context: %d attributes, at most %d", len(attrs), maxContextPairs)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if err := checkContextPair(k, attrs[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Context{}, errors.Join(errs...)
	}
	c := encodeContext(attrs)
	if len(c.enc) > maxContextBytes {
		return Context{}, fmt.Errorf("encryption context: %d bytes encoded, at most %d", len(c.enc), maxContextBytes)
	}
	return c, nil
}

func checkContextPair(k, v string) error {
	switch {
	case k == "" || len(k) > maxContextKey:
		return fmt.Errorf("encryption context: key %q: want 1 to %d bytes", k, maxContextKey)
	case strings.HasPrefix(k, "warden.") || strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "aws-crypto-"):
		return fmt.Errorf("encryption context: key %q: the prefixes warden., aws: and aws-crypto- are reserved", k)
	case !utf8.ValidString(k):
		return fmt.Errorf("encryption context: key %q is not valid UTF-8", k)
	case v == "" || len(v) > maxContextValue:
		return fmt.Errorf("encryption context: %s: value of %d bytes, want 1 to %d (leave out an absent attribute)", k, len(v), maxContextValue)
	case !utf8.ValidString(v):
		return fmt.Errorf("encryption context: %s: value is not valid UTF-8", k)
	}
	return nil
}

func encodeContext(attrs map[string]string) Context {
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		b = appendPair(b, k, attrs[k])
	}
	return Context{enc: string(b), n: len(attrs)}
}

func appendPair(b []byte, k, v string) []byte {
	b = append(b, byte(len(k)))
	b = append(b, k...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// Len is the number of pairs.
func (c Context) Len() int { return c.n }

// Pairs are the pairs sorted by key.
func (c Context) Pairs() []Pair {
	pairs := make([]Pair, 0, c.n)
	for rest := c.enc; rest != ""; {
		kl := int(rest[0])
		k := rest[1 : 1+kl]
		vl := int(rest[1+kl])<<8 | int(rest[2+kl])
		pairs = append(pairs, Pair{k, rest[3+kl : 3+kl+vl]})
		rest = rest[3+kl+vl:]
	}
	return pairs
}

// Get is the value of key, if the Context has it.
func (c Context) Get(key string) (string, bool) {
	for _, p := range c.Pairs() {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Map is the Context as a map, e.g. for the EncryptionContext of a KMS request.
func (c Context) Map() map[string]string {
	m := make(map[string]string, c.n)
	for _, p := range c.Pairs() {
		m[p.Key] = p.Value
	}
	return m
}

func (c Context) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range c.Pairs() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", p.Key, p.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// withField is the whole encryption context of a value of field: c and FieldKey = field. It is
// what a key provider binds the data key to.
func (c Context) withField(field string) Context {
	m := c.Map()
	m[FieldKey] = field
	return encodeContext(m)
}

// canonical is the canonical encoding of the Context: the number of pairs (1 byte) and the
// pairs, as in a payload.
func (c Context) canonical() []byte {
	return append([]byte{byte(c.n)}, c.enc...)
}

func checkField(field string) error {
	switch {
	case field == "" || len(field) > maxFieldName:
		return fmt.Errorf("field name of %d bytes: want 1 to %d", len(field), maxFieldName)
	case !utf8.ValidString(field):
		return fmt.Errorf("field name %q is not valid UTF-8", field)
	}
	return nil
}

// parseContext checks the N pairs at the start of b (after the count byte): canonical (sorted
// by key, keys unique), within the bounds of NewContext. It returns their length; nothing
// refers to b afterwards.
func parseContext(b []byte, n int) (int, error) {
	if n > maxContextPairs {
		return 0, fmt.Errorf("%d context pairs, at most %d", n, maxContextPairs)
	}
	off := 0
	var prev []byte
	for i := range n {
		if off >= len(b) {
			return 0, errors.New("context truncated")
		}
		kl := int(b[off])
		if off+1+kl+2 > len(b) {
			return 0, errors.New("context truncated")
		}
		k := b[off+1 : off+1+kl]
		vl := int(binary.BigEndian.Uint16(b[off+1+kl:]))
		if off+3+kl+vl > len(b) {
			return 0, errors.New("context truncated")
		}
		if err := checkContextPair(unsafeString(k), unsafeString(b[off+3+kl:off+3+kl+vl])); err != nil {
			return 0, err // formatted: it does not refer to b
		}
		if i > 0 && string(k) <= string(prev) {
			return 0, errors.New("context pairs not in canonical order")
		}
		prev = k
		off += 3 + kl + vl
	}
	if off > maxContextBytes {
		return 0, fmt.Errorf("context of %d bytes, at most %d", off, maxContextBytes)
	}
	return off, nil
}

// unsafeString is b as a string without a copy, for reading while b does not change.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
