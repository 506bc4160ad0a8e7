package detect

// Payment cards: issuer ranges and lengths, Luhn, and the groupings cards are printed in.
//
// A number is a card when its digits pass Luhn, its leading digits name an issuer that uses
// its length, and it is written the way cards are written: ungrouped, or in one of the
// printed groupings below, with one kind of separator throughout. Any other grouping (a
// step counter's "6012 201604 131", "1234 56 789 0123") counts only after a card word in the
// text just before it (cardContext); so do 12-digit Maestro numbers.
//
// Printed groupings that stand on their own (the issuers' embossing and the gaps payment
// forms insert, e.g. Braintree's credit-card-type: [4 8 12] for most brands, [4 10] for
// American Express and Diners Club, [4 9] for UATP):
//
//	4-4-4-4, 4-4-4-4-1..3, 4-4-4-1..7   every issuer (16; 17-19; 13-19)
//	4-6-4, 4-6-5                        American Express and Diners Club (first digit 3)
//	4-5-6                               UATP (first digit 1)
//	4-4-5                               13-digit Visa
//	6-13                                19-digit UnionPay and Maestro (first digit 6)
//
// No issuer prints 5-14; it needs a card word.

// maxCardGroups bounds the groups of one card: 19 digits in groups of three or more.
const maxCardGroups = 7

// contextWindow is how far before a number cardContext and ssnContext look for their words.
const contextWindow = 32

// cardGroups is a run of digit groups separated by one separator string (" ", "-", "  ",
// "--", " - "): sep is its length, the same between every two groups.
type cardGroups struct {
	n, sep int
	start  [maxCardGroups]int32
	end    [maxCardGroups]int32
}

// cardSeparator returns the length of a card separator at v[p:] that a digit follows: one
// space or dash, two of them ("  ", "--") or " - "; 0 if there is none.
func cardSeparator(v string, p int) int {
	for n := 1; n <= 3 && p+n < len(v); n++ {
		c := v[p+n-1]
		if c != ' ' && c != '-' {
			return 0
		}
		if isDigit(v[p+n]) {
			switch {
			case n == 1:
			case n == 2 && v[p] == v[p+1]:
			case n == 3 && v[p] == ' ' && v[p+1] == '-' && v[p+2] == ' ':
			default:
				return 0
			}
			return n
		}
	}
	return 0
}

// collect gathers the groups from the digit word v[i:j]. It stops at a separator unlike the
// first one, at a group glued to letters, or past 19 digits.
func (g *cardGroups) collect(v string, i, j int) {
	g.n, g.sep = 1, 0
	g.start[0], g.end[0] = int32(i), int32(j)
	digits := j - i
	for p := j; g.n < maxCardGroups && digits <= 19; {
		n := cardSeparator(v, p)
		if n == 0 || (g.sep != 0 && (n != g.sep || v[p] != v[g.end[0]])) {
			return
		}
		q := p + n
		for q < len(v) && isDigit(v[q]) {
			q++
		}
		if q < len(v) && isWord(v[q]) {
			return
		}
		g.sep = n
		g.start[g.n], g.end[g.n] = int32(p+n), int32(q)
		g.n++
		digits += q - p - n
		p = q
	}
}

func (g *cardGroups) size(k int) int { return int(g.end[k] - g.start[k]) }

