package detect

import "strings"

// Secrets written into free text, found at the ':' or '=' after their key and at the '-' of
// a command-line flag:
//   - the password of a URL's userinfo ("postgres://app:s3cret@db"): only the password is
//     reported, so that the line keeps its user and host (ScrubURL, for URL attributes,
//     replaces both as the semantic conventions ask);
//   - the credentials after an Authorization or Proxy-Authorization header, any scheme, the
//     scheme word kept;
//   - command-line passwords: curl -u user:password, --password=..., --password ...,
//     mysql -p...;
//   - the value after a sensitive key ("password=...", "\"token\": \"...\"", "secret: ...",
//     "passwd => ..."), decided by the same KeyMatcher as attribute keys, as SensitiveKey.

const (
	maxTextKey   = 64   // bytes of a key looked back over
	maxTextValue = 1024 // bytes of a quoted value looked ahead over; a longer one is left alone
	maxBareValue = 512  // the same for a value without quotes
)

// textScan carries what one Scan has learnt of v from one trigger to the next: no byte of
// v[from:end] ends a bare value, and no command of set c starts in v[noCmd[c][0]:noCmd[c][1]].
// So the bytes before and after nearby triggers are not looked over again and again: the
// work stays linear.
type textScan struct {
	from, end int
	noCmd     [2][2]int
}

// Command sets for afterCommand.
var (
	curlCommands  = []string{"curl"}
	mysqlCommands = []string{"mysql", "mariadb"}
)

const maxCommandLen = len("mariadb")

// atSeparator handles the ':' or '=' at i.
func (s *Scanner) atSeparator(v string, i int, dst []Match, st *textScan) []Match {
	cred := s.types.Has(Credential)
	sepEnd := i + 1
	if v[i] == ':' {
		if strings.HasPrefix(v[i+1:], "//") {
			if cred {
				dst = urlPassword(v, i, dst)
			}
			return dst
		}
		if sepEnd < len(v) && (v[sepEnd] == ':' || (isDigit(v[sepEnd]) && i > 0 && isDigit(v[i-1]))) {
			return dst // "::", a time "03:04:05" or a "host1:8080"
		}
		if cred && sepEnd < len(v) && v[sepEnd] > ' ' {
			dst = cliUserPassword(v, i, dst, st)
		}
	} else {
		if sepEnd < len(v) && v[sepEnd] == '>' {
			sepEnd++ // "=>"
		} else if sepEnd < len(v) && v[sepEnd] == '=' {
			return dst // "=="
		} else if i > 0 {
			switch v[i-1] {
			case '=', '!', '<', '>':
				return dst // a comparison: "==", "!=", "<=", ">="
			}
		}
	}
	if !cred && s.keys == nil {
		return dst
	}
	k, ok := keyBefore(v, i)
	if !ok {
		return dst
	}
	a := sepEnd
	for a < len(v) && a-sepEnd < 4 && (v[a] == ' ' || v[a] == '\t') {
		a++
	}
	if v[i] == ':' && k.quote == 0 && a == sepEnd && quoteAt(v, a) == 0 {
		return dst // "host:port", "image:tag", "urn:x:y": a key's colon is followed by a space
	}
	if v[i] == '=' && sepEnd == i+1 && a > sepEnd && (i == 0 || v[i-1] != ' ') {
		return dst // "password= next": an empty value; "key = value" has spaces on both sides
	}
	if k.quote == 0 && k.dashes > 0 {
		if cred && flagTakesSecret(k.name) && s.flagKeys.Sensitive(k.name) {
			if m, ok := textValue(v, a, false, Credential, st); ok {
				dst = append(dst, m)
			}
		}
		return dst
	}
	if isAuthorizationKey(k.name) {
		if cred {
			if m, ok := authCredentials(v, a); ok {
				return append(dst, m)
			}
		}
		// A bare value under an Authorization key is a credential only if it looks like one:
		// "authorization: denied" is a log message.
		if m, ok := textValue(v, a, k.quote != 0, SensitiveKey, st); ok && s.keys != nil &&
			s.keys.Sensitive(k.name) && looksLikeCredential(v[m.Start:m.End]) {
			dst = append(dst, m)
		}
		return dst
	}
	if s.keys != nil && s.keys.sensitiveText(k.name) {
		if m, ok := textValue(v, a, k.quote != 0, SensitiveKey, st); ok {
			dst = append(dst, m)
		}
	}
	return dst
}

