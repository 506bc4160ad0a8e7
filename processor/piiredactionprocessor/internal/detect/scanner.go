package detect

import (
	"errors"
	"fmt"
	"slices"
)

// DefaultMaxScanBytes is the scan bound used when Options.MaxScanBytes is 0.
const DefaultMaxScanBytes = 64 << 10

// CustomPattern is a named user pattern.
type CustomPattern struct {
	// Name identifies the pattern in configuration, metrics and errors.
	Name string
	// Regexp is a Go (RE2) regular expression; every non-empty match is reported.
	Regexp string
}

// Options configures a Scanner.
type Options struct {
	// Types are the built-in detectors to run.
	Types TypeSet
	// Custom patterns run after the built-in detectors and lose ties to them.
	Custom []CustomPattern
	// MaxScanBytes bounds the work per value: Scan looks at the first MaxScanBytes bytes only
	// and reports longer values as truncated. 0 means DefaultMaxScanBytes.
	MaxScanBytes int
	// Keys, if set, finds values of sensitive keys written into text ("password=...",
	// "\"token\": \"...\"") and reports them as SensitiveKey.
	Keys *KeyMatcher
	// PhoneRegions are the regions (ISO 3166 codes such as "US", "GB", "DE", or
	// PhoneRegionAll) whose national notations are read as phone numbers; numbers with a
	// country code are read whatever the regions. nil means ["US"].
	PhoneRegions []string
}

// Scanner finds matches in strings. It is immutable and safe for concurrent use.
type Scanner struct {
	types   TypeSet
	maxScan int
	// trigger maps a byte to the work it starts (one of the t* constants): trigger[c] at the
	// start of a word, trigger[256+c] after a word byte, where only the non-word triggers
	// count.
	trigger [512]uint8
	custom  []customPattern
	// keys finds sensitive keys in text (nil: none); flagKeys names command-line flags that
	// take a credential (never nil when Credential is on).
	keys, flagKeys *KeyMatcher
	// plans are the numbering plans; phoneRegions and nanpPlans those of the configured
	// regions, North America's apart.
	plans        *phonePlans
	phoneRegions []*phonePlan
	nanpPlans    []*phonePlan
}

// Triggers: the work a byte starts. The ones from tDigit on only count at the start of a
// word (not after a byte of [A-Za-z0-9_]).
const (
	tNone  uint8 = iota
	tAt          // '@': e-mail
	tColon       // ':': IPv6 (looking back over a hex group, or "::"), a secret after its key, "://"
	tEqual       // '=': a secret after its key
	tEsc         // '%', '\\', '&', '+': noted, for the decoding views after the pass
	tDigit       // a number: card, SSN, phone, IPv4
	tE           // 'e': "eyJ", a JWT
	tB           // 'b': "bearer", "basic"
	tUpper       // A-Z: AKIA..., "Bearer", "Basic", IBAN, "BEGIN" after "-----"
	tDash        // '-': a command-line flag that takes a password
	tPhone       // the first letter of a phone context word, glued to a number ("call415-...")
)

// afterWord is the trigger-table offset for a byte that follows a word byte.
var afterWord = func() (t [256]uint16) {
	for c := range t {
		if isWord(byte(c)) {
			t[c] = 256
		}
	}
	return t
}()

