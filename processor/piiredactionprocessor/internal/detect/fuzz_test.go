package detect

import (
	"net/netip"
	"strings"
	"testing"
	"unicode"
)

var fuzzScanner = func() *Scanner {
	s, err := NewScanner(Options{Types: AllBuiltin, Custom: determinismCustom, Keys: NewKeyMatcher(nil, nil)})
	if err != nil {
		panic(err)
	}
	return s
}()

// planted values that must be found whatever surrounds them, given a space on each side.
var planted = []struct {
	v string
	t Type
	// scheme is a leading part the match may leave out (the "Bearer " of a credential),
	// tail a trailing one (the "@host" after a URL's password).
	scheme, tail int
}{
	{v: "4111 1111 1111 1111", t: Card},
	{v: "5555555555554444", t: Card},
	{v: "john.doe@example.com", t: Email},
	{v: "078-05-1120", t: SSN},
	{v: "3782 822463 10005", t: Card},
	{v: "+44 20 7946 0958", t: Phone},
	{v: "(415) 555-2671", t: Phone},
	{v: "(+45) 32 10 45 67", t: Phone},
	{v: "+44 (0)161 496 0123", t: Phone},
	{v: "+49 171/2345678", t: Phone},
	{v: "0044 20 7946 0958", t: Phone},
	{v: "+1 212 555 0187 ext. 12", t: Phone},
	{v: "212.555.0187x42", t: Phone},
	{v: "10.20.30.40", t: IPv4},
	{v: "2001:db8::8a2e:370:7334", t: IPv6},
	{v: "GB82 WEST 1234 5698 7654 32", t: IBAN},
	{v: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", t: JWT},
	{v: "Bearer mF_9.B5f-4.1JqM", t: Bearer, scheme: len("Bearer ")},
	{v: "Basic dXNlcjpwYXNzd29yZA==", t: BasicAuth, scheme: len("Basic ")},
	{v: "AKIAIOSFODNN7EXAMPLE", t: AWSKey},
	{v: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----", t: PrivateKey},
	{v: "jane%40example.com", t: Email},
	{v: `jane\u0040example.com`, t: Email},
	{v: "jane&#64;example&period;com", t: Email},
	{v: "ZXlKaGJHY2lPaUpJVXpJMU5pSjkuZXlKemRXSWlPaUl4TWpNME5UWTNPRGt3SW4wLmRvempnTnJ5UDRKM2pWbU5IbDB3NU5fWGdMMG4zSTlQbEZVUDBUSHNSOFU=", t: JWT},
	{v: "postgres://app:s3cret@db", t: Credential, scheme: len("postgres://app:"), tail: len("@db")},
	{v: "Authorization: Token abc123", t: Credential, scheme: len("Authorization: Token ")},
	{v: "--password hunter2", t: Credential, scheme: len("--password ")},
	{v: "password=hunter2", t: SensitiveKey, scheme: len("password=")},
	{v: `"token": "tok-9f8e7d6c"`, t: SensitiveKey, scheme: len(`"token": "`), tail: 1},
	{v: "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", t: JWT},
}

func addScanSeeds(f *testing.F) {
	for _, v := range append(append([]string{}, determinismInputs...), cleanValues...) {
		f.Add(v, "", uint8(0))
	}
	f.Add("Bearer", "x", uint8(1))
	f.Add("+1", "2", uint8(0))
	f.Add("-----BEGIN PRIVATE KEY-----", "", uint8(2))
	f.Add("a@", "@b", uint8(2))
	f.Add("4111-", "-1", uint8(3))
	f.Add("email=jane%", "40example.com&x=%2", uint8(15))
	f.Add(`{"a":"\u00`, `40\ud83d\u"}`, uint8(16))
	f.Add("&#6", "4;&commat&#x;&nbsp;", uint8(17))
	f.Add("https://1%40example.com@", "host.example.net/", uint8(0))
	f.Add("ZXlK", "LS0tLS1CRUdJTi", uint8(18))
	f.Add("mysql -u root -p'", "' db", uint8(16))
	f.Add("curl -u 'a:", "' https://x", uint8(17))
	f.Add(`{"password":"`, `\"x"}`, uint8(18))
	f.Add("Authorization: Digest username=\"", "\", response=\"x\"", uint8(19))
	f.Add("https://u:p@h password=", "&x=1", uint8(20))
	f.Add("aws_secret_key => '", "'", uint8(21))
	f.Add("tel+45", "32104567", uint8(6))
	f.Add("call415-555-", "0199 x", uint8(7))
	f.Add("mobile 139", "12345678 #", uint8(8))
	f.Add("(+", ") (0)", uint8(9))
	f.Add("Telefon: 0", "/0 ext.", uint8(10))
}

// checkMatches asserts the Scan contract on ms for v.
func checkMatches(t *testing.T, v string, ms []Match, s *Scanner) {
	t.Helper()
	end := 0
	for i, m := range ms {
		if m.Start < end || m.Start >= m.End || m.End > len(v) {
			t.Fatalf("%q: match %d %+v out of order, empty or out of bounds in %v", v, i, m, ms)
		}
		end = m.End
		switch {
		case m.Type == Custom && (m.Custom < 0 || m.Custom >= len(s.custom)):
			t.Fatalf("%q: bad custom index in %+v", v, m)
		case m.Type != Custom && (m.Custom != -1 || !(AllBuiltin.Has(m.Type) || m.Type == SensitiveKey)):
			t.Fatalf("%q: bad type in %+v", v, m)
		}
	}
}

func FuzzScan(f *testing.F) {
	addScanSeeds(f)
	f.Fuzz(func(t *testing.T, a, b string, which uint8) {
		for _, v := range []string{a, a + b} {
			ms, truncated := fuzzScanner.Scan(v, nil)
			if truncated != (len(v) > fuzzScanner.maxScan) {
				t.Fatalf("truncated=%v for %d bytes", truncated, len(v))
			}
			checkMatches(t, v, ms, fuzzScanner)
		}
		p := planted[int(which)%len(planted)]
		v := a + " " + p.v + " " + b
		if len(v) > fuzzScanner.maxScan {
			return
		}
		ms, _ := fuzzScanner.Scan(v, nil)
		checkMatches(t, v, ms, fuzzScanner)
		start := len(a) + 1
		if covering(ms, Match{Start: start + p.scheme, End: start + len(p.v) - p.tail}) == nil {
			t.Fatalf("planted %s %q not covered in %q: %v", p.t, p.v, v, ms)
		}
	})
}

func FuzzScrubURL(f *testing.F) {
	for _, v := range []string{
		"https://user:pw@example.com/p?q=1&sig=x#f", "/x?e=john%40example.com&password=p",
		"a=b&c=d", "//host/path", "/x?%zz=%4&&=&", "https://[::1]:80/?X-Amz-Signature=abc#a=b",
		"/pay?cc=4111+1111+1111+1111", "http://@/?#", "?", "#", "=",
	} {
		f.Add(v)
	}
	act := func(t Type, _ int, s string) string { return "<" + t.String() + ">" }
	keep := func(_ Type, _ int, s string) string { return s }
	f.Add("https://15550001111%40example.com@host.example.net/p?e=a%2540b.io&j=\\u0040")
	f.Fuzz(func(t *testing.T, v string) {
		out, changed := ScrubURL(v, nil, fuzzScanner, act)
		if !changed && out != v {
			t.Fatalf("unchanged but different: %q -> %q", v, out)
		}
		if changed && out == v {
			t.Fatalf("changed but equal: %q", v)
		}
		// Keeping every match only leaves the structural rules (userinfo, signature params).
		kept, _ := ScrubURL(v, map[string]bool{}, fuzzScanner, keep)
		if strings.Contains(v, "@") {
			return // userinfo may still be redacted
		}
		if kept != v {
			t.Fatalf("keep changed %q -> %q", v, kept)
		}
	})
}

// referenceSensitive is a slow, allocating restatement of KeyMatcher.Sensitive for the
// default list, to fuzz the fast one against.
func referenceSensitive(k *KeyMatcher, key string) bool {
	var segs []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			segs = append(segs, strings.ToLower(string(cur)))
		}
		cur = cur[:0]
	}
	bs := []byte(key)
	for i, c := range bs {
		if strings.IndexByte(".-_/: \t[]@#$", c) >= 0 {
			flush()
			continue
		}
		if i > 0 && len(cur) > 0 {
			prev := bs[i-1]
			isL := func(b byte) bool { return b >= 'a' && b <= 'z' }
			isU := func(b byte) bool { return b >= 'A' && b <= 'Z' }
			isD := func(b byte) bool { return b >= '0' && b <= '9' }
			alnum := func(b byte) bool { return isL(b) || isU(b) || isD(b) }
			if isU(c) && (isL(prev) || isD(prev) || (isU(prev) && i+1 < len(bs) && isL(bs[i+1]))) {
				flush()
			} else if alnum(c) && alnum(prev) && isD(c) != isD(prev) {
				flush()
			}
		}
		cur = append(cur, rune(unicode.ToLower(rune(c))))
		if c >= 0x80 {
			cur[len(cur)-1] = rune(c) // bytes above ASCII are kept as they are
		}
	}
	flush()
	desc := func(i int) bool { return i < len(segs) && descriptors[segs[i]] }
	for p := range segs {
		for _, term := range k.terms {
			if p+len(term.segs) > len(segs) || desc(p+len(term.segs)) {
				continue
			}
			ok := true
			for x, s := range term.segs {
				ok = ok && segs[p+x] == s
			}
			if ok && term.header && (p == 0 || segs[p-1] != "header") {
				ok = false
			}
			if ok {
				return true
			}
		}
		for _, g := range k.glued {
			if len(segs[p]) > len(g) && strings.HasSuffix(segs[p], g) && !desc(p+1) {
				return true
			}
		}
	}
	return false
}

