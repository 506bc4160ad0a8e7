package detect

import "strings"

// Detectors for credentials: JWT, Bearer and Basic authorization, AWS keys, PEM private keys.

// jwt accepts header.payload.signature (or the five parts of a JWE) of base64url, starting
// at the word "eyJ..." whose header decodes to a JSON object with an "alg" member and, for
// a JWS, whose payload decodes to a JSON object. The signature may be empty ("h.p.") and,
// with alg "none", missing ("h.p"). The span is the whole token.
func jwt(v string, i int, dst []Match) []Match {
	if len(v)-i < 3 || v[i+1] != 'y' || v[i+2] != 'J' || (i > 0 && v[i-1] == '-') {
		return dst
	}
	var ends [6]int
	parts, p := 0, i
	for {
		q := p
		for q < len(v) && class[v[q]]&cB64URL != 0 {
			q++
		}
		ends[parts] = q
		parts++
		if parts == len(ends) || q >= len(v) || v[q] != '.' {
			break
		}
		p = q + 1
	}
	// A dot after a complete token is punctuation ("... eyJ.a.b."); after two parts it is
	// the separator before an empty signature and stays in the span.
	if (parts == 4 || parts == 6) && ends[parts-1] == ends[parts-2]+1 {
		parts--
	}
	if parts < 2 || parts == 4 || parts > 5 {
		return dst
	}
	header := v[i:ends[0]]
	if len(header) < 10 {
		return dst
	}
	h := jsonObjectOf(header)
	if !h.ok || !h.hasAlg || (parts == 2 && !h.algNone) {
		return dst
	}
	// A JWE's second part is an encrypted key, not JSON.
	if parts != 5 && !jsonObjectOf(v[ends[0]+1:ends[1]]).ok {
		return dst
	}
	return append(dst, Match{Start: i, End: ends[parts-1], Type: JWT, Custom: -1})
}

// bearer accepts "Bearer <token>" with the scheme word ending at i: one to four spaces, then
// a token68 of at least 8 characters that looks like a credential (a digit, punctuation, or
// mixed case), so that prose such as "bearer authentication" is left alone. The span is the
// token.
func bearer(v string, i int, dst []Match) []Match {
	a, ok := afterSpaces(v, i)
	if !ok {
		return dst
	}
	b := a
	var digit, punct bool
	var upper, low int
	for b < len(v) && class[v[b]]&cToken68 != 0 {
		switch c := v[b]; {
		case isDigit(c):
			digit = true
		case isUpper(c):
			upper++
		case class[c]&cLower != 0:
			low++
		default:
			punct = true
		}
		b++
	}
	for b < len(v) && v[b] == '=' {
		b++
		punct = true
	}
	if b-a < 8 || (b < len(v) && class[v[b]]&cToken68 != 0) {
		return dst // too short, or "realm=..." parameters rather than a token
	}
	if !digit && !punct && (upper < 2 || low < 2) {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: Bearer, Custom: -1})
}

// basicAuth accepts "Basic <base64>" whose decoding is printable and holds a ':'
// (user:password). The span is the encoded credential.
func basicAuth(v string, i int, dst []Match) []Match {
	a, ok := afterSpaces(v, i)
	if !ok {
		return dst
	}
	b := a
	for b < len(v) && class[v[b]]&cB64Std != 0 {
		b++
	}
	for k := 0; k < 2 && b < len(v) && v[b] == '='; k++ {
		b++
	}
	if b-a < 4 || (b < len(v) && (class[v[b]]&cB64Std != 0 || v[b] == '=')) {
		return dst
	}
	var buf [192]byte
	n := b64Decode(buf[:], v[a:b], &b64Std)
	colon := false
	for _, c := range buf[:n] {
		if c < 0x20 || c == 0x7f {
			return dst
		}
		colon = colon || c == ':'
	}
	if !colon {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: BasicAuth, Custom: -1})
}

// afterSpaces skips the one to four spaces or tabs after an authorization scheme at i.
func afterSpaces(v string, i int) (int, bool) {
	a := i
	for a < len(v) && a-i < 5 && (v[a] == ' ' || v[a] == '\t') {
		a++
	}
	return a, a > i && a-i <= 4 && a < len(v)
}

// awsKeyID accepts an AWS access key id, the 20-byte word at i: AKIA (long-term), ASIA
// (temporary), ABIA or ACCA, then 16 upper-case letters or digits.
func awsKeyID(v string, i int, dst []Match) []Match {
	if i+20 > len(v) || (i+20 < len(v) && isWord(v[i+20])) {
		return dst
	}
	switch v[i : i+4] {
	case "AKIA", "ASIA", "ABIA", "ACCA":
	default:
		return dst
	}
	for p := i + 4; p < i+20; p++ {
		if !isUpperOrDigit(v[p]) {
			return dst
		}
	}
	return append(dst, Match{Start: i, End: i + 20, Type: AWSKey, Custom: -1})
}