// NewScanner compiles the options once. It fails on a bad custom pattern, naming it.
func NewScanner(o Options) (*Scanner, error) {
	var errs []error
	if o.MaxScanBytes < 0 {
		errs = append(errs, fmt.Errorf("max scan bytes must not be negative, got %d", o.MaxScanBytes))
	}
	types := o.Types &^ (Types(Custom, SensitiveKey))
	if unknown := types &^ AllBuiltin; unknown != 0 {
		errs = append(errs, fmt.Errorf("unknown detector types in set %#x", uint32(unknown)))
	}
	s := &Scanner{types: types & AllBuiltin, maxScan: o.MaxScanBytes, keys: o.Keys, flagKeys: o.Keys}
	if s.flagKeys == nil {
		s.flagKeys = defaultKeyMatcher
	}
	if s.maxScan == 0 {
		s.maxScan = DefaultMaxScanBytes
	}
	seen := make(map[string]bool, len(o.Custom))
	for i, p := range o.Custom {
		c, err := compileCustom(p)
		if err == nil && seen[p.Name] {
			err = fmt.Errorf("custom pattern %q: duplicate name", p.Name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("custom[%d]: %w", i, err))
			continue
		}
		seen[p.Name] = true
		s.custom = append(s.custom, c)
	}
	if s.types.Has(Phone) {
		if err := s.setPhoneRegions(o.PhoneRegions); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ts := s.types
	start := (*[256]uint8)(s.trigger[:256])
	if ts&numericTypes != 0 {
		for c := '0'; c <= '9'; c++ {
			start[c] = tDigit
		}
	}
	if ts.Has(JWT) {
		start['e'] = tE
	}
	if ts.Has(Bearer) || ts.Has(BasicAuth) {
		start['b'] = tB
	}
	if ts.Has(Phone) {
		for _, c := range phoneWordStarts {
			start[c] = tPhone
		}
	}
	if ts.Has(Bearer) || ts.Has(BasicAuth) || ts.Has(AWSKey) || ts.Has(IBAN) || ts.Has(PrivateKey) || ts.Has(Phone) {
		for c := 'A'; c <= 'Z'; c++ {
			start[c] = tUpper
		}
	}
	if ts.Has(Email) {
		start['@'] = tAt
	}
	if ts.Has(IPv6) || ts.Has(AWSKey) || ts.Has(Credential) || s.keys != nil {
		start[':'] = tColon
	}
	if ts.Has(AWSKey) || ts.Has(Credential) || s.keys != nil {
		start['='] = tEqual
	}
	if ts.Has(JWT) || ts.Has(PrivateKey) {
		start['Z'], start['L'] = tUpper, tUpper // base64 of "eyJ" and of "-----BEGIN"
	}
	for _, c := range "%\\&+" {
		start[c] = tEsc
	}
	if ts.Has(Credential) {
		start['-'] = tDash
	}
	for c, t := range start {
		if t < tDigit {
			s.trigger[256+c] = t
		}
	}
	return s, nil
}

// Types returns the built-in detectors the scanner runs.
func (s *Scanner) Types() TypeSet { return s.types }

// MaxScanBytes returns the per-value scan bound.
func (s *Scanner) MaxScanBytes() int { return s.maxScan }

// CustomName returns the name of custom pattern i, as reported in Match.Custom.
func (s *Scanner) CustomName(i int) string {
	if i < 0 || i >= len(s.custom) {
		return ""
	}
	return s.custom[i].name
}

// Scan appends to dst the matches in v: non-overlapping and sorted by Start. Overlapping
// candidates are resolved once, the same way whatever order the detectors found them in:
// earliest start, then longest, then type precedence (private_key, jwt, bearer,
// basic_auth and credential, aws_key, card, iban, ssn, email, phone, ipv6, ipv4, custom
// patterns in configuration order, sensitive_key). The first of a group of overlapping
// candidates is kept and the others dropped; if a dropped one reaches past the kept match,
// the kept match is stretched to cover it, so no byte a validator accepted is left out. A
// value holding escapes is also scanned through its decoding views (scanViews), whose
// matches join the same resolution and carry their Encoding; at equal spans and types the
// plain match wins.
//
// Scan reports whether v was longer than MaxScanBytes; then only the first MaxScanBytes
// bytes were scanned and the caller should treat v as unscannable. Scan is safe for
// concurrent use, keeps no reference to v, and allocates nothing when v holds no candidate
// (or only built-in matches) and dst has room.
func (s *Scanner) Scan(v string, dst []Match) (matches []Match, truncated bool) {
	return s.scan(v, dst, true)
}

// scan is Scan; without views it scans v only as it is, for text decoded already (no
// escape is decoded twice).
func (s *Scanner) scan(v string, dst []Match, views bool) (matches []Match, truncated bool) {
	if s == nil {
		return dst, false
	}
	if len(v) > s.maxScan {
		v, truncated = v[:s.maxScan], true
	}
	base := len(dst)
	dst, esc := s.scanBuiltin(v, dst)
	for i := range s.custom {
		dst = s.custom[i].find(v, i, dst)
	}
	if esc != 0 && views {
		dst = s.scanViews(v, esc, base, dst)
	}
	if len(dst)-base > 1 {
		dst = dst[:base+len(resolve(dst[base:]))]
	}
	return dst, truncated
}

// scanBuiltin is the single pass. Most bytes start nothing and cost a table lookup; a
// trigger byte gets a check of a byte or two before any detector runs, so that the
// detectors, which validate properly, only see real candidates. esc notes the escape
// introducers seen, for scanViews.
func (s *Scanner) scanBuiltin(v string, dst []Match) (_ []Match, esc uint8) {
	ts := s.types
	// prev is v[i-1]. Looking the table up by (prev, v[i]) rather than carrying a flag from
	// the last lookup keeps one byte's lookup from waiting on the one before.
	prev := byte(0)
	var txt textScan
	for i := 0; i < len(v); i++ {
		c := v[i]
		t := s.trigger[(int(afterWord[prev])+int(c))&511]
		prev = c
		if t == tNone {
			continue
		}
		switch t {
		case tDigit:
			j := i + 1
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			if j == i+1 && i > 0 && v[i-1] == '%' && j+1 < len(v) && class[v[j]]&cHex != 0 && isDigit(v[j+1]) {
				i, prev = j, 0 // "%2C4111...": a number starts after the escape
				continue
			}
			if j < len(v) && isWord(v[j]) {
				i = wordEnd(v, j) - 1 // hex, ids, "02T03": not a number, skip the word
				prev = v[i]
				continue
			}
			if mayStartNumber(v, i, j) {
				dst = s.numeric(v, i, j, dst)
			}
			i = j - 1
			prev = v[i]
		case tE:
			if i+2 < len(v) && v[i+1] == 'y' && v[i+2] == 'J' {
				dst = jwt(v, i, dst)
			}
		case tB:
			dst = s.authScheme(v, i, dst)
		case tUpper:
			if i+3 >= len(v) {
				continue
			}
			switch {
			case isUpper(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]):
				if ts.Has(IBAN) {
					dst = iban(v, i, wordEnd(v, i+4), dst)
				}
			case v[i] == 'A':
				if ts.Has(AWSKey) {
					dst = awsKeyID(v, i, dst)
				}
			case v[i] == 'Z' || v[i] == 'L':
				dst = s.base64Blob(v, i, dst)
			case v[i] == 'B':
				dst = s.authScheme(v, i, dst)
				// "-----BEGIN": found at its word rather than at every '-'.
				if i >= 5 && v[i-1] == '-' && ts.Has(PrivateKey) {
					dst = privateKey(v, i-5, dst)
					if n := len(dst); n > 0 && dst[n-1].Type == PrivateKey && dst[n-1].End == len(v) {
						// A key without its END line runs to the end of the value; whatever
						// starts inside it would be absorbed by it, and stopping here keeps
						// a value full of BEGIN lines from costing quadratic time.
						return dst, esc
					}
				}
			}
			if ts.Has(Phone) {
				dst = s.phoneAfterWord(v, i, dst)
			}
			i = wordEnd(v, i+1) - 1 // no other trigger counts inside the word
			prev = v[i]
		case tPhone:
			dst = s.phoneAfterWord(v, i, dst)
			i = wordEnd(v, i+1) - 1
			prev = v[i]
		case tAt:
			if !ts.Has(Credential) || !afterURLPassword(v, i) {
				dst = email(v, i, dst)
			}
		case tColon:
			if ts.Has(IPv6) && ((i+1 < len(v) && v[i+1] == ':') || (i > 0 && class[v[i-1]]&cHex != 0)) {
				dst = ipv6AtColon(v, i, dst)
			}
			if i > 0 && ts.Has(AWSKey) && mayFollowAWSSecretKey(v[i-1]) {
				dst = awsSecret(v, i, dst)
			}
			dst = s.atSeparator(v, i, dst, &txt)
		case tEqual:
			if i > 0 && ts.Has(AWSKey) && mayFollowAWSSecretKey(v[i-1]) {
				dst = awsSecret(v, i, dst)
			}
			dst = s.atSeparator(v, i, dst, &txt)
		case tDash:
			dst = s.atDash(v, i, dst, &txt)
		case tEsc:
			esc |= escapeBit(c)
		}
	}
	return dst, esc
}

