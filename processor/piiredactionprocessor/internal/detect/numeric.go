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
	if ts.Has(IPv4) {
		dst = ipv4(v, &g, dst)
	}
	return dst
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