// textKey is the key before a separator.
type textKey struct {
	name   string // without quotes and leading dashes
	quote  int    // width of the quote around it: 0, 1 ("key", 'key') or 2 (\"key\")
	dashes int    // leading '-' of a command-line flag
}

// keyBefore finds the key that ends before the separator at i: a run of [A-Za-z0-9_.-]
// (quoted or not, up to four spaces before the separator) that starts after a byte that
// cannot continue it, and holds a letter.
func keyBefore(v string, i int) (textKey, bool) {
	var k textKey
	e := i
	for e > 0 && i-e < 4 && (v[e-1] == ' ' || v[e-1] == '\t') {
		e--
	}
	var q byte
	if e > 0 && (v[e-1] == '"' || v[e-1] == '\'') {
		q, k.quote = v[e-1], 1
		if e > 1 && v[e-2] == '\\' {
			k.quote = 2
		}
		e -= k.quote
	}
	b := e
	letter := false
	for b > 0 && e-b < maxTextKey && isKeyByte(v[b-1]) {
		b--
		letter = letter || class[v[b]]&(cUpper|cLower) != 0
	}
	if b == e || !letter || (b > 0 && isKeyByte(v[b-1])) {
		return k, false
	}
	if k.quote > 0 {
		if b < k.quote || v[b-1] != q || (k.quote == 2 && v[b-2] != '\\') {
			return k, false
		}
	} else if b > 0 {
		switch v[b-1] {
		case '/', '@':
			return k, false // a path or userinfo: "/v1/token:", "user@secret:"
		case ':':
			if b >= 2 && isKeyByte(v[b-2]) {
				return k, false // a longer name: "vault:secret:"; ":password =>" is Ruby
			}
		case '\\':
			// A JSON-escaped control byte before the key: "\npassword=".
			if c := v[b]; c == 'n' || c == 'r' || c == 't' {
				b++
			}
		}
	}
	for b < e && v[b] == '-' && k.quote == 0 {
		b++
		k.dashes++
	}
	if k.dashes > 2 || e-b < 2 {
		return k, false
	}
	k.name = v[b:e]
	return k, true
}

func isKeyByte(c byte) bool { return isWord(c) || c == '-' || c == '.' }

// quoteAt returns the width of the quote that opens at a: 1 for a double or single quote,
// 2 for the JSON-escaped \", else 0.
func quoteAt(v string, a int) int {
	switch {
	case a >= len(v):
		return 0
	case v[a] == '"' || v[a] == '\'':
		return 1
	case v[a] == '\\' && a+1 < len(v) && v[a+1] == '"':
		return 2
	}
	return 0
}

// quotedEnd returns the end of the quoted text that starts after the quote of width w at
// a-w (the closing quote's start), skipping backslash escapes; false if the quote does not
// close on the same line within maxTextValue bytes. With w 2 the text is JSON inside a JSON
// string: \\ is the inner text's backslash, so \\\" is a quote inside the value.
func quotedEnd(v string, a, w int) (int, bool) {
	q := v[a-1]
	innerEscape := false
	for p := a; p < len(v) && p-a <= maxTextValue; p++ {
		c := v[p]
		switch {
		case c == '\n' || c == '\r':
			return 0, false
		case c == q && w == 1:
			return p, true
		case c != '\\':
			innerEscape = false
			continue
		case p+1 >= len(v):
			return 0, false
		}
		p++ // an escaped byte
		if w == 2 {
			switch v[p] {
			case '"':
				if !innerEscape {
					return p - 1, true
				}
				innerEscape = false
			case '\\':
				innerEscape = !innerEscape
			default:
				innerEscape = false
			}
		}
	}
	return 0, false
}

// textValue takes the value that starts at a: quoted (to its closing quote) or, unless the
// key was quoted (JSON: a number, object or null is not a secret, and redacting it would
// break the document), up to white space, '&', ';', ',', a quote, a closing bracket or a
// JSON escape. Empty values, placeholders (null, ***, ${VAR}) and tokens left by an earlier
// redaction are refused.
func textValue(v string, a int, keyQuoted bool, t Type, st *textScan) (Match, bool) {
	b := a
	if w := quoteAt(v, a); w > 0 {
		a += w
		var ok bool
		if b, ok = quotedEnd(v, a, w); !ok {
			return Match{}, false
		}
	} else {
		if keyQuoted {
			return Match{}, false
		}
		if st.from <= a && a < st.end {
			b = st.end
		}
		for b < len(v) && b-a <= maxBareValue && !endsTextValue(v, b) {
			b++
		}
		st.from, st.end = a, b
		if b-a > maxBareValue {
			return Match{}, false
		}
	}
	if !isSecretValue(v[a:b]) {
		return Match{}, false
	}
	return Match{Start: a, End: b, Type: t, Custom: -1}, true
}