// wordEnd returns the end of the word that continues at j.
func wordEnd(v string, j int) int {
	for j < len(v) && isWord(v[j]) {
		j++
	}
	return j
}

// mayFollowAWSSecretKey reports whether the byte before '=' or ':' could end
// "secret_access_key" or the quotes and spaces after it.
func mayFollowAWSSecretKey(c byte) bool {
	return lower(c) == 'y' || c == '"' || c == '\'' || c == ' ' || c == '\t'
}

// mayStartNumber is the cheap test before the digit detectors at the all-digit word v[i:j].
// A number glued to a word before it ("ORD-2026", "v1.2") starts nothing. Otherwise the
// sizes of the first two groups decide: a card has 12+ digits in one group or groups of 3-6,
// an SSN 3-2-... or nine digits, a NANP phone 3-3-... or 1-3-..., an IPv4 address 1-3 digits and a dot.
// Dates (2026-01-02) and times fail here, before any group is collected.
func mayStartNumber(v string, i, j int) bool {
	if i > 0 {
		switch v[i-1] {
		case '+', '(':
			return true
		case '-', '.':
			if i >= 2 && isWord(v[i-2]) {
				return false
			}
		}
	}
	n1 := j - i
	if n1 >= 12 || n1 == 9 || mayStartPhone(v, i, j) { // a card (12 digits: Maestro); an SSN without dashes; a phone
		return true
	}
	if j+1 >= len(v) || !isDigit(v[j+1]) {
		return n1 >= 3 && n1 <= 6 && cardSeparator(v, j) > 1 // "4111  1111", "4111 - 1111"
	}
	sep := v[j]
	if sep != ' ' && sep != '-' && sep != '.' {
		return false
	}
	k := j + 2
	for k < len(v) && k-j <= 4 && isDigit(v[k]) {
		k++
	}
	n2 := k - j - 1 // 4 means "4 or more"
	switch {
	case n1 <= 3 && sep == '.': // 10.0.0.1, 415.555.0132, 1.415.555.0132; not 12:34:56.789
		return n2 <= 3 && k < len(v) && v[k] == '.'
	case n1 == 3:
		return n2 >= 2
	case n1 == 1:
		return v[i] == '1' && n2 == 3
	case n1 <= 6:
		return sep != '.' && n2 >= 3
	}
	return false
}

