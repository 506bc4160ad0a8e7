package detect

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers. The scanner finds candidates by their shape (digit groups after '+', "00",
// '(' or a context word, or in a national notation) and every candidate is checked against
// libphonenumber's numbering plans: an international number must be valid for its country
// code, a national one for a configured region. The plans' patterns are compiled once per
// region, on the first candidate of that region, rather than per call as the library does:
// that keeps a candidate's validation at a few microseconds and without allocation.

// PhoneRegionAll in Options.PhoneRegions reads national numbers in every region's plan.
const PhoneRegionAll = "ALL"

// defaultPhoneRegions are used when Options.PhoneRegions is nil.
var defaultPhoneRegions = []string{"US"}

const (
	// maxNSN is the longest national significant number in any plan (Germany has 17 digits).
	maxNSN = 17
	// maxPhoneDigits bounds the digits of a candidate: a 3-digit country code and a maxNSN
	// national number, or a trunk prefix and one.
	maxPhoneDigits = 20
	maxPhoneGroups = 10
	// phoneContextWindow is how far before a number a context word may end.
	phoneContextWindow = 24
)

// ValidPhoneRegion reports whether code is a region of the numbering plans ("US", "GB", ...)
// or PhoneRegionAll.
func ValidPhoneRegion(code string) bool {
	if code == PhoneRegionAll {
		return true
	}
	_, ok := loadPhonePlans().byRegion[code]
	return ok
}

// phonePlan is one region's numbering plan (or a non-geographic entity's, "001") compiled
// for validation: what phonenumbers.IsValidNumberForRegion checks, that the national
// significant number matches the general description and one of the number types, each
// with its possible lengths.
type phonePlan struct {
	id     string
	cc     int
	prefix string // national (trunk) prefix, "" if the plan has none
	md     *phonenumbers.PhoneMetadata

	once    sync.Once
	lengths uint32 // bit l: the general description admits length l
	general *regexp.Regexp
	byLen   [maxNSN + 1]*regexp.Regexp // the union of the types admitting that length
}

func (p *phonePlan) compile() {
	g := p.md.GetGeneralDesc()
	p.lengths = descLengths(g, 1<<(maxNSN+1)-2)
	p.general = regexp.MustCompile("^(?:" + g.GetNationalNumberPattern() + ")$")
	md := p.md
	var pats [maxNSN + 1][]string
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetPremiumRate(), md.GetTollFree(),
		md.GetSharedCost(), md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(),
		md.GetVoicemail(), md.GetFixedLine(), md.GetMobile()} {
		if d.GetNationalNumberPattern() == "" {
			continue
		}
		ls := descLengths(d, p.lengths) & p.lengths
		pat := "(?:" + d.GetNationalNumberPattern() + ")"
		for l := range pats {
			// Fixed line and mobile share one pattern in many plans (North America's among
			// them): matching it twice would double the work.
			if ls&(1<<l) != 0 && !slices.Contains(pats[l], pat) {
				pats[l] = append(pats[l], pat)
			}
		}
	}
	for l, ps := range pats {
		if len(ps) > 0 {
			p.byLen[l] = regexp.MustCompile("^(?:" + strings.Join(ps, "|") + ")$")
		}
	}
}

// descLengths returns the possible lengths of d as a bit set; a description without any
// admits those of the general description (all), one with -1 none.
func descLengths(d *phonenumbers.PhoneNumberDesc, all uint32) uint32 {
	if len(d.GetPossibleLength()) == 0 {
		return all
	}
	var ls uint32
	for _, l := range d.GetPossibleLength() {
		if l > 0 && l <= maxNSN {
			ls |= 1 << l
		}
	}
	return ls
}

// valid reports whether nsn is a valid national significant number of the plan.
func (p *phonePlan) valid(nsn string) bool {
	l := len(nsn)
	if l == 0 || l > maxNSN {
		return false
	}
	p.once.Do(p.compile)
	if p.lengths&(1<<l) == 0 || p.byLen[l] == nil {
		return false
	}
	return p.general.MatchString(nsn) && p.byLen[l].MatchString(nsn)
}

