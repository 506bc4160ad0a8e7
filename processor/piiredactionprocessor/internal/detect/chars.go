package detect

// Byte classes. One table lookup answers "can this byte be part of X" for every detector.
const (
	cDigit   uint16 = 1 << iota
	cUpper          // A-Z
	cLower          // a-z
	cHex            // 0-9 A-F a-f
	cWord           // A-Z a-z 0-9 _ : what a "word" is for boundaries
	cLocal          // e-mail local part: A-Z a-z 0-9 . _ + -
	cDomain         // host name: A-Z a-z 0-9 . -
	cB64URL         // base64url: A-Z a-z 0-9 - _
	cB64Std         // base64: A-Z a-z 0-9 + /
	cToken68        // RFC 7235 token68 without the '=' padding: A-Z a-z 0-9 - . _ ~ + /
	cIPv6           // hex digits, ':' and '.' (embedded IPv4)
)

var class = func() (t [256]uint16) {
	set := func(chars string, c uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const (
		digits = "0123456789"
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower  = "abcdefghijklmnopqrstuvwxyz"
		alnum  = digits + upper + lower
		hex    = digits + "ABCDEFabcdef"
	)
	set(digits, cDigit)
	set(upper, cUpper)
	set(lower, cLower)
	set(hex, cHex|cIPv6)
	set(":.", cIPv6)
	set(alnum+"_", cWord)
	set(alnum+"._+-", cLocal)
	set(alnum+".-", cDomain)
	set(alnum+"-_", cB64URL)
	set(alnum+"+/", cB64Std)
	set(alnum+"-._~+/", cToken68)
	return t
}()

func isDigit(c byte) bool { return c-'0' < 10 }

func isUpper(c byte) bool { return c-'A' < 26 }

func isWord(c byte) bool { return class[c]&cWord != 0 }

// lower folds an ASCII letter to lower case and leaves every other byte alone.
func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// joinedLeft reports whether a candidate starting at a is glued to what precedes it: a word
// byte, or '-' / '.' right after a word byte ("ORD-2026-...", "v1.2.3", "1.2.3.4.5").
func joinedLeft(v string, a int) bool {
	if a == 0 {
		return false
	}
	c := v[a-1]
	if isWord(c) {
		return true
	}
	return (c == '-' || c == '.') && a >= 2 && isWord(v[a-2])
}

// joinedRight is joinedLeft for a candidate ending at e.
func joinedRight(v string, e int) bool {
	if e >= len(v) {
		return false
	}
	c := v[e]
	if isWord(c) {
		return true
	}
	return (c == '-' || c == '.') && e+1 < len(v) && isWord(v[e+1])
}

// spaceDigitLeft reports "<digit> <candidate>": a space-separated candidate that is really
// part of a longer list of numbers.
func spaceDigitLeft(v string, a int) bool {
	return a >= 2 && v[a-1] == ' ' && isDigit(v[a-2])
}

// spaceDigitRight reports "<candidate> <digit>".
func spaceDigitRight(v string, e int) bool {
	return e+1 < len(v) && v[e] == ' ' && isDigit(v[e+1])
}

// hasPrefixFold reports whether s starts with prefix, ASCII case-insensitively; prefix must
// be lower case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}