// card accepts, at the digit word v[i:j], the longest run of groups with 12 to 19 digits
// that passes Luhn, matches an issuer's prefix and length and is written as cards are.
func card(v string, i, j int, dst []Match) []Match {
	switch {
	case afterEscape(v, i):
		if j-i <= 2 {
			return dst
		}
		i += 2 // "%20" then digits: the number starts after the escape
	case i >= 3 && v[i-3] == '%' && class[v[i-2]]&class[v[i-1]]&cHex != 0:
		// "%2C" then digits: not glued to a word
	case joinedLeft(v, i):
		return dst
	}
	if first := v[i]; first == '0' || first == '7' {
		return dst // no issuer starts with 0 or 7
	}
	var g cardGroups
	g.collect(v, i, j)
	if g.n == 1 && j-i < 12 {
		return dst
	}
	context := 0 // 0: not looked for yet, 1: none, 2: found
	best, digits := -1, 0
	for k := 0; k < g.n; k++ {
		digits += g.size(k)
		if digits > 19 {
			break
		}
		// Groups hold 3 to 6 digits; only the last may be shorter (or longer, for 6-13).
		if k > 0 && (g.size(k-1) < 3 || g.size(k-1) > 6) {
			break
		}
		if digits < 12 {
			continue
		}
		e := int(g.end[k])
		// Digits continuing with a dash or dot belong to a longer token; a space may be
		// followed by anything (an expiry date, a CVV).
		if joinedRight(v, e) || g.dashedOn(v, e) || !cardIssuer(leadingDigits(v, i, e, 6), digits) || !luhn(v, i, e) {
			continue
		}
		if digits == 12 || !printedGrouping(v[i], &g, k) {
			if context == 0 {
				context = 1
				if cardContext(v, i) {
					context = 2
				}
			}
			if context == 1 {
				continue
			}
		}
		best = k
	}
	if best < 0 {
		return dst
	}
	return append(dst, Match{Start: i, End: int(g.end[best]), Type: Card, Custom: -1})
}

// dashedOn reports whether the groups' separator holds a dash and follows e with more
// digits: the groups are part of a longer token ("4111--1111--1111--1111--2222").
func (g *cardGroups) dashedOn(v string, e int) bool {
	if g.n == 1 {
		return false
	}
	s := int(g.end[0])
	return (v[s] == '-' || v[s+g.sep/2] == '-') && cardSeparator(v, e) == g.sep && v[e] == v[s]
}

// printedGrouping reports whether groups 0..k, starting with the digit first, are written as
// an issuer prints them (see the file comment).
func printedGrouping(first byte, g *cardGroups, k int) bool {
	s := func(x int) int { return g.size(x) }
	switch k {
	case 0:
		return first != '1' || s(0) == 15 // ungrouped; UATP's 15 digits only
	case 1:
		return first == '6' && s(0) == 6 && s(1) == 13
	case 2:
		switch {
		case s(0) != 4:
			return false
		case s(1) == 6:
			return first == '3' && (s(2) == 4 || s(2) == 5)
		case s(1) == 5:
			return first == '1' && s(2) == 6
		}
		return first == '4' && s(1) == 4 && s(2) == 5
	}
	if first == '1' {
		return false
	}
	for x := 0; x < k; x++ {
		if s(x) != 4 {
			return false
		}
	}
	return k == 3 || s(k) <= 3 // 4-4-4-x; 4-4-4-4-x
}

// cardWords are the words that make a number after them a card whatever its grouping:
// lower case, matched against whole letter runs of the text before the number.
var cardWords = []string{"card", "cards", "cc", "ccn", "pan", "visa", "mastercard", "amex",
	"credit", "debit", "cb", "carte", "tarjeta", "karte", "kreditkarte", "creditcard", "maestro"}

// cardContext reports whether a card word stands before a, in the contextWindow bytes after
// the last digit. Letter runs are compared whole and case-insensitively; a run starting with
// "card" also counts (cardNumber, card_no, cardholder).
func cardContext(v string, a int) bool {
	lo := contextStart(v, a)
	for p, q, ok := prevLetterRun(v, lo, a); ok; p, q, ok = prevLetterRun(v, lo, p) {
		if hasPrefixFold(v[p:q], "card") {
			return true
		}
		for _, w := range cardWords {
			if equalFold(v[p:q], w) {
				return true
			}
		}
	}
	return false
}

// contextStart is where the text a context word is looked for in begins: contextWindow
// bytes before a, or after the last digit before a if that is nearer, so that a word
// belongs to the number right after it ("card 1: ..." does not reach past the 1).
func contextStart(v string, a int) int {
	lo := max(0, a-contextWindow)
	for p := a - 1; p >= lo; p-- {
		if isDigit(v[p]) {
			return p + 1
		}
	}
	return lo
}

