package detect

import (
	"net/url"
	"strings"
	"sync"
	"unsafe"
)

// Redacted replaces userinfo and signature query values, as the semantic conventions ask.
const Redacted = "REDACTED"

// ActFunc returns the replacement for s, found as type t (custom: the custom pattern index,
// else -1). Returning s unchanged keeps it.
type ActFunc func(t Type, custom int, s string) string

// DefaultSensitiveQueryParams returns the query keys whose values the semantic conventions
// (url.full, url.query) say to replace with REDACTED. Keys match case-sensitively.
func DefaultSensitiveQueryParams() map[string]bool {
	return map[string]bool{
		"AWSAccessKeyId":       true,
		"Signature":            true,
		"sig":                  true,
		"X-Goog-Signature":     true,
		"X-Amz-Signature":      true,
		"X-Amz-Credential":     true,
		"X-Amz-Security-Token": true,
	}
}

var (
	defaultQueryParams = DefaultSensitiveQueryParams()
	defaultKeyMatcher  = NewKeyMatcher(nil, nil)
)

// ScrubURL applies the semantic-convention rules to a URL attribute (url.full, http.url,
// url.query, http.target; absolute or relative URLs and bare query strings "a=b&c=d"):
//   - userinfo becomes REDACTED:REDACTED;
//   - values of sensitiveParams keys (nil: DefaultSensitiveQueryParams) become REDACTED;
//   - values of keys the default KeyMatcher finds sensitive go through act as SensitiveKey;
//   - every other query value, and the host, path and fragment, are scanned with scanner
//     (nil: not scanned) and each match goes through act.
//
// Keys, order and everything else are kept byte for byte. It returns v and false, without
// allocating, when nothing changes, and also when v does not look like a URL (contains
// white space or control bytes, or none of "://", '?', '=' or a leading '/'): the caller
// then scans v as a plain string.
func ScrubURL(v string, sensitiveParams map[string]bool, scanner *Scanner, act func(t Type, custom int, s string) string) (string, bool) {
	u := URLScrubber{Params: sensitiveParams, Keys: defaultKeyMatcher, Scanner: scanner}
	out, changed, _ := u.Scrub(v, act)
	return out, changed
}

// URLScrubber is ScrubURL with its dependencies spelt out. The zero value redacts userinfo
// and the default signature parameters only.
type URLScrubber struct {
	// Params are the query keys whose values become REDACTED; nil means
	// DefaultSensitiveQueryParams, an empty map none (the conventions' user list replaces the
	// default one).
	Params map[string]bool
	// Keys, if set, sends values of sensitive query keys through act as SensitiveKey.
	Keys *KeyMatcher
	// Scanner, if set, scans host, path, fragment and the other query values.
	Scanner *Scanner
}

// Scrub is ScrubURL; isURL reports whether v was taken as a URL. When it is false, out is v
// and the caller should scan v whole; when it is true, every part of v has been scanned.
func (u *URLScrubber) Scrub(v string, act ActFunc) (out string, changed, isURL bool) {
	if !looksLikeURL(v) || (u.Scanner != nil && len(v) > u.Scanner.maxScan) {
		return v, false, false
	}
	if act == nil {
		act = func(Type, int, string) string { return Redacted }
	}
	params := u.Params
	if params == nil {
		params = defaultQueryParams
	}
	e := urlEditor{src: v}
	rest, fragment, query := len(v), -1, -1
	if h := strings.IndexByte(v, '#'); h >= 0 {
		rest, fragment = h, h+1
	}
	if q := strings.IndexByte(v[:rest], '?'); q >= 0 {
		query = q + 1
	}
	pathEnd := rest
	if query >= 0 {
		pathEnd = query - 1
	}
	pathStart := 0
	if k := strings.Index(v[:pathEnd], "://"); k > 0 && isScheme(v[:k]) {
		pathStart = u.authority(&e, k+3, pathEnd, act)
	} else if strings.HasPrefix(v[:pathEnd], "//") {
		pathStart = u.authority(&e, 2, pathEnd, act)
	} else if query < 0 && fragment < 0 && v[0] != '/' && strings.IndexByte(v, '=') >= 0 {
		query, pathEnd, rest = 0, 0, len(v) // a bare query string
	}
	u.scanPart(&e, pathStart, pathEnd, false, act)
	if query >= 0 {
		u.query(&e, query, rest, params, act)
	}
	if fragment >= 0 {
		// OAuth implicit flow: "#access_token=...&token_type=bearer".
		if strings.IndexByte(v[fragment:], '=') >= 0 {
			u.query(&e, fragment, len(v), params, act)
		} else {
			u.scanPart(&e, fragment, len(v), false, act)
		}
	}
	if !e.on {
		return v, false, true
	}
	return e.finish(), true, true
}

// looksLikeURL is the cheap test that decides between ScrubURL and a plain scan.
func looksLikeURL(v string) bool {
	if v == "" {
		return false
	}
	marker := v[0] == '/'
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c == 0x7f {
			return false
		}
		if c == '?' || c == '=' || (c == ':' && strings.HasPrefix(v[i:], "://")) {
			marker = true
		}
	}
	return marker
}

// isScheme checks RFC 3986 scheme syntax.
func isScheme(s string) bool {
	if !isUpper(s[0]) && class[s[0]]&cLower == 0 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if class[s[i]]&(cUpper|cLower|cDigit) == 0 && s[i] != '+' && s[i] != '-' && s[i] != '.' {
			return false
		}
	}
	return true
}