// authScheme handles the words "Bearer" and "Basic", in any case, starting at i.
func (s *Scanner) authScheme(v string, i int, dst []Match) []Match {
	switch {
	case s.types.Has(Bearer) && hasPrefixFold(v[i:], "bearer") && !(i+6 < len(v) && isWord(v[i+6])):
		return bearer(v, i+6, dst)
	case s.types.Has(BasicAuth) && hasPrefixFold(v[i:], "basic") && !(i+5 < len(v) && isWord(v[i+5])):
		return basicAuth(v, i+5, dst)
	}
	return dst
}

// resolve sorts m by (Start, longest first, precedence, custom index) and keeps, left to
// right, every match that starts at or after the end of the last kept one. A dropped match
// that reaches past the end of the kept match it overlaps extends that match, so every byte
// some validator accepted stays covered: the result is the union of all candidates, each
// connected piece labelled by its first candidate in that order. It compacts m in place.
func resolve(m []Match) []Match {
	slices.SortFunc(m, compareMatch)
	w := 0
	for _, c := range m {
		if w > 0 && c.Start < m[w-1].End {
			m[w-1].End = max(m[w-1].End, c.End)
			continue
		}
		m[w] = c
		w++
	}
	return m[:w]
}

// compareMatch is the total order of resolve.
func compareMatch(a, b Match) int {
	switch {
	case a.Start != b.Start:
		return a.Start - b.Start
	case a.End != b.End:
		return b.End - a.End
	case a.Type != b.Type && precedence[a.Type] != precedence[b.Type]:
		return int(precedence[a.Type]) - int(precedence[b.Type])
	case a.Type != b.Type:
		return int(a.Type) - int(b.Type)
	case a.Encoding != b.Encoding:
		return int(a.Encoding) - int(b.Encoding)
	default:
		return a.Custom - b.Custom
	}
}
