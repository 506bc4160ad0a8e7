package detect

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// RFC 5321 limits.
const (
	maxLocal  = 64
	maxDomain = 253
	maxLabel  = 63
)

// email accepts local@domain.tld around the '@' at i. The local part is the practical
// subset [A-Za-z0-9._+-] (so "email=john@x.io" yields "john@x.io"), without leading, trailing
// or doubled dots. The domain has at least two labels and a top-level label of two or more
// letters; labels may be internationalised, in UTF-8 (bücher.example) or punycode
// (xn--bcher-kva.example). An address literal in brackets (user@[192.0.2.1],
// user@[IPv6:2001:db8::1]) stands for the domain. The span is the whole address.
//
// An SSH or scp login (git@github.com:org/repo) is a user name at a host, not a mailbox, and
// is left alone: a domain followed by ':' and a path is not an e-mail.
func email(v string, i int, dst []Match) []Match {
	a := i
	for a > 0 && i-a < maxLocal && class[v[a-1]]&cLocal != 0 {
		a--
	}
	if a > 0 && class[v[a-1]]&cLocal != 0 {
		return dst // local part longer than the RFC allows
	}
	if a = afterEscapeAt(v, a, i); a < 0 {
		return dst
	}
	for a < i && v[a] == '.' {
		a++ // sentence punctuation before the address
	}
	if a == i || v[i-1] == '.' || strings.Contains(v[a:i], "..") {
		return dst
	}
	if a > 0 && v[a-1] == '@' && a >= 2 && class[v[a-2]]&cLocal != 0 && validDomain(v[a:i]) {
		// The domain of the address before this '@' ("jane@example.com@host" in a URL's
		// userinfo): that address has it, and the host after this '@' stays.
		return dst
	}
	if i+1 < len(v) && v[i+1] == '[' {
		if e := addressLiteralEnd(v, i+1); e > 0 {
			dst = append(dst, Match{Start: a, End: e, Type: Email, Custom: -1})
		}
		return dst
	}
	b := domainEnd(v, i+1)
	if b < len(v) && (class[v[b]]&cDomain != 0 || v[b] == '_' || (b-i-1 >= maxDomain && v[b] >= utf8.RuneSelf)) {
		return dst // longer than the RFC allows, or glued to an identifier
	}
	for b > i+1 && (v[b-1] == '.' || v[b-1] == '-') {
		b-- // "mail me at john@example.com."
	}
	b = trimTLD(v, i+1, b)
	if !validDomain(v[i+1:b]) || scpPath(v, b) {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: Email, Custom: -1})
}

// afterEscapeAt moves a local part starting at a past an escape it starts inside: "%3C" or
// "\u003c" before the address ("mailto%3Ajane@...", JSON's "\u003cjane@...\u003e").
func afterEscapeAt(v string, a, i int) int {
	switch {
	case a > 0 && v[a-1] == '%' && a+2 < i && class[v[a]]&cHex != 0 && class[v[a+1]]&cHex != 0:
		if c := unhex(v[a])<<4 | unhex(v[a+1]); c == '@' || c == '%' {
			// "%40": the text before is an encoded address ("jane%40example.com@host"), which
			// the percent view finds whole; this '@' is the one before a host. "%25" is an
			// escape escaped again ("%2540"), read no further.
			return -1
		}
		return a + 2
	case a > 0 && v[a-1] == '\\' && a+5 < i && v[a] == 'u' && class[v[a+1]]&class[v[a+2]]&class[v[a+3]]&class[v[a+4]]&cHex != 0:
		if v[a+1] == '0' && v[a+2] == '0' && v[a+3] == '4' && v[a+4] == '0' {
			return -1 // "\u0040", as "%40" above
		}
		return a + 5
	}
	return a
}

// domainEnd returns where the host name starting at d ends: ASCII letters, digits, dots and
// hyphens, and non-ASCII letters, digits and marks (an internationalised name), up to
// maxDomain bytes.
func domainEnd(v string, d int) int {
	b := d
	for b < len(v) && b-d < maxDomain {
		c := v[b]
		if class[c]&cDomain != 0 {
			b++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, n := utf8.DecodeRuneInString(v[b:])
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)) {
			break
		}
		b += n
	}
	return b
}

