package detect

import (
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Encoding is the notation a match was found in: Plain for the bytes as they are, or the
// decoding view whose decoded text held it.
type Encoding uint8

// The decoding views. Each decodes one notation, once: "%2540" becomes "%40", never "@".
const (
	// Plain: the value as it is.
	Plain Encoding = iota
	// Percent: "%XX" escapes with two hex digits.
	Percent
	// Form: "%XX" escapes, and '+' for a space (application/x-www-form-urlencoded).
	Form
	// JSONEscape: JSON string escapes, "\uXXXX" (surrogate pairs joined), "\/", "\n", ...
	JSONEscape
	// HTMLEntity: "&#NN;", "&#xHH;" and the named entities of namedEntity.
	HTMLEntity
)

// Bits of the escape introducers scanBuiltin saw in a value.
const (
	escPercent uint8 = 1 << iota
	escBackslash
	escAmp
	escPlus
)

// escapeBit returns the bit of an escape introducer, 0 for any other byte.
func escapeBit(c byte) uint8 {
	switch c {
	case '%':
		return escPercent
	case '\\':
		return escBackslash
	case '&':
		return escAmp
	case '+':
		return escPlus
	}
	return 0
}

// Decode returns s decoded as e; Plain returns s. The processor hashes and checks the decoded
// text of a match, so that "jane%40example.com" and "jane@example.com" hash equal.
func Decode(e Encoding, s string) string {
	if e == Plain || !hasEscape(s, e, false) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); {
		var w int
		if b, w = decodeEscape(b, s, i, e); w == 0 {
			b, w = append(b, s[i]), 1
		}
		i += w
	}
	return string(b)
}

// decodeEscape appends what the escape of e at s[i] stands for to dst and returns its raw
// width, or returns dst and 0 when s[i] starts no escape of e.
func decodeEscape(dst []byte, s string, i int, e Encoding) ([]byte, int) {
	switch e {
	case Percent, Form:
		if validEscape(s, i) {
			return append(dst, unhex(s[i+1])<<4|unhex(s[i+2])), 3
		}
		if e == Form && s[i] == '+' {
			return append(dst, ' '), 1
		}
	case JSONEscape:
		if s[i] == '\\' {
			return jsonEscape(dst, s, i)
		}
	case HTMLEntity:
		if s[i] == '&' {
			return htmlEntity(dst, s, i)
		}
	}
	return dst, 0
}

// jsonEscape decodes the JSON string escape at s[i] == '\\'.
func jsonEscape(dst []byte, s string, i int) ([]byte, int) {
	if i+1 >= len(s) {
		return dst, 0
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return append(dst, c), 2
	case 'b':
		return append(dst, '\b'), 2
	case 'f':
		return append(dst, '\f'), 2
	case 'n':
		return append(dst, '\n'), 2
	case 'r':
		return append(dst, '\r'), 2
	case 't':
		return append(dst, '\t'), 2
	case 'u':
		r, ok := hex4(s, i+2)
		if !ok {
			return dst, 0
		}
		if utf16IsHigh(r) && i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if lo, ok := hex4(s, i+8); ok && utf16IsLow(lo) {
				return utf8.AppendRune(dst, 0x10000+(r-0xd800)<<10+(lo-0xdc00)), 12
			}
		}
		return utf8.AppendRune(dst, r), 6 // a lone surrogate becomes U+FFFD
	}
	return dst, 0
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for k := i; k < i+4; k++ {
		if class[s[k]]&cHex == 0 {
			return 0, false
		}
		r = r<<4 | rune(unhex(s[k]))
	}
	return r, true
}

func utf16IsHigh(r rune) bool { return 0xd800 <= r && r < 0xdc00 }

func utf16IsLow(r rune) bool { return 0xdc00 <= r && r < 0xe000 }

// maxEntity is the longest entity decoded: "&#x10FFFF;" or "&#1114111;".
const maxEntity = 10

// htmlEntity decodes the character reference at s[i] == '&': "&#NN;" (up to 7 digits),
// "&#xHH;" (up to 6 hex digits) to a valid code point, or a named entity of namedEntity. The
// ';' is required.
func htmlEntity(dst []byte, s string, i int) ([]byte, int) {
	semi := strings.IndexByte(s[i+1:min(len(s), i+maxEntity)], ';')
	if semi < 1 {
		return dst, 0
	}
	body, w := s[i+1:i+1+semi], semi+2
	if body[0] != '#' {
		if c := namedEntity(body); c != 0 {
			return append(dst, c), w
		}
		return dst, 0
	}
	digits, base := body[1:], rune(10)
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return dst, 0
	}
	var r rune
	for k := 0; k < len(digits); k++ {
		c := digits[k]
		if base == 10 && !isDigit(c) || class[c]&cHex == 0 {
			return dst, 0
		}
		r = r*base + rune(unhex(c))
		if r > utf8.MaxRune {
			return dst, 0
		}
	}
	if r == 0 || utf16IsHigh(r) || utf16IsLow(r) {
		return dst, 0
	}
	return utf8.AppendRune(dst, r), w
}