// awsSecretKeys are the key names an AWS secret access key follows, lower case and without
// separators: aws_secret_access_key, AWS_SECRET_ACCESS_KEY, SecretAccessKey,
// secret-access-key, aws_secret_key, secret_key.
var awsSecretKeys = [...]string{"secretaccesskey", "secretkey"}

// awsSecret accepts the 40-character secret access key after "<key> =", "<key>:" or
// "<key> =>" (quotes and spaces allowed around), where i is the '=' or ':'. The span is the
// secret.
func awsSecret(v string, i int, dst []Match) []Match {
	k := i - 1
	for k >= 0 && (v[k] == ' ' || v[k] == '\t') {
		k--
	}
	if k >= 0 && (v[k] == '"' || v[k] == '\'') {
		k--
	}
	if k < 0 || lower(v[k]) != 'y' || !(endsWithKey(v, k, awsSecretKeys[0]) || endsWithKey(v, k, awsSecretKeys[1])) {
		return dst
	}
	a := i + 1
	if v[i] == '=' && a < len(v) && v[a] == '>' {
		a++
	}
	for a < len(v) && (v[a] == ' ' || v[a] == '\t') {
		a++
	}
	if a < len(v) && (v[a] == '"' || v[a] == '\'') {
		a++
	}
	b := a
	for b < len(v) && b-a <= 40 && class[v[b]]&cB64Std != 0 {
		b++
	}
	if b-a != 40 || (b < len(v) && (class[v[b]]&cB64Std != 0 || v[b] == '=')) {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: AWSKey, Custom: -1})
}

// endsWithKey reports whether v[:k+1] ends with name (lower case, without separators),
// ignoring case and '_' and '-' in v.
func endsWithKey(v string, k int, name string) bool {
	for t := len(name) - 1; t >= 0; k-- {
		if k < 0 {
			return false
		}
		c := v[k]
		if c == '_' || c == '-' {
			continue
		}
		if lower(c) != name[t] {
			return false
		}
		t--
	}
	return true
}

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
	pemDash  = "-----"
)

// privateKey accepts a PEM block "-----BEGIN <label>-----" whose label holds "PRIVATE KEY",
// through the matching "-----END <label>-----", or to the end of the value when the END line
// is missing (a truncated key is still a secret). A block without a byte of base64 in it
// (empty, or "..." in documentation) holds no key. The span is the whole block.
func privateKey(v string, i int, dst []Match) []Match {
	if !strings.HasPrefix(v[i:], pemBegin) {
		return dst
	}
	l := i + len(pemBegin)
	e := l
	for e < len(v) && e-l <= 64 && (isUpperOrDigit(v[e]) || v[e] == ' ') {
		e++
	}
	label := v[l:e]
	if !strings.HasPrefix(v[e:], pemDash) || !strings.Contains(label, "PRIVATE KEY") {
		return dst
	}
	body := e + len(pemDash)
	end, bodyEnd := len(v), len(v)
	for p := body; ; {
		k := strings.Index(v[p:], pemEnd)
		if k < 0 {
			break
		}
		p += k + len(pemEnd)
		if rest := v[p:]; strings.HasPrefix(rest, label) && strings.HasPrefix(rest[len(label):], pemDash) {
			end, bodyEnd = p+len(label)+len(pemDash), p-len(pemEnd)
			break
		}
	}
	if !hasBase64(v[body:bodyEnd]) {
		return dst
	}
	return append(dst, Match{Start: i, End: end, Type: PrivateKey, Custom: -1})
}

// hasBase64 reports whether s holds a base64 byte outside the escapes of white space that
// JSON-encoded text has between the lines of a PEM block ("\n").
func hasBase64(s string) bool {
	for p := 0; p < len(s); p++ {
		c := s[p]
		if c == '\\' && p+1 < len(s) && (s[p+1] == 'n' || s[p+1] == 'r' || s[p+1] == 't') {
			p++
			continue
		}
		if class[c]&cB64Std != 0 {
			return true
		}
	}
	return false
}

// b64Alphabet maps a byte to its 6-bit value, or -1.
type b64Alphabet [256]int8

var b64Std, b64URL = func() (std, url b64Alphabet) {
	const common = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range 256 {
		std[i], url[i] = -1, -1
	}
	for i := 0; i < len(common); i++ {
		std[common[i]], url[common[i]] = int8(i), int8(i)
	}
	std['+'], std['/'] = 62, 63
	url['-'], url['_'] = 62, 63
	return
}()

// b64Decode decodes s into dst until s ends, padding or an invalid byte appears, or dst is
// full, and returns the number of bytes written. It never allocates; a prefix is enough for
// the checks above.
func b64Decode(dst []byte, s string, alphabet *b64Alphabet) int {
	n, acc, bits := 0, uint32(0), 0
	for i := 0; i < len(s) && n < len(dst); i++ {
		x := alphabet[s[i]]
		if x < 0 {
			break
		}
		acc = acc<<6 | uint32(x)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n
}