// endsTextValue reports whether an unquoted value ends at v[b].
func endsTextValue(v string, b int) bool {
	switch c := v[b]; {
	case !bareValueEnd[c]:
		return false
	case c == '\\':
		// A JSON escape of a quote or white space ends it: "msg":"password=x\nnext".
		return b+1 < len(v) && strings.IndexByte(`nrt"'`, v[b+1]) >= 0
	}
	return true
}

// bareValueEnd marks the bytes that end an unquoted value, and '\\' that may.
var bareValueEnd = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c <= ' ' || c == 0x7f || strings.IndexByte("&;,\"'`)]}<>\\", byte(c)) >= 0
	}
	return t
}()

// placeholders are values that stand for no secret.
var placeholders = []string{"null", "nil", "none", "true", "false", "undefined", "redacted",
	"<redacted>", "[redacted]", "hidden", "masked", "empty"}

// isSecretValue refuses what is not a secret: no letter or digit ("", "***", "|"),
// placeholders, templates ("${DB_PASSWORD}", "{{ .token }}") and earlier replacements
// ("[REDACTED:...]", "[HASH:...]", "REDACTED", masks).
func isSecretValue(s string) bool {
	if s == "" || strings.Contains(s, "***") || strings.HasPrefix(s, "${") || strings.HasPrefix(s, "{{") ||
		strings.HasPrefix(s, "[REDACTED") || strings.HasPrefix(s, "[HASH:") || strings.HasPrefix(s, "REDACTED") {
		return false
	}
	for _, p := range placeholders {
		if len(s) == len(p) && hasPrefixFold(s, p) {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if class[s[i]]&(cUpper|cLower|cDigit) != 0 {
			return true
		}
	}
	return false
}

// looksLikeCredential is the test for a bare value where prose could stand: at least 8
// bytes with a digit, punctuation or mixed case, as for Bearer tokens.
func looksLikeCredential(s string) bool {
	return len(s) >= 8 && notAWord(s)
}

// notAWord reports whether s has a digit, punctuation or mixed case: "abc123", not
// "expired".
func notAWord(s string) bool {
	var digit, punct, up, low bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digit = true
		case isUpper(c):
			up = true
		case class[c]&cLower != 0:
			low = true
		default:
			punct = true
		}
	}
	return digit || punct || (up && low)
}

// isAuthorizationKey reports a key that ends with the word "authorization":
// Authorization, Proxy-Authorization, http.request.header.authorization.
func isAuthorizationKey(k string) bool {
	const word = "authorization"
	n := len(k) - len(word)
	return n >= 0 && hasPrefixFold(k[n:], word) && (n == 0 || class[k[n-1]]&(cUpper|cLower) == 0)
}

// authSchemes are the HTTP authentication schemes whose credentials are taken unless they
// are a plain short word ("Token expired"); after another scheme word they must look like
// a credential.
var authSchemes = []string{"bearer", "basic", "digest", "token", "api-key", "apikey", "key",
	"negotiate", "ntlm", "hoba", "mutual", "oauth", "dpop", "gnap", "vapid", "scram-sha-1",
	"scram-sha-256", "aws4-hmac-sha256", "hmac-sha256", "sharedkey", "sharedkeylite",
	"sharedaccesssignature", "ssws", "splunk", "googlelogin", "privatetoken", "bot", "jwt", "sso"}

// authCredentials takes "<scheme> <credentials>" at a, after an Authorization key: a token68
// ("Token abc123") or a list of auth-params (Digest, AWS4-HMAC-SHA256). The span is the
// credentials; the scheme word stays.
func authCredentials(v string, a int) (Match, bool) {
	if w := quoteAt(v, a); w > 0 {
		a += w
	}
	p := a
	for p < len(v) && p-a <= 40 && (isWord(v[p]) || v[p] == '-' || v[p] == '.') {
		p++
	}
	if p-a < 2 || p-a > 40 || class[v[a]]&(cUpper|cLower) == 0 {
		return Match{}, false
	}
	known := false
	for _, sc := range authSchemes {
		if len(sc) == p-a && hasPrefixFold(v[a:p], sc) {
			known = true
			break
		}
	}
	b, ok := afterSpaces(v, p)
	if !ok {
		return Match{}, false
	}
	if end, n := authParams(v, b); n > 0 && (known || n >= 2) {
		return Match{Start: b, End: end, Type: Credential, Custom: -1}, true
	}
	e := b
	for e < len(v) && class[v[e]]&cToken68 != 0 {
		e++
	}
	for e < len(v) && v[e] == '=' {
		e++
	}
	cr := v[b:e]
	if e == b || (e < len(v) && !endsTextValue(v, e)) || !isSecretValue(cr) ||
		(known && len(cr) < 16 && !notAWord(cr)) || (!known && !looksLikeCredential(cr)) {
		return Match{}, false
	}
	return Match{Start: b, End: e, Type: Credential, Custom: -1}, true
}