// namedEntity returns the byte a named entity stands for, 0 for names not decoded: the ones
// that spell the characters of addresses, numbers and credentials. "&nbsp;" is a plain space
// here, as a separator of grouped digits.
func namedEntity(name string) byte {
	switch name {
	case "commat":
		return '@'
	case "period":
		return '.'
	case "plus":
		return '+'
	case "amp":
		return '&'
	case "lowbar":
		return '_'
	case "hyphen":
		return '-'
	case "colon":
		return ':'
	case "sol":
		return '/'
	case "equals":
		return '='
	case "num":
		return '#'
	case "percnt":
		return '%'
	case "lpar":
		return '('
	case "rpar":
		return ')'
	case "comma":
		return ','
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "quot":
		return '"'
	case "apos":
		return '\''
	case "nbsp":
		return ' '
	}
	return 0
}

// hasEscape reports whether s holds an escape of e. For JSONEscape with forView, only the
// escapes worth a decoding view count: "\uXXXX" and "\/"; "\n" or "\"" change no detector's
// verdict.
func hasEscape(s string, e Encoding, forView bool) bool {
	var intro byte
	switch e {
	case Percent:
		intro = '%'
	case Form:
		if strings.IndexByte(s, '+') >= 0 {
			return true
		}
		intro = '%'
	case JSONEscape:
		intro = '\\'
	case HTMLEntity:
		intro = '&'
	default:
		return false
	}
	var tmp [8]byte
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], intro)
		if k < 0 {
			return false
		}
		i += k
		_, w := decodeEscape(tmp[:0], s, i, e)
		if w > 0 && (e != JSONEscape || !forView || s[i+1] == 'u' || s[i+1] == '/') {
			return true
		}
		i += max(w, 1)
	}
	return false
}

// view is the decoded text of a value and, for each decoded byte, the raw offset of the
// escape (or byte) it came from; off[len(text)] is the raw length.
type view struct {
	text []byte
	off  []int32
}

var views = sync.Pool{New: func() any { return new(view) }}

// decode fills w with raw decoded as e, once (no decoded byte is decoded again).
func (w *view) decode(raw string, e Encoding) {
	w.text, w.off = w.text[:0], w.off[:0]
	for i := 0; i < len(raw); {
		n := len(w.text)
		var width int
		if w.text, width = decodeEscape(w.text, raw, i, e); width == 0 {
			w.text, width = append(w.text, raw[i]), 1
		}
		for range len(w.text) - n {
			w.off = append(w.off, int32(i))
		}
		i += width
	}
	w.off = append(w.off, int32(len(raw)))
}

// rawSpan maps the decoded span [ds, de) to the raw bytes, widened to whole escapes: a span
// starting or ending inside the bytes one escape stands for takes the whole escape.
func (w *view) rawSpan(ds, de int) (int, int) {
	d := de
	for d < len(w.text) && w.off[d] == w.off[de-1] {
		d++
	}
	return int(w.off[ds]), int(w.off[d])
}

// scanViews scans the decoding views of v for the escape introducers in esc, appending
// their matches, mapped back to v, to dst. The plain matches dst[base:] are first kept from
// starting or ending inside an escape.
func (s *Scanner) scanViews(v string, esc uint8, base int, dst []Match) []Match {
	var encs [4]Encoding
	n := 0
	percent := esc&escPercent != 0 && hasEscape(v, Percent, true)
	if percent {
		encs[n], n = Percent, n+1
	}
	if esc&escPlus != 0 && (percent || strings.IndexByte(v, '=') >= 0) {
		encs[n], n = Form, n+1
	}
	jsonEsc := esc&escBackslash != 0 && hasEscape(v, JSONEscape, false)
	if jsonEsc && hasEscape(v, JSONEscape, true) {
		encs[n], n = JSONEscape, n+1
	}
	html := esc&escAmp != 0 && hasEscape(v, HTMLEntity, true)
	if html {
		encs[n], n = HTMLEntity, n+1
	}
	if percent || jsonEsc || html {
		dst = snapToEscapes(v, dst, base, percent, jsonEsc, html)
	}
	if n == 0 {
		return dst
	}
	w := views.Get().(*view)
	defer views.Put(w)
	for _, e := range encs[:n] {
		w.decode(v, e)
		// The decoded text lives in the pooled view and is only read during the scan.
		text := unsafe.String(unsafe.SliceData(w.text), len(w.text))
		from := len(dst)
		dst, _ = s.scanBuiltin(text, dst)
		for i := range s.custom {
			dst = s.custom[i].find(text, i, dst)
		}
		for k := from; k < len(dst); k++ {
			m := &dst[k]
			m.Start, m.End = w.rawSpan(m.Start, m.End)
			m.Encoding = e
		}
	}
	return dst
}