// prevLetterRun returns the last run of ASCII letters v[p:q] within v[lo:end]; ok is false
// when there is none, or when it is cut by lo. A camel-case word is cut at each upper-case
// letter that follows a lower-case one ("ccNumber": "Number", then "cc").
func prevLetterRun(v string, lo, end int) (p, q int, ok bool) {
	q = end
	for q > lo && !isLetter(v[q-1]) {
		q--
	}
	p = q
	for p > lo && isLetter(v[p-1]) && (p == q || !isUpper(v[p]) || isUpper(v[p-1])) {
		p--
	}
	if p == q || (p == lo && lo > 0 && isLetter(v[lo-1])) {
		return 0, 0, false
	}
	return p, q, true
}

// afterEscape reports whether the digit word at i begins inside a "%XX" escape.
func afterEscape(v string, i int) bool { return i > 0 && v[i-1] == '%' }

func isLetter(c byte) bool { return class[c]&(cUpper|cLower) != 0 }

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

// cardLengths returns lengths as a set of bits (1<<length).
func cardLengths(ns ...int) uint32 {
	var m uint32
	for _, n := range ns {
		m |= 1 << n
	}
	return m
}

var (
	len16to19   = cardLengths(16, 17, 18, 19)
	len12to19   = cardLengths(12, 13, 14, 15, 16, 17, 18, 19)
	lenVisa     = cardLengths(13, 16, 19)
	lenVerve    = cardLengths(16, 18, 19)
	lenDiners   = cardLengths(14, 15, 16, 17, 18, 19)
	lenSixteen  = cardLengths(16)
	lenFifteen  = cardLengths(15)
	lenNotFound = uint32(0)
)

// cardIssuer checks the issuer identification number (the first six digits, fewer if the
// number is shorter) against the length. Luhn alone accepts one random number in ten; the
// issuer's prefix and length cut that down, and the only issuer starting with 1 (UATP) uses
// 15 digits, so millisecond timestamps (13 digits) and microsecond ones (16) are refused.
func cardIssuer(iin6, length int) bool {
	return issuerLengths(iin6)&(1<<length) != 0
}

// issuerLengths is the union of the lengths of every issuer whose range holds iin6.
func issuerLengths(iin6 int) uint32 {
	iin1, iin2, iin3, iin4 := iin6/100000, iin6/10000, iin6/1000, iin6/100
	m := lenNotFound
	switch iin1 {
	case 1: // UATP
		m |= lenFifteen
	case 2:
		if iin4 >= 2221 && iin4 <= 2720 { // Mastercard 2-series
			m |= lenSixteen
		}
		if iin4 >= 2200 && iin4 <= 2204 { // Mir
			m |= len16to19
		}
	case 3:
		switch {
		case iin2 == 34 || iin2 == 37: // American Express
			m |= lenFifteen
		case iin4 >= 3528 && iin4 <= 3589: // JCB; RuPay's 353 and 356 lie inside
			m |= len16to19
		case iin3 >= 300 && iin3 <= 305, iin4 == 3095, iin2 == 36, iin2 == 38, iin2 == 39: // Diners Club
			m |= lenDiners
		}
	case 4: // Visa
		m |= lenVisa
	case 5:
		if iin2 >= 51 && iin2 <= 55 { // Mastercard
			m |= lenSixteen
		}
		if iin2 == 50 || iin2 >= 56 { // Maestro
			m |= len12to19
		}
		if iin3 == 508 { // RuPay
			m |= lenSixteen
		}
		if iin6 >= 506099 && iin6 <= 506198 { // Verve
			m |= lenVerve
		}
	case 6:
		// Maestro's 56-69 holds Discover (6011, 644-649, 65, 622126-622925), UnionPay (62),
		// RuPay (60, 65) and Verve (650002-650027), whose lengths it includes.
		m |= len12to19
	case 8:
		if iin2 == 81 || iin2 == 82 { // RuPay
			m |= lenSixteen
		}
	case 9:
		if iin4 == 9792 { // Troy
			m |= lenSixteen
		}
	}
	return m
}