// authParams parses the auth-params at b ("name=value, name=\"value\"") and returns where
// the last value ends and how many there were.
func authParams(v string, b int) (end, n int) {
	for p := b; ; {
		q := p
		for q < len(v) && q-p < 64 && (isWord(v[q]) || v[q] == '-' || v[q] == '.') {
			q++
		}
		if q == p || q >= len(v) || v[q] != '=' || (q+1 < len(v) && v[q+1] == '=') {
			return end, n
		}
		e := q + 1
		if w := quoteAt(v, e); w > 0 {
			var ok bool
			if e, ok = quotedEnd(v, e+w, w); !ok {
				return end, n
			}
			e += w
		} else {
			for e < len(v) && e-q <= maxTextValue && v[e] > ' ' && v[e] != ',' && v[e] != '"' && v[e] != '\'' && v[e] != '\\' {
				e++
			}
		}
		end, n = e, n+1
		for e < len(v) && v[e] == ' ' {
			e++
		}
		if e >= len(v) || v[e] != ',' {
			return end, n
		}
		e++
		for e < len(v) && v[e] == ' ' {
			e++
		}
		p = e
	}
}

// urlPassword takes the password of "scheme://user:password@host" where i is the ':' of
// "://". The user stays; a userinfo without ':' is a user name only ("ssh://git@host").
func urlPassword(v string, i int, dst []Match) []Match {
	sc := i
	for sc > 0 && i-sc < 32 && (class[v[sc-1]]&(cUpper|cLower|cDigit) != 0 || v[sc-1] == '+' || v[sc-1] == '-' || v[sc-1] == '.') {
		sc--
	}
	if sc == i || !isScheme(v[sc:i]) {
		return dst
	}
	a := i + 3
	at, colon := -1, -1
	for p := a; p < len(v) && p-a < 256; p++ {
		c := v[p]
		if c <= ' ' || c == 0x7f || strings.IndexByte("/?#\"'<>\\`{}|^[]", c) >= 0 {
			break
		}
		switch {
		case c == '@':
			at = p
		case c == ':' && colon < 0 && at < 0:
			colon = p
		}
	}
	if at < 0 || colon < 0 || colon > at || !isSecretValue(v[colon+1:at]) {
		return dst
	}
	return append(dst, Match{Start: colon + 1, End: at, Type: Credential, Custom: -1})
}

// cliUserPassword takes the password of curl's "-u user:password" (also -U, --user,
// --proxy-user), where i is the ':'. Short flags count after a curl command only, and a
// password of digits only is a group id ("docker run --user 1000:1000").
func cliUserPassword(v string, i int, dst []Match, st *textScan) []Match {
	u := i
	for u > 0 && i-u <= maxTextKey && !endsUser[v[u-1]] {
		u--
	}
	if u == i {
		return dst
	}
	w := 0
	if u > 0 && (v[u-1] == '"' || v[u-1] == '\'') {
		w = 1
	}
	f := u - w
	if f > 0 && v[f-1] == '=' {
		f-- // --user=name:password
	} else {
		sp := f
		for f > 0 && sp-f < 4 && v[f-1] == ' ' {
			f--
		}
		if f == sp {
			return dst
		}
	}
	flagStart := f
	for flagStart > 0 && v[flagStart-1] > ' ' {
		flagStart--
	}
	short := false
	switch v[flagStart:f] {
	case "-u", "-U":
		short = true
	case "--user", "--proxy-user":
	default:
		return dst
	}
	b := i + 1
	for b < len(v) && v[b] > ' ' && !(w > 0 && v[b] == v[u-1]) {
		b++
	}
	if w > 0 && (b >= len(v) || v[b] != v[u-1]) {
		return dst
	}
	pw := v[i+1 : b]
	if !isSecretValue(pw) || allDigits(pw) && !short {
		return dst
	}
	if short && !afterCommand(v, flagStart, 0, st) {
		return dst
	}
	return append(dst, Match{Start: i + 1, End: b, Type: Credential, Custom: -1})
}

