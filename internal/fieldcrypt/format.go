// Package fieldcrypt defines the form of the values that the field_encryption processor
// writes, so that other components recognise them: pii_redaction leaves them alone (there is
// nothing left to find in a ciphertext, and redacting it would destroy what must stay
// recoverable).
//
// A protected value is the text
//
//	wenc:v1:<key id>:<base64url payload>
//
// where the payload is self-contained (version, wrapped data key, nonce, ciphertext and tag).
package fieldcrypt

import "strings"

// Prefix starts every value written by field_encryption, version 1.
const Prefix = "wenc:v1:"

// minPayload is the shortest payload: a 12-byte nonce and a 16-byte tag, in base64url.
const minPayload = 38

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
