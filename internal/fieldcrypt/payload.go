package fieldcrypt

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Sizes of payload version 1 (see the package documentation).
const (
	payloadVersion  = 0x01
	nonceSize       = 12
	tagSize         = 16
	dataKeySize     = 32 // AES-256
	maxWrappedKey   = 4096
	fixedHeaderSize = 1 + 1 + 2 + 1 // version, type, wrapped key length, context pairs
)

// b64 is base64url without padding, canonical: a payload decodes from one text only.
var b64 = base64.RawURLEncoding.Strict()

// appendHeader appends the payload header up to H (type byte 0, set per value): version,
// type, wrapped key length and bytes, context pairs.
func appendHeader(dst, wrapped []byte, ec Context) []byte {
	dst = append(dst, payloadVersion, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(wrapped)))
	dst = append(dst, wrapped...)
	dst = append(dst, byte(ec.n))
	return append(dst, ec.enc...)
}

// appendAADPrefix appends what the associated data of a value holds before the payload
// header: the value's text prefix up to its payload ("wenc:v1:<key id>:") and the field name
// (length, 2 bytes big-endian, and bytes).
func appendAADPrefix(dst []byte, keyID, field string) []byte {
	dst = append(dst, Prefix...)
	dst = append(dst, keyID...)
	dst = append(dst, ':')
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(field)))
	return append(dst, field...)
}

// Envelope is what a value says of itself without being decrypted: which key, which type,
// and the encryption context it carries. A decrypt tool reports by it (the tenant of a
// shredded key) and never needs to open a value to do so.
type Envelope struct {
	// KeyID is the key id of the value's text.
	KeyID string
	// Type is the pdata type of the encrypted value.
	Type pcommon.ValueType
	// Context is the encryption context carried in the value (without the field name).
	Context Context
	// WrappedKey is the wrapped data key.
	WrappedKey []byte

	header []byte // payload[:H]
	pairs  []byte // the context pairs in header
	sealed []byte // nonce, ciphertext and tag
}

// Parse reads the envelope of s without decrypting it. Errors: ErrNotCiphertext when s is
// not of the form "wenc:v1:<key id>:<payload>", ErrUnsupported for a payload version this
// build does not know, ErrTampered when the payload does not parse.
func Parse(s string) (Envelope, error) {
	keyID, payload, err := splitValue(s)
	if err != nil {
		return Envelope{}, err
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: payload is not canonical base64url: %v", ErrTampered, err)
	}
	env, err := parsePayload(keyID, raw)
	if err != nil {
		return Envelope{}, err
	}
	env.Context = env.context()
	return env, nil
}

// context is the carried context as a Context of its own (a copy).
func (env *Envelope) context() Context {
	return Context{enc: string(env.pairs), n: int(env.header[len(env.header)-len(env.pairs)-1])}
}

// splitValue splits s into its key id and base64url payload.
func splitValue(s string) (keyID, payload string, err error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return "", "", fmt.Errorf("%w: no %q prefix", ErrNotCiphertext, Prefix)
	}
	keyID, payload, ok = strings.Cut(rest, ":")
	if !ok || ValidKeyID(keyID) != nil {
		return "", "", fmt.Errorf("%w: no valid key id after %q", ErrNotCiphertext, Prefix)
	}
	if strings.ContainsAny(payload, "\r\n") { // which the base64 decoder would skip
		return "", "", fmt.Errorf("%w: line break in the payload", ErrTampered)
	}
	return keyID, payload, nil
}

// parsePayload reads the payload raw of a value under keyID. It leaves Context unset (see
// context): the Envelope refers to raw and holds no copy.
func parsePayload(keyID string, raw []byte) (Envelope, error) {
	tampered := func(what string) (Envelope, error) {
		return Envelope{}, fmt.Errorf("%w: payload of %d bytes: %s", ErrTampered, len(raw), what)
	}
	if len(raw) < 1 {
		return tampered("empty")
	}
	if raw[0] != payloadVersion {
		return Envelope{}, fmt.Errorf("%w: payload version %d (this build reads version %d)", ErrUnsupported, raw[0], payloadVersion)
	}
	if len(raw) < fixedHeaderSize {
		return tampered("truncated header")
	}
	tag := raw[1]
	if !validTag(tag) {
		return tampered(fmt.Sprintf("unknown type tag %#x", tag))
	}
	w := int(binary.BigEndian.Uint16(raw[2:]))
	if w == 0 || w > maxWrappedKey {
		return tampered(fmt.Sprintf("wrapped key length %d", w))
	}
	if len(raw) < 4+w+1 {
		return tampered("truncated wrapped key")
	}
	wrapped := raw[4 : 4+w]
	n, err := parseContext(raw[5+w:], int(raw[4+w]))
	if err != nil {
		return tampered(err.Error())
	}
	h := 5 + w + n
	if len(raw)-h < nonceSize+tagSize {
		return tampered("truncated ciphertext")
	}
	return Envelope{
		KeyID:      keyID,
		Type:       tagType(tag),
		WrappedKey: wrapped,
		header:     raw[:h],
		pairs:      raw[5+w : h],
		sealed:     raw[h:],
	}, nil
}

func tagType(tag byte) pcommon.ValueType {
	switch tag {
	case tagString:
		return pcommon.ValueTypeStr
	case tagBool:
		return pcommon.ValueTypeBool
	case tagInt:
		return pcommon.ValueTypeInt
	case tagDouble:
		return pcommon.ValueTypeDouble
	case tagBytes:
		return pcommon.ValueTypeBytes
	case tagMap:
		return pcommon.ValueTypeMap
	case tagSlice:
		return pcommon.ValueTypeSlice
	}
	return pcommon.ValueTypeEmpty
}