// afterURLPassword reports whether the '@' at i ends the userinfo of a URL with a password
// ("https://user:pw@host"): what precedes it there is a credential, not an e-mail's local
// part.
func afterURLPassword(v string, i int) bool {
	colon := false
	for p := i - 1; p >= 0 && i-p <= 256; p-- {
		switch c := v[p]; {
		case c == '/':
			return colon && p >= 2 && v[p-1] == '/' && v[p-2] == ':'
		case c == ':':
			colon = true
		case c <= ' ' || c == 0x7f || strings.IndexByte("@?#\"'<>\\`{}|^[]", c) >= 0:
			// Stopping at the '@' before keeps "a@a@a@..." linear.
			return false
		}
	}
	return false
}

// endsUser marks the bytes before the user of "-u user:password".
var endsUser = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c <= ' ' || c == 0x7f || strings.IndexByte(`"'=:@`, byte(c)) >= 0
	}
	return t
}()

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// afterCommand reports whether a command of set (curlCommands, mysqlCommands) starts a
// word in the 256 bytes of the line before i.
func afterCommand(v string, i, set int, st *textScan) bool {
	cmds := curlCommands
	if set == 1 {
		cmds = mysqlCommands
	}
	known := &st.noCmd[set]
	p := i - 1
	for ; p >= 0 && i-p <= 256 && v[p] != '\n'; p-- {
		if p < known[1] && p >= known[0] {
			p = known[0] // looked over before: none there
			continue
		}
		if p > 0 && isWord(v[p-1]) {
			continue
		}
		for _, c := range cmds {
			if v[p] == c[0] && strings.HasPrefix(v[p:i], c) {
				return true
			}
		}
	}
	// None starts in v[p+1:i]; one that starts in the last few bytes could still be
	// completed by what follows.
	known[0], known[1] = p+1, max(p+1, i-maxCommandLen)
	return false
}

// flagSecretSuffixes end the names of flags that take a credential as their next argument,
// compared without '-' and '_': --password, --db-password, --api-key, --token.
var flagSecretSuffixes = []string{"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey"}

// atDash handles a '-' at a word start: "--password <value>" (a long flag naming a
// credential, the value its next argument) and mysql's "-p<password>".
func (s *Scanner) atDash(v string, i int, dst []Match, st *textScan) []Match {
	n := i + 1
	if n < len(v) && v[n] == '-' {
		n++
	}
	if n >= len(v) || class[v[n]]&(cUpper|cLower) == 0 {
		return dst
	}
	e := n
	for e < len(v) && e-n <= maxTextKey && (isWord(v[e]) || v[e] == '-') {
		e++
	}
	if n == i+1 && v[n] == 'p' && n+1 < len(v) && v[n+1] > ' ' && v[n+1] != '-' && v[n+1] != '=' &&
		afterCommand(v, i, 1, st) {
		return mysqlPassword(v, i, dst, st)
	}
	if e >= len(v) || v[e] != ' ' || !flagTakesSecret(v[n:e]) || !s.flagKeys.Sensitive(v[n:e]) {
		return dst
	}
	a := e
	for a < len(v) && a-e < 4 && v[a] == ' ' {
		a++
	}
	if a >= len(v) || v[a] == '-' {
		return dst // a boolean flag before the next one: "--password-stdin --username x"
	}
	if m, ok := textValue(v, a, false, Credential, st); ok {
		dst = append(dst, m)
	}
	return dst
}

// flagTakesSecret reports whether the flag name ends with a credential's name.
func flagTakesSecret(name string) bool {
	var buf [maxTextKey + 1]byte
	n := 0
	for i := 0; i < len(name) && n < len(buf); i++ {
		if c := name[i]; c != '-' && c != '_' {
			buf[n] = lower(c)
			n++
		}
	}
	for _, suf := range flagSecretSuffixes {
		if n >= len(suf) && string(buf[n-len(suf):n]) == suf {
			return true
		}
	}
	return false
}

// mysqlPassword takes the password glued to "-p" at i, on a line with a MySQL or MariaDB
// client command ("mysql -u root -phunter2", "mysqldump -p'hunter2'"); elsewhere -p is a
// port or a path.
func mysqlPassword(v string, i int, dst []Match, st *textScan) []Match {
	if m, ok := textValue(v, i+2, false, Credential, st); ok {
		dst = append(dst, m)
	}
	return dst
}