// authority handles v[a:end] up to the first '/', returning where the path starts.
func (u *URLScrubber) authority(e *urlEditor, a, end int, act ActFunc) int {
	b := end
	if k := strings.IndexByte(e.src[a:end], '/'); k >= 0 {
		b = a + k
	}
	host := a
	if at := strings.LastIndexByte(e.src[a:b], '@'); at >= 0 {
		host = a + at + 1
		repl := Redacted
		if strings.IndexByte(e.src[a:host-1], ':') >= 0 {
			repl = Redacted + ":" + Redacted
		}
		if info := e.src[a : host-1]; info != "" && info != repl {
			e.replace(a, host-1, repl)
		}
	}
	u.scanPart(e, host, b, false, act)
	return b
}

// query handles the key=value pairs of v[a:b].
func (u *URLScrubber) query(e *urlEditor, a, b int, params map[string]bool, act ActFunc) {
	for a < b {
		end := b
		if k := strings.IndexByte(e.src[a:b], '&'); k >= 0 {
			end = a + k
		}
		eq := strings.IndexByte(e.src[a:end], '=')
		if eq < 0 {
			u.scanPart(e, a, end, true, act) // "?john@example.com"
			a = end + 1
			continue
		}
		key, vs := e.src[a:a+eq], a+eq+1
		switch {
		case vs == end:
		case params[key]:
			if e.src[vs:end] != Redacted {
				e.replace(vs, end, Redacted)
			}
		case u.Keys != nil && u.Keys.Sensitive(key):
			raw := e.src[vs:end]
			val := raw
			if needsUnescape(raw, true) {
				val = unescape(raw, true)
			}
			if repl := act(SensitiveKey, -1, val); repl != val {
				e.replace(vs, end, escapeValue(repl, true))
			}
		default:
			u.scanPart(e, vs, end, true, act)
		}
		a = end + 1
	}
}

// scanPart scans the percent-decoded form of v[a:b] ('+' is a space in queries) and splices
// each replacement into the raw text.
func (u *URLScrubber) scanPart(e *urlEditor, a, b int, query bool, act ActFunc) {
	if u.Scanner == nil || a >= b {
		return
	}
	raw := e.src[a:b]
	var mbuf [8]Match
	if !needsUnescape(raw, query) {
		ms, _ := u.Scanner.Scan(raw, mbuf[:0])
		for _, m := range ms {
			s := Decode(m.Encoding, raw[m.Start:m.End])
			if repl := act(m.Type, m.Custom, s); repl != s {
				e.replace(a+m.Start, a+m.End, escapeValue(repl, query))
			}
		}
		return
	}
	bp := getDecodeBuf(len(raw))
	defer decodeBufs.Put(bp)
	*bp = appendUnescape((*bp)[:0], raw, query)
	// The decoded text lives in a pooled buffer, so it is viewed without copying for the
	// scan and copied before act, which may keep what it is given.
	dec := unsafe.String(unsafe.SliceData(*bp), len(*bp))
	ms, _ := u.Scanner.scan(dec, mbuf[:0], false) // decoded once, as the views do
	for _, m := range ms {
		s := strings.Clone(dec[m.Start:m.End])
		if repl := act(m.Type, m.Custom, s); repl != s {
			e.replace(a+rawIndex(raw, m.Start), a+rawIndex(raw, m.End), escapeValue(repl, query))
		}
	}
}

var decodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getDecodeBuf(n int) *[]byte {
	bp := decodeBufs.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, 0, n)
	}
	return bp
}

// validEscape reports whether s[i] starts a "%XX" escape.
func validEscape(s string, i int) bool {
	return s[i] == '%' && i+2 < len(s) && class[s[i+1]]&cHex != 0 && class[s[i+2]]&cHex != 0
}

func needsUnescape(s string, query bool) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] == '+' && query) || validEscape(s, i) {
			return true
		}
	}
	return false
}

// appendUnescape decodes s tolerantly: a '%' without two hex digits stays as it is.
func appendUnescape(dst []byte, s string, query bool) []byte {
	for i := 0; i < len(s); i++ {
		switch {
		case validEscape(s, i):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case s[i] == '+' && query:
			dst = append(dst, ' ')
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

func unescape(s string, query bool) string { return string(appendUnescape(nil, s, query)) }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// rawIndex maps an offset in the decoded form of raw back to raw.
func rawIndex(raw string, decoded int) int {
	r := 0
	for d := 0; d < decoded && r < len(raw); d++ {
		if validEscape(raw, r) {
			r += 3
		} else {
			r++
		}
	}
	return r
}

// escapeValue escapes a replacement only if it would change the URL's structure, so that
// ordinary tokens ("REDACTED", "[email]") stay readable.
func escapeValue(s string, query bool) string {
	if !strings.ContainsAny(s, "&#%+?/ \t\r\n") {
		return s
	}
	if query {
		return url.QueryEscape(s)
	}
	return url.PathEscape(s)
}

// urlEditor rebuilds src with replacements, copying nothing until the first one.
type urlEditor struct {
	src  string
	b    strings.Builder
	last int
	on   bool
}

// replace substitutes src[start:end]; calls come in increasing, non-overlapping order.
func (e *urlEditor) replace(start, end int, repl string) {
	if !e.on {
		e.on = true
		e.b.Grow(len(e.src) + len(repl))
	}
	e.b.WriteString(e.src[e.last:start])
	e.b.WriteString(repl)
	e.last = end
}

func (e *urlEditor) finish() string {
	e.b.WriteString(e.src[e.last:])
	return e.b.String()
}