// trimTLD cuts text glued to an ASCII top-level label off the domain v[d:b]: in
// "jane@example.comです" the address ends after "com". A top-level label is ASCII letters or
// non-ASCII letters, not a mix.
func trimTLD(v string, d, b int) int {
	t := d + strings.LastIndexByte(v[d:b], '.') + 1
	if t >= b || v[t] >= utf8.RuneSelf {
		return b
	}
	for p := t; p < b; p++ {
		if v[p] >= utf8.RuneSelf {
			return p
		}
	}
	return b
}

// scpPath reports whether v[b:] is ':' and a path, as in git@github.com:org/repo.git or
// user@host:/srv/data: the address before it is a login at a host.
func scpPath(v string, b int) bool {
	if b+1 >= len(v) || v[b] != ':' {
		return false
	}
	p := b + 1
	if v[p] == '/' || v[p] == '~' {
		return true
	}
	for p < len(v) && class[v[p]]&cDomain != 0 || p < len(v) && v[p] == '_' {
		p++
	}
	return p > b+1 && p < len(v) && v[p] == '/'
}

// addressLiteralEnd returns the end of "[192.0.2.1]" or "[IPv6:2001:db8::1]" starting at
// v[s] == '[', or 0.
func addressLiteralEnd(v string, s int) int {
	const maxLiteral = len("IPv6:") + 45 // the longest IPv6 text form
	end := strings.IndexByte(v[s+1:min(len(v), s+2+maxLiteral)], ']')
	if end < 0 {
		return 0
	}
	lit := v[s+1 : s+1+end]
	ok := false
	if hasPrefixFold(lit, "ipv6:") {
		ok = validIPv6(lit[len("ipv6:"):])
	} else {
		ok = dottedQuad(lit)
	}
	if !ok {
		return 0
	}
	return s + 2 + end
}

// dottedQuad reports whether s is exactly four octets separated by dots.
func dottedQuad(s string) bool {
	for k := range 4 {
		dot := strings.IndexByte(s, '.')
		if k == 3 {
			return dot < 0 && octet(s)
		}
		if dot < 0 || !octet(s[:dot]) {
			return false
		}
		s = s[dot+1:]
	}
	return false
}

// validDomain checks labels of 1-63 bytes without a leading or trailing hyphen, at least two
// of them, the last a top-level label: two or more ASCII letters, non-ASCII letters
// (.рф), or punycode (.xn--p1ai).
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
	switch {
	case len(tld) > 4 && hasPrefixFold(tld, "xn--"):
		return true
	case len(tld) < 2:
		return false
	case tld[0] >= utf8.RuneSelf:
		for _, r := range tld {
			if !unicode.IsLetter(r) && !unicode.Is(unicode.M, r) {
				return false
			}
		}
		return true
	}
	for p := 0; p < len(tld); p++ {
		if class[tld[p]]&(cUpper|cLower) == 0 {
			return false
		}
	}
	return !fileSuffix(tld)
}

// fileSuffixes are file name extensions and systemd unit kinds that no top-level domain
// uses: "rabbit@localhost.log" and "getty@tty1.service" are files and units, not mailboxes.
// Suffixes that are also country or generic domains (.sh, .py, .rs, .md, .zip, .app) are not
// here: an address there is real.
var fileSuffixes = [...]string{
	"automount", "bak", "cfg", "conf", "db", "device", "gz", "ini", "jar", "js", "json", "lock",
	"log", "mount", "path", "pid", "scope", "service", "slice", "sock", "socket", "swap",
	"target", "tar", "timer", "tmp", "toml", "txt", "xml", "yaml", "yml",
}

// fileSuffix reports whether tld is one of fileSuffixes, in any case.
func fileSuffix(tld string) bool {
	if len(tld) > len("automount") {
		return false
	}
	for _, s := range fileSuffixes {
		if len(s) == len(tld) && hasPrefixFold(tld, s) {
			return true
		}
	}
	return false
}
