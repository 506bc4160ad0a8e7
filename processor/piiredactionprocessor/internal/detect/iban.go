package detect

// ibanLength holds the IBAN length per country (SWIFT IBAN registry); 0 means unknown.
var ibanLength = func() (t [26 * 26]uint8) {
	for _, c := range []struct {
		cc string
		n  uint8
	}{
		{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
		{"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
		{"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
		{"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
		{"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
		{"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
		{"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
		{"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
		{"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
		{"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
		{"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
		{"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
		{"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
	} {
		t[int(c.cc[0]-'A')*26+int(c.cc[1]-'A')] = c.n
	}
	return t
}()

func isUpperOrDigit(c byte) bool { return class[c]&(cUpper|cDigit) != 0 }

// iban accepts, at the word v[i:j], a country code, two check digits and the country's
// length of upper-case letters and digits, written compactly or in groups of four separated
// by single spaces, dashes or dots (one kind throughout), whose mod-97 check is 1.
func iban(v string, i, j int, dst []Match) []Match {
	if !isUpper(v[i+1]) || !isDigit(v[i+2]) || !isDigit(v[i+3]) {
		return dst
	}
	n := int(ibanLength[int(v[i]-'A')*26+int(v[i+1]-'A')])
	if n == 0 || joinedLeft(v, i) {
		return dst
	}
	e := j
	switch {
	case j-i == n:
		for p := i + 4; p < j; p++ {
			if !isUpperOrDigit(v[p]) {
				return dst
			}
		}
	case j-i == 4 && j < len(v) && (v[j] == ' ' || v[j] == '-' || v[j] == '.'):
		count, p, sep := 4, j, v[j]
		for count < n {
			if p+1 >= len(v) || v[p] != sep {
				return dst
			}
			q := p + 1
			for q < len(v) && q-p <= 4 && isUpperOrDigit(v[q]) {
				q++
			}
			size := q - p - 1
			count += size
			if size == 0 || count > n || (size < 4 && count != n) {
				return dst
			}
			p = q
		}
		e = p
	default:
		return dst
	}
	if joinedRight(v, e) || !ibanChecksum(v, i, e) {
		return dst
	}
	return append(dst, Match{Start: i, End: e, Type: IBAN, Custom: -1})
}

// ibanChecksum computes ISO 7064 mod 97-10 over v[a:e] (separators skipped) with the first four
// characters moved to the end and letters counted as 10-35.
func ibanChecksum(v string, a, e int) bool {
	r := 0
	for p := a + 4; p < e; p++ {
		if isUpperOrDigit(v[p]) {
			r = mod97(r, v[p])
		}
	}
	for p := a; p < a+4; p++ {
		r = mod97(r, v[p])
	}
	return r == 1
}

func mod97(r int, c byte) int {
	if isDigit(c) {
		return (r*10 + int(c-'0')) % 97
	}
	return (r*100 + int(c-'A') + 10) % 97
}
