// Package fieldcrypt is the envelope encryption of field values that the field_encryption
// processor writes and wardenctl decrypts: the value form, the key providers (a local keyring
// file, AWS KMS), the data-key cache, and the Encryptor and Decryptor on top of them. Other
// components only recognise the form (IsCiphertext): pii_redaction leaves such values alone,
// since there is nothing left to find in them and redacting them would destroy what must stay
// recoverable.
//
// # Value form, version 1
//
// A value of any pdata type (string, int, double, bool, bytes, a whole map or slice, empty)
// becomes one string:
//
//	wenc:v1:<key id>:<payload>
//
// The key id is 1 to 64 of A-Z a-z 0-9 '-' '_' '.', starting with a letter or digit: a keyring
// key id ("k-3f9a1c", "acme-7b2e90") or the label of a configured KMS key ("default", a
// tenant's name), never an ARN. The payload is base64url without padding (RFC 4648 §5; one
// text per payload: unused bits zero) of these bytes:
//
//	offset  size  field
//	0       1     payload version: 0x01
//	1       1     value type: 0x00 empty, 0x01 string, 0x02 bool, 0x03 int, 0x04 double,
//	              0x05 bytes, 0x06 map, 0x07 slice
//	2       2     W: length of the wrapped data key, big-endian, 1 to 4096
//	4       W     the wrapped data key (a fresh random AES-256 key per data key, not per value):
//	              local: nonce (12) | AES-256-GCM of the key under the master key (32) | tag (16),
//	              W = 60; aws_kms: the CiphertextBlob of GenerateDataKey (KeySpec AES_256),
//	              W = 140 from local-kms, about 184 from AWS KMS
//	4+W     1     N: number of encryption-context pairs carried, 0 to 16
//	5+W     ...   N pairs, sorted by key bytes, keys unique, at most 2048 bytes: key length
//	              (1 byte, 1 to 255), key, value length (2 bytes big-endian, 1 to 1024),
//	              value; they end at H. These are the resource attributes of the context
//	              (e.g. tenant.id), never the field name and never a field value
//	H       12    nonce, random
//	H+12    L     AES-256-GCM ciphertext of the value's encoding (L bytes) under the data key
//	H+12+L  16    GCM tag
//
// The value's encoding: a string's bytes as they are; bool 0x00 or 0x01; int 8 bytes
// big-endian two's complement; double the 8 bytes big-endian of its IEEE 754 bits (NaN, -0
// and infinities kept); bytes as they are; a map or slice as its OTLP JSON AnyValue
// ({"kvlistValue":...}, {"arrayValue":...}) as pdata writes it; empty: no bytes.
//
// The associated data of the value's GCM seal is
//
//	"wenc:v1:" | key id | ":" | field length (2 bytes big-endian) | field | payload[0:H]
//
// where the field is the attribute key or body path ("body.card.number") the value was found
// at: a value moved to another field, given another key id, type or carried context, or
// altered in any bit, fails authentication. The data key is wrapped under the whole
// encryption context: the carried pairs and FieldKey ("warden.field") = the field. KMS takes it
// as EncryptionContext (so a key policy can grant decryption per field and tenant, and
// CloudTrail logs it); the keyring uses its canonical encoding as the wrap's associated data:
//
//	"warden-keyring:v1:" | key id | ":" | N+1 (1 byte) | the N+1 pairs, encoded and sorted as above
//
// # Size
//
// The text is 9 + len(key id) + ceil(4(W + 33 + P + L) / 3) characters for a value of L bytes
// with P bytes of carried pairs (1 + len(key) + 2 + len(value) each). Without carried pairs,
// a 20-byte and a 200-byte string become (overhead in brackets):
//
//	local keyring, key id "k-3f9a1c" (W = 60):  168 (+148)   408 (+208)
//	aws_kms via local-kms, "default" (W = 140): 274 (+254)   514 (+314)
//	aws_kms via AWS KMS, "default" (W ≈ 184):   332 (+312)   572 (+372)
//
// A carried tenant.id = "acme" adds 16 payload bytes (about 21 characters).
//
// # Keys and limits
//
// One data key is cached per (key id, field, carried context) and used for at most
// CacheConfig.MaxAge, MaxMessages (never above 2^32, the bound of GCM with random 96-bit
// nonces) and MaxBytes, renewed in the background before: the provider (KMS) is called once
// per data key, never per value.
package fieldcrypt

import (
	"errors"
	"strings"
)

// Prefix starts every value written by field_encryption, version 1.
const Prefix = "wenc:v1:"

// minPayload is the shortest payload of version 1 in base64url: 34 bytes (a 6-byte header
// with a 1-byte wrapped key, the nonce and the tag).
const minPayload = 46

// maxKeyID is the longest key id.
const maxKeyID = 64

// ValidKeyID reports whether id can name a key in a value: 1 to 64 of the letters, digits,
// '-', '_' and '.', starting with a letter or digit. It is a keyring key id or the label of a
// configured KMS key, never an ARN (its ':' and '/' could not be part of a value's text).
func ValidKeyID(id string) error {
	if id == "" || len(id) > maxKeyID {
		return errors.New("key id: want 1 to 64 characters")
	}
	if !isAlnum(id[0]) {
		return errors.New("key id: must start with a letter or digit")
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return errors.New("key id: only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// IsCiphertext reports whether s has the form of a field_encryption value: the prefix, a key
// id of letters, digits, '-', '_' or '.', and a base64url payload.
func IsCiphertext(s string) bool {
	if !strings.HasPrefix(s, Prefix) {
		return false
	}
	rest := s[len(Prefix):]
	colon := strings.IndexByte(rest, ':')
	if colon <= 0 || colon > 128 {
		return false
	}
	for i := 0; i < colon; i++ {
		c := rest[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	payload := rest[colon+1:]
	if len(payload) < minPayload {
		return false
	}
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		if !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
