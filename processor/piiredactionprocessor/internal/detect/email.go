package detect

import "strings"

// RFC 5321 limits.
const (
	maxLocal  = 64
	maxDomain = 253
	maxLabel  = 63
)

// email accepts local@domain.tld around the '@' at i. The local part is the practical
// subset [A-Za-z0-9._+-] (so "email=john@x.io" yields "john@x.io"), without leading, trailing
// or doubled dots; the domain has at least two labels and a top-level label of two or more
// letters. The span is the whole address.
func email(v string, i int, dst []Match) []Match {
	a := i
	for a > 0 && i-a < maxLocal && class[v[a-1]]&cLocal != 0 {
		a--
	}
	if a > 0 && class[v[a-1]]&cLocal != 0 {
		return dst // local part longer than the RFC allows
	}
	for a < i && v[a] == '.' {
		a++ // sentence punctuation before the address
	}
	if a == i || v[i-1] == '.' || strings.Contains(v[a:i], "..") {
		return dst
	}
	if a > 0 && (validEscape(v, a-1) || v[a-1] == '@' && a >= 2 && class[v[a-2]]&cLocal != 0 && validDomain(v[a:i])) {
		// The hex digits of a "%40" escape, or the domain of the address before this '@'
		// ("jane@example.com@host" in a URL's userinfo): the decoding view or that address
		// has it, and the host after this '@' stays.
		return dst
	}
	b := i + 1
	for b < len(v) && b-i-1 < maxDomain && class[v[b]]&cDomain != 0 {
		b++
	}
	if b < len(v) && (class[v[b]]&cDomain != 0 || v[b] == '_') {
		return dst
	}
	for b > i+1 && (v[b-1] == '.' || v[b-1] == '-') {
		b-- // "mail me at john@example.com."
	}
	if !validDomain(v[i+1 : b]) {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: Email, Custom: -1})
}

// validDomain checks labels of 1-63 letters, digits and inner hyphens, at least two of them,
// the last made of two or more letters.
func validDomain(d string) bool {
	labels, start := 0, 0
	for p := 0; p <= len(d); p++ {
		if p < len(d) && d[p] != '.' {
			continue
		}
		l := d[start:p]
		if len(l) == 0 || len(l) > maxLabel || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = p + 1
	}
	if labels < 2 {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if len(tld) < 2 {
		return false
	}
	for p := 0; p < len(tld); p++ {
		if class[tld[p]]&(cUpper|cLower) == 0 {
			return false
		}
	}
	return true
}
