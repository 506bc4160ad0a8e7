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
	var prev byte
	if i > 0 {
		prev = v[i-1]
	}
	if ts.Has(Phone) {
		switch prev {
		case '+':
			dst = intlPhone(v, i, dst)
		case '(':
			dst = nanpParen(v, i, j, dst)
		}
	}
	var g groups
	g.collect(v, i, j)
	if ts.Has(Card) && (g.digits >= 12 || g.n == 1) {
		dst = card(v, i, j, dst) // g.n == 1: maybe groups with doubled separators
	}
	if ts.Has(SSN) && j-i == 9 {
		dst = ssnUndashed(v, i, j, dst)
	}
	if g.n < 3 {
		return dst
	}
	if ts.Has(SSN) {
		dst = ssn(v, &g, dst)
	}
	if ts.Has(Phone) {
		dst = nanp(v, &g, dst)
	}
	if ts.Has(IPv4) {
		dst = ipv4(v, &g, dst)
	}
	return dst
}

// nanp accepts North American numbers written 415-555-0132, 415.555.0132, 415 555 0132 and
// with a leading 1 in the same style. Ten bare digits are not enough: too many ids look so.
func nanp(v string, g *groups, dst []Match) []Match {
	off := 0
	switch {
	case g.n >= 4 && g.size(0) == 1 && v[g.start(0)] == '1' &&
		g.size(1) == 3 && g.size(2) == 3 && g.size(3) == 4:
		off = 1
	case g.size(0) == 3 && g.size(1) == 3 && g.size(2) == 4:
	default:
		return dst
	}
	last := off + 2
	if !g.sameSep(last) {
		return dst
	}
	a, e := g.start(0), g.stop(last)
	if a > 0 && v[a-1] == '+' {
		return dst // intlPhone's
	}
	if joinedLeft(v, a) || joinedRight(v, e) {
		return dst
	}
	if g.sep[1] == ' ' && (spaceDigitLeft(v, a) || spaceDigitRight(v, e)) {
		return dst
	}
	// Area code and exchange start with 2-9.
	if v[g.start(off)] < '2' || v[g.start(off+1)] < '2' {
		return dst
	}
	return append(dst, Match{Start: a, End: e, Type: Phone, Custom: -1})
}

// nanpParen accepts (415) 555-0132, (415)555-0132 and (415) 555 0132, starting at the word
// "415" right after '('.
func nanpParen(v string, i, j int, dst []Match) []Match {
	a := i - 1
	if j-i != 3 || j >= len(v) || v[j] != ')' || (a > 0 && isWord(v[a-1])) || v[i] < '2' {
		return dst
	}
	p := j + 1
	if p < len(v) && v[p] == ' ' {
		p++
	}
	if !digitsAt(v, p, 3) || v[p] < '2' || p+3 >= len(v) {
		return dst
	}
	if sep := v[p+3]; sep != '-' && sep != ' ' && sep != '.' {
		return dst
	}
	e := p + 8
	if !digitsAt(v, p+4, 4) || (e < len(v) && isDigit(v[e])) || joinedRight(v, e) {
		return dst
	}
	return append(dst, Match{Start: a, End: e, Type: Phone, Custom: -1})
}

// digitsAt reports whether v[p:p+n] is n digits.
func digitsAt(v string, p, n int) bool {
	if p+n > len(v) {
		return false
	}
	for k := p; k < p+n; k++ {
		if !isDigit(v[k]) {
			return false
		}
	}
	return true
}

// intlPhone accepts E.164-style numbers: '+', a country code, then groups separated by
// single spaces, dashes or dots (one group may be in parentheses), 8 to 15 digits in all;
// at least 10 when written without separators. It starts at the first digit, after '+'.
// Digits that go on past 15 are a longer number, unless a space ends the phone before them
// ("+1 415 555 0132 2").
func intlPhone(v string, i int, dst []Match) []Match {
	a := i - 1
	if v[i] == '0' || (a > 0 && isWord(v[a-1])) {
		return dst
	}
	type boundary struct {
		end, digits int
		space       bool // a space and another group follow
	}
	var bs [maxGroups]boundary
	nb, digits, p, overflow := 0, 0, i, false
	for nb < len(bs) {
		q := p
		for q < len(v) && isDigit(v[q]) {
			q++
		}
		digits += q - p
		if digits > 15 {
			overflow = true
			break
		}
		bs[nb] = boundary{end: q, digits: digits}
		nb++
		if q+1 >= len(v) {
			break
		}
		if c := v[q]; (c == ' ' || c == '-' || c == '.') && isDigit(v[q+1]) {
			bs[nb-1].space = c == ' '
			p = q + 1
			continue
		}
		// An area code in parentheses: "+44 (20) 7946 0958", "+1 (415) 555-0132".
		r := q
		if v[r] == ' ' {
			r++
		}
		if r < len(v) && v[r] == '(' {
			s := r + 1
			for s < len(v) && isDigit(v[s]) && s-r <= 5 {
				s++
			}
			if n := s - r - 1; n >= 1 && n <= 4 && s+2 < len(v) && v[s] == ')' &&
				(v[s+1] == ' ' || v[s+1] == '-') && isDigit(v[s+2]) {
				bs[nb-1].space = r > q
				digits += n
				p = s + 2
				continue
			}
		}
		break
	}
	if nb == len(bs) && bs[nb-1].space {
		overflow = true // more groups than collected
	}
	for x := nb - 1; x >= 0; x-- {
		b := bs[x]
		if (x < nb-1 || overflow) && !b.space {
			continue
		}
		if b.digits < 8 || (x == 0 && b.digits < 10) || joinedRight(v, b.end) {
			continue
		}
		// North America: 1 + area code + exchange + line; codes start with 2-9.
		if v[i] == '1' && (b.digits != 11 || nthDigit(v, i, b.end, 1) < '2' || nthDigit(v, i, b.end, 4) < '2') {
			continue
		}
		return append(dst, Match{Start: a, End: b.end, Type: Phone, Custom: -1})
	}
	return dst
}

// nthDigit returns the n-th (from 0) digit of v[a:b], or 0.
func nthDigit(v string, a, b, n int) byte {
	for p := a; p < b; p++ {
		if isDigit(v[p]) {
			if n == 0 {
				return v[p]
			}
			n--
		}
	}
	return 0
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