func FuzzKeyMatcher(f *testing.F) {
	for _, v := range []string{"user.password", "gen_ai.usage.input_tokens", "clientSecret", "APIKey",
		"http.request.header.auth", "token_count", "ÜberSecret", "x-API_key2", "a.b.c"} {
		f.Add(v)
	}
	k := NewKeyMatcher([]string{"user.email"}, nil)
	f.Fuzz(func(t *testing.T, key string) {
		// Bytes are compared raw, so compare on strings whose non-ASCII bytes map to themselves.
		key = strings.ToValidUTF8(key, "")
		if strings.IndexFunc(key, func(r rune) bool { return r >= 0x80 }) >= 0 {
			k.Sensitive(key) // must not panic
			return
		}
		if got, want := k.Sensitive(key), referenceSensitive(k, key); got != want {
			t.Fatalf("Sensitive(%q) = %v, reference %v (segments %q)", key, got, want, normalizeKeyString(key))
		}
	})
}

// FuzzIPv6 checks validIPv6 against net/netip on strings of IPv6 characters.
func FuzzIPv6(f *testing.F) {
	for _, v := range []string{"::1", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1::2::3",
		"12:34:56", "1:2:3:4:5:6:1.2.3.4", "::01.2.3.4", "fe80::", "1:2:3:4:5:6:7::"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if class[s[i]]&cIPv6 == 0 {
				return
			}
		}
		addr, err := netip.ParseAddr(s)
		netipOK := err == nil && addr.Is6() && strings.ContainsFunc(s, func(r rune) bool { return r != ':' })
		if got := validIPv6(s); got != netipOK {
			t.Fatalf("validIPv6(%q) = %v, netip %v (%v)", s, got, netipOK, err)
		}
	})
}