// validNational reports whether the digits d, as dialled in the plan's region, are a valid
// number there, and whether they were written with the trunk prefix.
func (p *phonePlan) validNational(d string) (ok, trunk bool) {
	if p.prefix != "" && strings.HasPrefix(d, p.prefix) && p.valid(d[len(p.prefix):]) {
		return true, true
	}
	return p.valid(d), false
}

// phonePlans are all the plans, by country code and by region.
type phonePlans struct {
	byCC     map[int][]*phonePlan
	byRegion map[string]*phonePlan
}

var loadPhonePlans = sync.OnceValue(func() *phonePlans {
	ps := &phonePlans{byCC: map[int][]*phonePlan{}, byRegion: map[string]*phonePlan{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		panic(fmt.Sprintf("phone numbering plans: %v", err)) // embedded data, loaded at init already
	}
	for _, md := range coll.GetMetadata() {
		p := &phonePlan{id: md.GetId(), cc: int(md.GetCountryCode()), prefix: md.GetNationalPrefix(), md: md}
		if _, err := strconv.Atoi(p.prefix); err != nil {
			p.prefix = "" // not a plain digit prefix
		}
		if md.GetMainCountryForCode() {
			ps.byCC[p.cc] = append([]*phonePlan{p}, ps.byCC[p.cc]...)
		} else {
			ps.byCC[p.cc] = append(ps.byCC[p.cc], p)
		}
		if p.id != "001" {
			ps.byRegion[p.id] = p
		}
	}
	return ps
})

// validIntl reports whether d (country code and national number, digits only) is a valid
// international number. A national number written after the country code with its trunk
// prefix ("+44 020 ...") is read without it, as libphonenumber does.
func (ps *phonePlans) validIntl(d string) bool {
	for l := 1; l <= 3 && l < len(d); l++ {
		plans := ps.byCC[atoiDigits(d[:l])]
		if len(plans) == 0 {
			continue
		}
		nsn := d[l:]
		for _, p := range plans {
			if ok, _ := p.validNational(nsn); ok {
				return true
			}
		}
		return false // country codes are prefix-free
	}
	return false
}

func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// phoneRegions resolves the configured regions into plans; NANP regions share one plan set
// (a Canadian number is a North American number under [US]).
func phoneRegions(codes []string) ([]*phonePlan, error) {
	if codes == nil {
		codes = defaultPhoneRegions
	}
	ps := loadPhonePlans()
	var out []*phonePlan
	seen := map[*phonePlan]bool{}
	add := func(p *phonePlan) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, c := range codes {
		switch p, ok := ps.byRegion[c]; {
		case c == PhoneRegionAll:
			for _, p := range ps.byRegion {
				add(p)
			}
		case !ok:
			return nil, fmt.Errorf("phone region %q: unknown (want a region code such as US, GB or DE, or ALL)", c)
		case p.cc == 1:
			for _, q := range ps.byCC[1] {
				add(q)
			}
		default:
			add(p)
		}
	}
	return out, nil
}

// phoneCand is a candidate's digit groups as written, from its first digit.
type phoneCand struct {
	n       int
	end     [maxPhoneGroups]int  // byte end of group k
	ndig    [maxPhoneGroups]int  // digits in buf through group k
	size    [maxPhoneGroups]int8 // digits in group k
	sep     [maxPhoneGroups]byte // byte before group k: ' ', '-', '.', '/', or '(' (in parentheses)
	more    bool                 // digits go on past the last group collected
	trunk0  bool                 // "(0)" after the country code, left out of buf
	nDigits int
	buf     [maxPhoneDigits]byte
}

func isPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' || c == '/' }

// collect gathers the groups from the digits at i. afterCC allows one group in parentheses
// after the first ("+44 (0)161 ...", "+1 (415) ...").
func (c *phoneCand) collect(v string, i int, afterCC, closeParen bool) {
	p, sep := i, byte(0)
	for c.n < maxPhoneGroups {
		q := p
		for q < len(v) && isDigit(v[q]) {
			q++
		}
		if c.nDigits+q-p > maxPhoneDigits {
			c.more = true
			return
		}
		if sep == '(' && afterCC && c.n == 1 && q-p == 1 && v[p] == '0' {
			c.trunk0 = true
		} else {
			c.nDigits += copy(c.buf[c.nDigits:], v[p:q])
		}
		c.end[c.n], c.ndig[c.n], c.size[c.n], c.sep[c.n] = q, c.nDigits, int8(q-p), sep
		c.n++
		if sep == '(' {
			if q >= len(v) || v[q] != ')' {
				c.n-- // not closed: the candidate ends before it
				return
			}
			q++
			c.end[c.n-1] = q
			if q < len(v) && isDigit(v[q]) {
				p, sep = q, ' '
				continue
			}
		}
		if c.n == 1 && closeParen {
			// "(+45) 32 ...", "(11) 98765-4321": the first group is closed.
			if q >= len(v) || v[q] != ')' {
				c.n = 0
				return
			}
			q++
			c.end[0] = q
			if q < len(v) && isDigit(v[q]) {
				p, sep = q, ' '
				continue
			}
		}
		if q+1 >= len(v) {
			return
		}
		switch ch := v[q]; {
		case isPhoneSep(ch) && isDigit(v[q+1]):
			p, sep = q+1, ch
			continue
		case afterCC && c.n == 1:
			r := q
			if v[r] == ' ' {
				r++
			}
			if r+1 < len(v) && v[r] == '(' && isDigit(v[r+1]) {
				p, sep = r+1, '('
				continue
			}
		}
		return
	}
	c.more = true
}

// phoneScratch holds a candidate's digits while they are validated, so that the string
// handed to the patterns does not allocate.
var phoneScratch = sync.Pool{New: func() any { return new(phoneCand) }}

// phoneLead is how a candidate starts.
type phoneLead uint8

const (
	leadNone    phoneLead = iota
	leadPlus              // +CC
	leadPlusPar           // (+CC)
	leadParen             // (area) national
	leadZeroZero
)

// phone finds a phone number whose first digits are the digit word v[i:j]. glued says that
// a context word stands right before it ("call415-555-0199").
func (s *Scanner) phone(v string, i, j int, glued bool, dst []Match) []Match {
	lead, a := leadNone, i
	if i > 0 {
		switch v[i-1] {
		case '+':
			lead, a = leadPlus, i-1
			if a > 0 && v[a-1] == '(' {
				lead, a = leadPlusPar, a-1
			}
		case '(':
			lead, a = leadParen, i-1
		}
	}
	if lead == leadNone && j-i >= 3 && v[i] == '0' && v[i+1] == '0' && v[i+2] != '0' {
		lead = leadZeroZero
	}
	if !glued && a > 0 {
		switch {
		case lead == leadNone || lead == leadZeroZero:
			if joinedLeft(v, a) {
				return dst
			}
		case isWord(v[a-1]):
			if !gluedContext(v, a) {
				return dst
			}
			glued = true
		}
	}
	// A group of a space-separated list of numbers ("4111 4111 ...") starts none.
	if lead == leadNone && !glued && spaceDigitLeft(v, a) && j < len(v) && v[j] == ' ' {
		return dst
	}
	// Longer bare runs (order numbers, timestamps) are no national number.
	if lead == leadNone && j-i > 13 && !(j+1 < len(v) && isPhoneSep(v[j]) && isDigit(v[j+1])) {
		return dst
	}
	// A bare digit run ("took 13912345678 ns") is a phone number only next to a context
	// word: checked before anything else, since such runs are common.
	if (lead == leadNone || lead == leadZeroZero) && !glued && !(j+1 < len(v) && isPhoneSep(v[j]) && isDigit(v[j+1])) &&
		!phoneContext(v, a) {
		return dst
	}
	c := phoneScratch.Get().(*phoneCand)
	defer phoneScratch.Put(c)
	*c = phoneCand{}
	intl := lead == leadPlus || lead == leadPlusPar
	c.collect(v, i, intl, lead == leadPlusPar || lead == leadParen)
	if c.n == 0 {
		return dst
	}
	for k := c.n - 1; k >= 0; k-- {
		// A shorter candidate ends only where a space leaves the rest to another number;
		// digits going on after a dash or dot make a longer token.
		if k < c.n-1 || c.more {
			if e := c.end[k]; !(e+1 < len(v) && v[e] == ' ' && isDigit(v[e+1])) {
				continue
			}
		}
		e := c.end[k]
		if k == 0 && (lead == leadPlusPar || lead == leadParen) {
			continue // the parentheses hold the whole number
		}
		ext := phoneExtensionEnd(v, e)
		if ext == e && joinedRight(v, e) {
			continue
		}
		if ext > e && joinedRight(v, ext) {
			ext = e
			if joinedRight(v, e) {
				continue
			}
		}
		if s.acceptPhone(v, a, lead, c, k, glued) {
			return append(dst, Match{Start: a, End: ext, Type: Phone, Custom: -1})
		}
	}
	return dst
}

// acceptPhone validates the candidate of groups 0..k.
func (s *Scanner) acceptPhone(v string, a int, lead phoneLead, c *phoneCand, k int, glued bool) bool {
	nd := c.ndig[k]
	d := unsafe.String(&c.buf[0], nd) // valid while c is; the patterns keep no reference
	switch lead {
	case leadPlus, leadPlusPar:
		// A compact number needs 10 digits, a grouped one 8: "+1234567" is a counter.
		if nd < 8 || (k == 0 && nd < 10) {
			return false
		}
		if d[0] == '1' && !nanpDigits(d[1:]) {
			return false
		}
		return s.plans.validIntl(d)
	case leadZeroZero:
		if nd < 10 || (k == 0 && !glued && !phoneContext(v, a)) {
			return false
		}
		if d[2] == '1' && !nanpDigits(d[3:]) {
			return false
		}
		return s.plans.validIntl(d[2:])
	}
	if nd < 6 || nationalLooksElse(c, k) {
		return false
	}
	if lead == leadNone && c.sep[1] == ' ' && k > 0 && (spaceDigitLeft(v, a) || spaceDigitRight(v, c.end[k])) {
		return false
	}
	// Context is looked for only where it decides: the bare run was checked in phone.
	context := glued || (lead == leadNone && k == 0)
	if len(s.nanpPlans) > 0 && s.acceptNANP(c, k, d, lead, context) {
		return true
	}
	for _, p := range s.phoneRegions {
		ok, trunk := p.validNational(d)
		switch {
		case !ok:
		case context, lead == leadParen:
			return true
		case k == 0:
			// A bare digit run: too many ids look so.
		case trunk, p.prefix == "", k >= 2 && nd >= 10:
			return true
		default:
			// "30 901820": valid in Germany without its trunk prefix, but only next to a
			// context word.
			if phoneContext(v, a) {
				return true
			}
		}
	}
	return false
}

// acceptNANP checks the North American notations: 415-555-0132, 415.555.0132, 415 555 0132,
// 1-415-555-0132, (415) 555-0132; a bare 10 or 11 digit run only with context.
func (s *Scanner) acceptNANP(c *phoneCand, k int, d string, lead phoneLead, context bool) bool {
	off := 0
	if len(d) == 11 && d[0] == '1' {
		off = 1
	}
	if len(d)-off != 10 || !nanpDigits(d[off:]) {
		return false
	}
	switch {
	case k == 0 && lead == leadNone:
		if !context {
			return false
		}
	case lead == leadParen:
		// (415) 555-0132, (415)555-0132: collected as (415), 555, 0132.
		if off != 0 || k != 2 || c.size[0] != 3 || c.size[1] != 3 || c.size[2] != 4 || c.sep[2] == '/' {
			return false
		}
	default:
		if k != 2+off || c.size[off] != 3 || c.size[off+1] != 3 || c.size[off+2] != 4 || c.sep[1] == '/' {
			return false
		}
		for x := 2; x <= k; x++ {
			if c.sep[x] != c.sep[1] {
				return false
			}
		}
	}
	for _, p := range s.nanpPlans {
		if p.valid(d[off:]) {
			return true
		}
	}
	return false
}

// nanpDigits checks a 10-digit North American number's area code and exchange: neither
// starts with 0 or 1, and the area code is not N11 or 1xx (covered by the first rule).
func nanpDigits(d string) bool {
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2' && !(d[1] == '1' && d[2] == '1')
}

// nationalLooksElse rejects national groupings that other notations own: dates (01.12.2026,
// 12/01/2026, 2026-12-01), versions and IPv4 addresses (groups of one digit, dotted groups
// of at most three), ISBNs (a single digit inside).
func nationalLooksElse(c *phoneCand, k int) bool {
	dotted := false
	for x := 1; x <= k; x++ {
		if c.size[x] == 1 {
			return true
		}
		dotted = dotted || c.sep[x] == '.'
	}
	if k == 2 {
		s0, s1, s2 := c.size[0], c.size[1], c.size[2]
		if (s0 <= 2 && s1 <= 2 && s2 == 4) || (s0 == 4 && s1 <= 2 && s2 <= 2) {
			return true
		}
	}
	if dotted && k >= 3 {
		small := true
		for x := 0; x <= k; x++ {
			small = small && c.size[x] <= 3
		}
		if small && k == 3 {
			return true
		}
	}
	return false
}

// phoneExtensionEnd returns the end of an extension after a number ending at e: "x42",
// " x 42", " ext. 12", " ext 12", ", ext: 12", " extension 12", " #12"; e if there is none.
func phoneExtensionEnd(v string, e int) int {
	q := e
	if q < len(v) && v[q] == ',' {
		q++
	}
	if q < len(v) && v[q] == ' ' {
		q++
	}
	var r int
	switch {
	case hasPrefixFold(v[q:], "extension"):
		r = q + 9
	case hasPrefixFold(v[q:], "ext"):
		r = q + 3
		if r < len(v) && (v[r] == '.' || v[r] == ':') {
			r++
		}
	case q < len(v) && (v[q] == 'x' || v[q] == 'X' || v[q] == '#'):
		r = q + 1
	default:
		return e
	}
	if r < len(v) && v[r] == ' ' {
		r++
	}
	t := r
	for t < len(v) && t-r < 7 && isDigit(v[t]) {
		t++
	}
	if t == r || t-r > 6 {
		return e
	}
	return t
}

// PhoneExtensionStart returns where the extension of a phone match s begins (the space,
// comma or marker before "x42", "ext. 12", "#12"), or len(s) if it has none, so that an
// action can treat the number and its extension apart.
func PhoneExtensionStart(s string) int {
	r := len(s)
	for r > 0 && isDigit(s[r-1]) {
		r--
	}
	if r == len(s) || r == 0 {
		return len(s)
	}
	m := r
	if s[m-1] == ' ' {
		m--
	}
	switch {
	case m >= 1 && (s[m-1] == 'x' || s[m-1] == 'X' || s[m-1] == '#'):
		m--
	case m >= 4 && (s[m-1] == '.' || s[m-1] == ':') && hasPrefixFold(s[m-4:], "ext"):
		m -= 4
	case m >= 3 && hasPrefixFold(s[m-3:], "ext"):
		m -= 3
	case m >= 9 && hasPrefixFold(s[m-9:], "extension"):
		m -= 9
	default:
		return len(s)
	}
	if m == 0 || !(isDigit(s[m-1]) || s[m-1] == ' ' || s[m-1] == ',') {
		return len(s)
	}
	for m > 0 && (s[m-1] == ' ' || s[m-1] == ',') {
		m--
	}
	return m
}

// phoneContextWords admit a number next to them; the ones in phoneContextStems also as the
// start of a longer word ("phoneNumber", "Telefonnummer", "mobile_no" is split anyway).
var (
	phoneContextWords = []string{"tel", "tél", "tlf", "phone", "mobile", "mob", "cell", "call",
		"fax", "whatsapp", "telephone", "téléphone", "telefon", "handy", "mobil", "teléfono",
		"telefono", "móvil", "movil", "celular", "telefone", "cellulare", "portable", "sms"}
	phoneContextStems = []string{"phone", "telephon", "téléphon", "telefon", "teléfon", "mobile",
		"handy", "whatsapp", "celular", "cellular", "cellphone"}
)

func isContextWord(w string) bool {
	if len(w) < 3 || !phoneWordPair(lower(w[0]), lower(w[1])) {
		return false
	}
	for _, c := range phoneContextWords {
		if len(w) == len(c) && hasPrefixFold(w, c) {
			return true
		}
	}
	for _, c := range phoneContextStems {
		if hasPrefixFold(w, c) {
			return true
		}
	}
	return false
}

func isLetterByte(c byte) bool { return class[c]&(cUpper|cLower) != 0 || c >= 0x80 }

// phoneContext reports whether a context word ends within phoneContextWindow bytes before a.
func phoneContext(v string, a int) bool {
	lo := max(0, a-phoneContextWindow)
	for e := a; e > lo; {
		if !isLetterByte(v[e-1]) {
			e--
			continue
		}
		b := e
		for b > 0 && e-b < 24 && isLetterByte(v[b-1]) {
			b--
		}
		if isContextWord(v[b:e]) {
			return true
		}
		e = b
	}
	return false
}

// gluedContext reports whether the word right before a is a context word: "tel+45...".
func gluedContext(v string, a int) bool {
	b := a
	for b > 0 && a-b < 24 && isLetterByte(v[b-1]) {
		b--
	}
	return b < a && (b == 0 || !isWord(v[b-1])) && isContextWord(v[b:a])
}

// phoneAfterWord handles a word that starts at i with letters and goes on with digits: a
// context word glued to a number ("call415-555-0199", "tel0201234567").
func (s *Scanner) phoneAfterWord(v string, i int, dst []Match) []Match {
	if i+1 >= len(v) || !phoneWordPair(lower(v[i]), lower(v[i+1])) {
		return dst // most words: settled by their first two letters
	}
	k := i
	for k < len(v) && k-i < 24 && class[v[k]]&(cUpper|cLower) != 0 {
		k++
	}
	if k == i || k >= len(v) || !isDigit(v[k]) || !isContextWord(v[i:k]) {
		return dst
	}
	j := k
	for j < len(v) && isDigit(v[j]) {
		j++
	}
	return s.phone(v, k, j, true, dst)
}

// phoneWordStarts are the first letters of the context words a number may be glued to.
const phoneWordStarts = "ctpmfwh"

// phoneWordPair reports whether a context word starts with the letters a, b (lower case).
func phoneWordPair(a, b byte) bool {
	switch a {
	case 'c':
		return b == 'a' || b == 'e'
	case 't':
		return b == 'e' || b == 'l' || b == 0xc3 // "té..."
	case 'p':
		return b == 'h' || b == 'o'
	case 'w':
		return b == 'h'
	case 's':
		return b == 'm'
	case 'm':
		return b == 'o' || b == 0xc3 // "mó..."
	case 'f', 'h':
		return b == 'a'
	}
	return false
}

// mayStartPhone is mayStartNumber's test for the phone notations it does not know: a
// national number led by a trunk prefix or "00" ("020 7946 0958", "0044 20 ...",
// "0171/2345678"), and a bare run of 7 to 12 digits, read only next to a context word.
func mayStartPhone(v string, i, j int) bool {
	n1 := j - i
	if j+1 < len(v) && isPhoneSep(v[j]) && isDigit(v[j+1]) {
		return v[i] == '0' && n1 >= 2 && n1 <= 5
	}
	return n1 >= 7 && n1 <= 12
}

// setPhoneRegions loads the numbering plans and the configured regions'.
func (s *Scanner) setPhoneRegions(codes []string) error {
	regions, err := phoneRegions(codes)
	if err != nil {
		return err
	}
	s.plans = loadPhonePlans()
	for _, p := range regions {
		if p.cc == 1 {
			s.nanpPlans = append(s.nanpPlans, p)
		} else {
			s.phoneRegions = append(s.phoneRegions, p)
		}
	}
	return nil
}
