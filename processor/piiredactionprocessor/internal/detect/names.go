package detect

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A person's name cannot be told from a product's or a city's by its shape, so names are
// found by the key that holds them, never by the value: user.full_name, customerName,
// billing.last_name. Keys are normalised into segments as KeyMatcher does, and a name key
// must END with one of the terms below: customer_name_length or first_name.hash describe a
// name, they do not hold one.

// DefaultNameKeys returns the key names NameKeyMatcher matches as the last segments of a key
// (user.full_name, app.customer_name, billingFirstName), in the notation of
// NewNameKeyMatcher.
func DefaultNameKeys() []string { return slices.Clone(defaultNameKeys) }

// DefaultWholeNameKeys returns the key names NameKeyMatcher matches only as a whole key:
// user.name (the semantic conventions' "short name or login of the user") but not
// process.user.name or file.owner.name, which name operating system accounts; display_name but
// not product.display_name.
func DefaultWholeNameKeys() []string { return slices.Clone(defaultWholeNameKeys) }

var defaultNameKeys = []string{
	"full_name", "first_name", "last_name", "middle_name", "given_name", "family_name",
	"maiden_name", "legal_name", "surname", "forename",
	"customer_name", "enduser.name", "person_name", "contact_name", "patient_name",
	"employee_name", "recipient_name", "beneficiary_name", "payee_name",
	"billing_name", "shipping_name",
	"cardholder", "cardholder_name", "card_holder", "card_holder_name",
	"account_holder", "account_holder_name",
	"user.display_name", "customer.display_name",
}

var defaultWholeNameKeys = []string{"user.name", "display_name"}

// maxNameBytes bounds what is taken as a name under a name key: a longer value is a text,
// scanned by the detectors like any other.
const maxNameBytes = 256

// NameKeyMatcher decides whether an attribute key names a person's name. It is immutable and
// safe for concurrent use.
type NameKeyMatcher struct {
	terms []nameTerm
	// byLast maps the hash of a term's last segment to the terms that end with it.
	byLast map[uint32][]int32
}

type nameTerm struct {
	segs  []string // lower case
	whole bool     // the key must be exactly the term
}

// NameKeyMatch is what a key says about its value.
type NameKeyMatch uint8

const (
	// NotNameKey: the key does not name a person's name.
	NotNameKey NameKeyMatch = iota
	// NameKey: the key names a person's name (customer_name, user.full_name).
	NameKey
	// NameKeyTail: the key is the end of a name key ("name", "holder"): it names a person's
	// name when the map holding it does ({"customer": {"name": ...}}); see MatchNested.
	NameKeyTail
)

// NewNameKeyMatcher returns a matcher for DefaultNameKeys() and DefaultWholeNameKeys() plus
// extra (matched as the last segments of a key), minus the defaults named in exclude. Names
// are compared after normalisation: "customer_name", "customerName" and "Customer-Name" are
// the same name. A term of several segments also matches written as one word
// ("customername", "username").
func NewNameKeyMatcher(extra []string, exclude []string) *NameKeyMatcher {
	excluded := make(map[string]bool, len(exclude))
	for _, name := range exclude {
		excluded[joinSegs(normalizeKeyString(name))] = true
	}
	n := &NameKeyMatcher{byLast: map[uint32][]int32{}}
	add := func(segs []string, whole bool) {
		n.terms = append(n.terms, nameTerm{segs: segs, whole: whole})
		if len(segs) > 1 {
			n.terms = append(n.terms, nameTerm{segs: []string{strings.Join(segs, "")}, whole: whole})
		}
	}
	for _, list := range []struct {
		names []string
		whole bool
	}{{defaultNameKeys, false}, {defaultWholeNameKeys, true}} {
		for _, name := range list.names {
			if segs := normalizeKeyString(name); len(segs) > 0 && !excluded[joinSegs(segs)] {
				add(segs, list.whole)
			}
		}
	}
	for _, name := range extra {
		if segs := normalizeKeyString(name); len(segs) > 0 {
			add(segs, false)
		}
	}
	for i, t := range n.terms {
		h := fnvString(t.segs[len(t.segs)-1])
		n.byLast[h] = append(n.byLast[h], int32(i))
	}
	return n
}

// keySeg is one segment of a key: a substring of it, and the hash of its lower-case form.
type keySeg struct {
	s string
	h uint32
}

const maxNameKeySegs = 24

func appendKeySegs(dst []keySeg, key string) []keySeg {
	var spans [maxNameKeySegs]span
	for _, sp := range splitKey(key, spans[:0]) {
		dst = append(dst, keySeg{s: sp.of(key), h: sp.hash})
	}
	return dst
}

// Match reports whether key names a person's name. It does not allocate for keys of up to
// 24 segments.
func (n *NameKeyMatcher) Match(key string) NameKeyMatch {
	if n == nil || key == "" {
		return NotNameKey
	}
	var arr [maxNameKeySegs]keySeg
	return n.match(appendKeySegs(arr[:0], key))
}

// MatchNested reports whether key, inside a map stored under parent, names a person's name:
// {"customer": {"name": ...}} is customer.name, {"user": {"name": ...}} is user.name.
func (n *NameKeyMatcher) MatchNested(parent, key string) bool {
	if n == nil || parent == "" || key == "" {
		return false
	}
	var arr [2 * maxNameKeySegs]keySeg
	segs := appendKeySegs(arr[:0], parent)
	return n.match(appendKeySegs(segs, key)) == NameKey
}

func (n *NameKeyMatcher) match(segs []keySeg) NameKeyMatch {
	if len(segs) == 0 {
		return NotNameKey
	}
	res := NotNameKey
	for _, ti := range n.byLast[segs[len(segs)-1].h] {
		t := &n.terms[ti]
		common := min(len(t.segs), len(segs))
		ok := true
		for x := 1; x <= common && ok; x++ {
			ok = equalLower(segs[len(segs)-x].s, t.segs[len(t.segs)-x])
		}
		switch {
		case !ok:
		case len(segs) == len(t.segs), len(segs) > len(t.segs) && !t.whole:
			return NameKey
		case len(segs) < len(t.segs):
			res = NameKeyTail
		}
	}
	return res
}

// placeholderNames are values that stand for no name at all.
var placeholderNames = []string{
	"unknown", "anonymous", "anon", "guest", "none", "null", "nil", "undefined", "n/a", "na",
	"redacted", "hidden", "-", "--", "?",
}

// LooksLikeName reports whether v, found under a name key, may be a person's name: at most
// 256 bytes, with a letter, not a placeholder (unknown, n/a, null, ...) and not a token the
// processor wrote ([REDACTED:...], [HASH:...], or masked: no name holds a '*'), so that a
// second pass changes nothing.
func LooksLikeName(v string) bool {
	if len(v) == 0 || len(v) > maxNameBytes {
		return false
	}
	if strings.HasPrefix(v, "[REDACTED:") || strings.HasPrefix(v, "[HASH:") || strings.IndexByte(v, '*') >= 0 {
		return false
	}
	letter := false
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if class[c]&(cLower|cUpper) != 0 {
				letter = true
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if unicode.IsLetter(r) {
			letter = true
			break
		}
		i += size
	}
	if !letter {
		return false
	}
	t := strings.TrimSpace(v)
	for _, p := range placeholderNames {
		if len(t) == len(p) && strings.EqualFold(t, p) {
			return false
		}
	}
	return true
}
