package detect

// Detectors that start at a word made only of digits (found by scanBuiltin, filtered by
// mayStartNumber): card, SSN, phone, IPv4.

const numericTypes = TypeSet(1<<Card | 1<<SSN | 1<<Phone | 1<<IPv4)

// maxGroups bounds the digit groups collected from one start: enough for a 19-digit card in
// groups of four, or "+33 1 23 45 67 89".
const maxGroups = 8

// groups is a run of digit groups separated by single ' ', '-' or '.', starting at a word.
// Group k spans v[start(k):end[k]]; separators are one byte, so only the ends are kept (a
// small struct is cheap to zero, and this runs for every number worth a look).
type groups struct {
	n      int
	digits int // in all n groups
	first  int // start of group 0
	end    [maxGroups]int32
	sep    [maxGroups]byte // sep[k] is the byte before group k; sep[0] is 0
}

// collect gathers groups from the digit word v[i:j]. It stops at a group glued to letters
// ("02T03"), after maxGroups groups, or once the groups hold more than 19 digits, since no
// detector spans more.
func (g *groups) collect(v string, i, j int) {
	g.n, g.digits, g.first = 1, j-i, i
	g.end[0], g.sep[0] = int32(j), 0
	for p := j; g.n < maxGroups && g.digits <= 19; {
		if p+1 >= len(v) || !isDigit(v[p+1]) {
			return
		}
		c := v[p]
		if c != ' ' && c != '-' && c != '.' {
			return
		}
		q := p + 1
		for q < len(v) && isDigit(v[q]) {
			q++
		}
		if q < len(v) && isWord(v[q]) {
			return
		}
		g.end[g.n], g.sep[g.n] = int32(q), c
		g.digits += q - p - 1
		g.n++
		p = q
	}
}

func (g *groups) start(k int) int {
	if k == 0 {
		return g.first
	}
	return int(g.end[k-1]) + 1
}

func (g *groups) stop(k int) int { return int(g.end[k]) }

func (g *groups) size(k int) int { return g.stop(k) - g.start(k) }

// sameSep reports whether groups 1..k are all preceded by the same separator.
func (g *groups) sameSep(k int) bool {
	for x := 2; x <= k; x++ {
		if g.sep[x] != g.sep[1] {
			return false
		}
	}
	return true
}

// numeric runs the digit detectors at the word v[i:j], which is all digits and passed
// mayStartNumber.
func (s *Scanner) numeric(v string, i, j int, dst []Match) []Match {
	ts := s.types
	if ts&numericTypes == 0 {
		return dst
	}
	if ts.Has(Phone) {
		dst = s.phone(v, i, j, false, dst)
	}
	var g groups
	g.collect(v, i, j)
	if ts.Has(Card) && g.digits >= 13 {
		dst = card(v, &g, dst)
	}
	if g.n < 3 {
		return dst
	}
	if ts.Has(SSN) {
		dst = ssn(v, &g, dst)
	}
	if ts.Has(IPv4) {
		dst = ipv4(v, &g, dst)
	}
	return dst
}

// card accepts the longest prefix of the groups that has 13 to 19 digits, one kind of
// separator (space or dash), passes Luhn and matches an issuer's prefix and length.
func card(v string, g *groups, dst []Match) []Match {
	// Every issuer's prefix starts with 2-6; this rejects millisecond timestamps at once.
	if first := v[g.start(0)]; first < '2' || first > '6' || joinedLeft(v, g.start(0)) {
		return dst
	}
	best, digits := -1, 0
	for k := 0; k < g.n; k++ {
		digits += g.size(k)
		if digits > 19 {
			break
		}
		if k > 0 && (g.sep[k] == '.' || g.sep[k] != g.sep[1]) {
			break
		}
		// Grouped numbers come in groups of 3 to 6 (4-4-4-4, 4-6-5, 4-6-4); only the last
		// group of a 17-19 digit number may be shorter.
		if k > 0 && (g.size(k-1) < 3 || g.size(k-1) > 6 || g.size(k) > 6) {
			break
		}
		if digits < 13 {
			continue
		}
		// Digits continuing with a dash or dot belong to a longer token; a space may be
		// followed by anything (an expiry date, a CVV).
		if joinedRight(v, g.stop(k)) {
			continue
		}
		if cardIssuer(leadingDigits(v, g.start(0), g.stop(k), 4), digits) && luhn(v, g.start(0), g.stop(k)) {
			best = k
		}
	}
	if best < 0 {
		return dst
	}
	return append(dst, Match{Start: g.start(0), End: g.stop(best), Type: Card, Custom: -1})
}