// snapToEscapes moves the ends of the plain matches dst[base:] that fall inside an escape
// ("\njane@example.com" found as "njane@example.com") to the escape's edge: outside it when
// the escape stands for a separator, over it when it stands for a letter or digit. A match
// left empty is dropped.
func snapToEscapes(v string, dst []Match, base int, percent, jsonEsc, html bool) []Match {
	w := base
	for _, m := range dst[base:] {
		if a, b, c, ok := escapeAround(v, m.Start, percent, jsonEsc, html); ok {
			m.Start = b
			if isWord(c) || c >= utf8.RuneSelf {
				m.Start = a
			}
		}
		if a, b, c, ok := escapeAround(v, m.End, percent, jsonEsc, html); ok {
			m.End = a
			if isWord(c) || c >= utf8.RuneSelf {
				m.End = b
			}
		}
		if m.Start < m.End {
			dst[w] = m
			w++
		}
	}
	return dst[:w]
}

// escapeAround finds the escape v[a:b] with a < p < b, and the first byte it stands for.
func escapeAround(v string, p int, percent, jsonEsc, html bool) (a, b int, c byte, ok bool) {
	var tmp [8]byte
	try := func(e Encoding, from, back int) bool {
		for k := p - 1; k >= max(from, p-back); k-- {
			d, w := decodeEscape(tmp[:0], v, k, e)
			if w > 0 && k+w > p {
				if e == JSONEscape && k > 0 && v[k-1] == '\\' && precededByEscape(v, k) {
					continue
				}
				a, b, c, ok = k, k+w, d[0], true
				return true
			}
		}
		return false
	}
	if p <= 0 || p >= len(v) {
		return
	}
	switch {
	case percent && try(Percent, 0, 2):
	case jsonEsc && try(JSONEscape, 0, 11):
	case html && try(HTMLEntity, 0, maxEntity-1):
	}
	return
}

// precededByEscape reports whether the backslash v[k] is itself escaped: an odd run of
// backslashes before it.
func precededByEscape(v string, k int) bool {
	n := 0
	for j := k - 1; j >= 0 && v[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// Base64 forms of the starts of a JWT ("eyJ") and of a PEM block ("-----BEGIN ").
const (
	b64JWTPrefix = "ZXlK"
	b64PEMPrefix = "LS0tLS1CRUdJTi"
	// minBase64Blob is the shortest run taken for an encoded JWT or PEM block.
	minBase64Blob = 40
)

// base64Blob accepts, at the word v[i:] starting with "ZXlK" or "LS0tLS1CRUdJTi", a standalone
// base64 (standard or URL alphabet, optional padding) run of 40 or more characters that
// decodes to a JWT or a PEM private key block, and reports the whole run as that type. Other
// base64 is never decoded: only the two prefixes lead here.
func (s *Scanner) base64Blob(v string, i int, dst []Match) []Match {
	var t Type
	switch {
	case strings.HasPrefix(v[i:], b64JWTPrefix) && s.types.Has(JWT):
		t = JWT
	case strings.HasPrefix(v[i:], b64PEMPrefix) && s.types.Has(PrivateKey):
		t = PrivateKey
	default:
		return dst
	}
	if i > 0 && class[v[i-1]]&(cB64Std|cB64URL) != 0 {
		return dst
	}
	std, url := false, false
	e := i
run:
	for ; e < len(v); e++ {
		switch c := v[e]; {
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		case class[c]&(cUpper|cLower|cDigit) == 0:
			break run
		}
	}
	b := e
	for b < len(v) && b-e < 2 && v[b] == '=' {
		b++
	}
	if e-i < minBase64Blob || (std && url) || (b < len(v) && (class[v[b]]&(cB64Std|cB64URL) != 0 || v[b] == '=')) {
		return dst
	}
	alphabet := &b64Std
	if url {
		alphabet = &b64URL
	}
	if t == PrivateKey {
		var buf [96]byte
		n := b64Decode(buf[:], v[i:e], alphabet)
		dec := unsafe.String(&buf[0], n)
		var one [1]Match
		if len(privateKey(dec, 0, one[:0])) == 0 {
			return dst
		}
	} else {
		bp := getDecodeBuf(e - i)
		defer decodeBufs.Put(bp)
		buf := (*bp)[:cap(*bp)]
		n := b64Decode(buf, v[i:e], alphabet)
		dec := strings.TrimRight(unsafe.String(unsafe.SliceData(buf), n), " \t\r\n")
		var one [1]Match
		if m := jwt(dec, 0, one[:0]); len(m) == 0 || m[0].End != len(dec) {
			return dst
		}
	}
	return append(dst, Match{Start: i, End: b, Type: t, Custom: -1})
}