// luhn checks the Luhn digit over the digits of v[a:b], skipping separators.
func luhn(v string, a, b int) bool {
	sum, double := 0, false
	for p := b - 1; p >= a; p-- {
		c := v[p]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// leadingDigits returns the first n digits of v[a:b] as a number.
func leadingDigits(v string, a, b, n int) int {
	x := 0
	for p := a; p < b && n > 0; p++ {
		if isDigit(v[p]) {
			x = x*10 + int(v[p]-'0')
			n--
		}
	}
	return x
}

// cardIssuer checks the issuer identification number (first four digits) against the
// length. Luhn alone accepts one random number in ten, and every millisecond timestamp of
// this century starts with 1, which no issuer uses.
func cardIssuer(iin4, length int) bool {
	iin1, iin2, iin3 := iin4/1000, iin4/100, iin4/10
	switch {
	case iin1 == 4: // Visa
		return length == 13 || length == 16 || length == 19
	case iin2 >= 51 && iin2 <= 55, iin4 >= 2221 && iin4 <= 2720: // Mastercard
		return length == 16
	case iin2 == 34 || iin2 == 37: // American Express
		return length == 15
	case iin4 >= 3528 && iin4 <= 3589: // JCB
		return length >= 16 && length <= 19
	case iin3 >= 300 && iin3 <= 305, iin2 == 36, iin2 == 38, iin2 == 39: // Diners Club
		return length >= 14 && length <= 19
	case iin2 == 50, iin2 >= 56 && iin2 <= 69:
		// Maestro; the range also holds Discover (6011, 644-649, 65) and UnionPay (62), whose
		// 16-19 digits it accepts.
		return length >= 13 && length <= 19
	}
	return false
}

// ssn accepts ddd-dd-dddd (or with spaces) with a valid area, group and serial.
func ssn(v string, g *groups, dst []Match) []Match {
	if g.size(0) != 3 || g.size(1) != 2 || g.size(2) != 4 || !g.sameSep(2) {
		return dst
	}
	sep := g.sep[1]
	if sep != '-' && sep != ' ' {
		return dst
	}
	a, e := g.start(0), g.stop(2)
	if joinedLeft(v, a) || joinedRight(v, e) {
		return dst
	}
	if sep == ' ' && (spaceDigitLeft(v, a) || spaceDigitRight(v, e)) {
		return dst
	}
	area := leadingDigits(v, g.start(0), g.stop(0), 3)
	group := leadingDigits(v, g.start(1), g.stop(1), 2)
	serial := leadingDigits(v, g.start(2), g.stop(2), 4)
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return dst
	}
	return append(dst, Match{Start: a, End: e, Type: SSN, Custom: -1})
}

// ipv4 accepts four dot-separated octets 0-255 without leading zeros, not followed by a
// fifth (a version such as 1.2.3.4.5).
func ipv4(v string, g *groups, dst []Match) []Match {
	if g.n < 4 || g.sep[1] != '.' || !g.sameSep(3) || (g.n > 4 && g.sep[4] == '.') {
		return dst
	}
	for k := range 4 {
		if !octet(v[g.start(k):g.stop(k)]) {
			return dst
		}
	}
	a, e := g.start(0), g.stop(3)
	if joinedLeft(v, a) || joinedRight(v, e) {
		return dst
	}
	return append(dst, Match{Start: a, End: e, Type: IPv4, Custom: -1})
}

// octet reports whether s is a decimal 0-255 without a leading zero.
func octet(s string) bool {
	if len(s) == 0 || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 255
}
