package detect

import (
	"slices"
	"strings"
)

// DefaultSensitiveKeys returns the key names KeyMatcher treats as sensitive, in the notation
// of NewKeyMatcher: each is normalised into segments and matches that sequence of segments
// (or, for several segments, their concatenation written as one: "apikey") anywhere in a
// key. "auth" stands for the header name "auth" (http.request.header.auth); authorization is
// its own entry.
func DefaultSensitiveKeys() []string { return slices.Clone(defaultSensitiveKeys) }

var defaultSensitiveKeys = []string{
	"password", "passwd", "pwd", "passphrase",
	"secret", "client_secret", "secret_key", "secret_access_key",
	"token", "access_token", "refresh_token", "id_token",
	"api_key", "apikey", "x-api-key",
	"authorization", "auth",
	"cookie", "set-cookie",
	"credentials", "credential",
	"cvv", "cvc", "ssn", "social_security", "national_id", "passport",
	"driver_license", "drivers_license", "credit_card", "card_number", "pan",
	"private_key",
}

// gluedSuffixes are the default terms that also match at the end of a longer segment, for
// keys written without separators or case: "dbpassword", "clientsecret", "accesstoken".
var gluedSuffixes = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "secret": true, "token": true, "apikey": true,
}

// headerOnly are default terms that only count as an HTTP header name.
var headerOnly = map[string]bool{"auth": true}

// descriptors are segments that, right after a sensitive term, make the key describe the
// secret rather than hold it: token_count, gen_ai token.type, password.length, secret.name.
var descriptors = map[string]bool{
	"count": true, "counts": true, "type": true, "types": true, "kind": true,
	"length": true, "len": true, "size": true, "limit": true, "limits": true, "usage": true,
	"expiry": true, "expires": true, "expiration": true, "expired": true, "ttl": true,
	"name": true, "names": true, "enabled": true, "present": true, "valid": true,
	"validity": true, "version": true, "policy": true, "format": true, "algorithm": true,
}

// KeyMatcher decides whether an attribute key names a sensitive value. Keys are normalised
// into segments: lower case, split on '.', '_', '-', '/', ':', spaces, camelCase and
// letter/digit boundaries, so user.password, clientSecret, X-Api-Key and
// http.request.header.authorization all match, while tokenizer, passage, secretary and
// gen_ai.usage.input_tokens do not. It is immutable and safe for concurrent use.
type KeyMatcher struct {
	// table maps a segment hash to 1 + the index in terms of the first term starting with a
	// segment of that hash (0: none); terms with the same bucket are chained by next.
	table []int32
	terms []keyTerm
	// glued are terms that also match at the end of a longer segment; gluedLast marks their
	// last bytes, a cheap test before comparing.
	glued     []string
	gluedLast [256]bool
	// trigrams holds, by hash, the first three bytes of every term's longest segment, for
	// sensitiveText's cheap test, and gluedTrigrams those of the glued terms, which need not
	// start a segment; anyKey is set when a term has no segment of three bytes, which turns
	// the test off.
	trigrams, gluedTrigrams [64]uint64
	gluedFirst              [256]bool
	anyKey                  bool
}

type keyTerm struct {
	segs   []string // lower case; the first is looked up by hash
	header bool     // match only right after a "header" segment
	next   int32
}

// NewKeyMatcher returns a matcher for DefaultSensitiveKeys() plus extra, minus the defaults
// named in exclude. Names are compared after normalisation, so "client_secret" and
// "clientSecret" are the same name; excluding "token" keeps access_token, which is its own
// entry. Extra names match exactly (as segments), never as suffixes.
func NewKeyMatcher(extra []string, exclude []string) *KeyMatcher {
	excluded := make(map[string]bool, len(exclude))
	for _, name := range exclude {
		excluded[joinSegs(normalizeKeyString(name))] = true
	}
	k := &KeyMatcher{}
	var terms []keyTerm
	add := func(segs []string, header bool) {
		terms = append(terms, keyTerm{segs: segs, header: header})
		if len(segs) > 1 { // the same name written as one word: "apikey", "clientsecret"
			terms = append(terms, keyTerm{segs: []string{strings.Join(segs, "")}, header: header})
		}
	}
	for _, name := range defaultSensitiveKeys {
		segs := normalizeKeyString(name)
		id := joinSegs(segs)
		if len(segs) == 0 || excluded[id] {
			continue
		}
		add(segs, headerOnly[id])
		if gluedSuffixes[id] {
			k.glued = append(k.glued, id)
			k.gluedLast[id[len(id)-1]] = true
		}
	}
	for _, name := range extra {
		if segs := normalizeKeyString(name); len(segs) > 0 {
			add(segs, false)
		}
	}
	size := 16
	for size < 4*len(terms) {
		size *= 2
	}
	k.table = make([]int32, size)
	k.terms = terms
	for _, t := range terms {
		longest := ""
		for _, sg := range t.segs {
			if len(sg) > len(longest) {
				longest = sg
			}
		}
		if len(longest) < 3 {
			k.anyKey = true
			continue
		}
		h := trigramHash(longest[0], longest[1], longest[2])
		k.trigrams[h>>6] |= 1 << (h & 63)
	}
	for _, g := range k.glued {
		h := trigramHash(g[0], g[1], g[2])
		k.gluedTrigrams[h>>6] |= 1 << (h & 63)
		k.gluedFirst[g[0]], k.gluedFirst[g[0]-'a'+'A'] = true, true
	}
	for i := range k.terms {
		b := fnvString(k.terms[i].segs[0]) & uint32(size-1)
		k.terms[i].next = k.table[b]
		k.table[b] = int32(i + 1)
	}
	return k
}

// span is a segment of a key, key[start:end], with the hash of its lower-case form.
type span struct {
	start, end int32
	hash       uint32
}

func (sp span) of(key string) string { return key[sp.start:sp.end] }

// Sensitive reports whether key names a sensitive value. It works on the key in place (no
// lower-cased copy) and does not allocate for keys of up to 24 segments.
func (k *KeyMatcher) Sensitive(key string) bool {
	if k == nil || key == "" {
		return false
	}
	var segArr [24]span
	segs := splitKey(key, segArr[:0])
	mask := uint32(len(k.table) - 1)
	for p, sg := range segs {
		seg := sg.of(key)
		for e := k.table[sg.hash&mask]; e != 0; e = k.terms[e-1].next {
			t := &k.terms[e-1]
			if equalLower(seg, t.segs[0]) && k.termAt(key, segs, p, t) {
				return true
			}
		}
		if len(seg) > 4 && k.gluedLast[lower(seg[len(seg)-1])] {
			for _, g := range k.glued {
				if len(seg) > len(g) && equalLower(seg[len(seg)-len(g):], g) && !descriptorAt(key, segs, p+1) {
					return true
				}
			}
		}
	}
	return false
}

// sensitiveText is Sensitive for a key found in text before '=' or ':', behind a cheap
// test: a sensitive key holds a term's longest segment, so it holds that segment's first
// three bytes where a segment may start (or a glued term's anywhere), and most keys in text
// (status, took, trace_id, span_id) hold none.
func (k *KeyMatcher) sensitiveText(key string) bool {
	if k == nil {
		return false
	}
	if !k.anyKey {
		hit := false
		for i := 0; i+2 < len(key) && !hit; i++ {
			start := maySegmentStart(key, i)
			if !start && !k.gluedFirst[key[i]] {
				continue
			}
			h := trigramHash(lower(key[i]), lower(key[i+1]), lower(key[i+2]))
			bit := uint64(1) << (h & 63)
			hit = k.gluedTrigrams[h>>6]&bit != 0 || (start && k.trigrams[h>>6]&bit != 0)
		}
		if !hit {
			return false
		}
	}
	return k.Sensitive(key)
}

// maySegmentStart reports whether splitKey could start a segment at key[i]: at the start,
// after a separator, at a change of byte kind, or at a capital (a superset of the real
// boundaries, so that the test above never hides a sensitive key).
func maySegmentStart(key string, i int) bool {
	if i == 0 {
		return true
	}
	prev, cur := keyKind[key[i-1]], keyKind[key[i]]
	return cur != kSep && (prev == kSep || prev != cur || cur == kUpper)
}

// trigramHash maps three lower-case bytes to 12 bits.
func trigramHash(a, b, c byte) uint32 {
	return (uint32(a)<<16 | uint32(b)<<8 | uint32(c)) * 2654435761 >> 20
}

// termAt reports whether the rest of t's segments follow segment p and are not followed by
// a descriptor.
func (k *KeyMatcher) termAt(key string, segs []span, p int, t *keyTerm) bool {
	if p+len(t.segs) > len(segs) {
		return false
	}
	for x := 1; x < len(t.segs); x++ {
		if !equalLower(segs[p+x].of(key), t.segs[x]) {
			return false
		}
	}
	if t.header && (p == 0 || !equalLower(segs[p-1].of(key), "header")) {
		return false
	}
	return !descriptorAt(key, segs, p+len(t.segs))
}

// descriptorTable holds the descriptors by hash, like KeyMatcher.table.
var descriptorTable = func() (t [64][]string) {
	for d := range descriptors {
		h := fnvString(d) & 63
		t[h] = append(t[h], d)
	}
	return t
}()

func descriptorAt(key string, segs []span, p int) bool {
	if p >= len(segs) {
		return false
	}
	for _, d := range descriptorTable[segs[p].hash&63] {
		if equalLower(segs[p].of(key), d) {
			return true
		}
	}
	return false
}

// equalLower reports whether s, folded to lower case, equals the lower-case lc.
func equalLower(s, lc string) bool {
	if len(s) != len(lc) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lc[i] {
			return false
		}
	}
	return true
}

// FNV-1a over the lower-case bytes, computed while splitting.
const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

func fnvString(s string) uint32 {
	h := fnvOffset
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(lower(s[i]))) * fnvPrime
	}
	return h
}

// Byte kinds for splitting keys.
const (
	kSep   = iota // ends a segment: . _ - / : space tab [ ] @ # $
	kLower        // a-z
	kUpper        // A-Z
	kDigit        // 0-9
	kOther        // anything else, kept in the segment
)

var keyKind = func() (t [256]uint8) {
	for c := range t {
		switch b := byte(c); {
		case class[b]&cLower != 0:
			t[c] = kLower
		case isUpper(b):
			t[c] = kUpper
		case isDigit(b):
			t[c] = kDigit
		default:
			t[c] = kOther
		}
	}
	for _, c := range []byte("._-/: \t[]@#$") {
		t[c] = kSep
	}
	return t
}()

// breakBefore[prev][cur] marks a segment boundary between two bytes: lower or digit to
// upper ("clientSecret"), and between letters and digits ("cvv2", "oauth2Token"). An
// upper-case run followed by lower case ("APIKey") is handled apart: it needs the next byte.
var breakBefore = [5][5]bool{
	kLower: {kUpper: true, kDigit: true},
	kUpper: {kDigit: true},
	kDigit: {kLower: true, kUpper: true},
}

// splitKey appends the segments of key to segs. A segment boundary falls at a separator,
// between a lower-case letter or digit and an upper-case letter ("clientSecret"), before
// the last capital of an acronym that starts a word ("APIKey" -> api, key), and between
// letters and digits ("cvv2" -> cvv, 2).
func splitKey(key string, segs []span) []span {
	start, h, prev := 0, fnvOffset, uint8(kSep)
	for i := 0; i < len(key); i++ {
		c := key[i]
		kind := keyKind[c]
		if kind == kSep || breakBefore[prev][kind] ||
			(prev == kUpper && kind == kUpper && i+1 < len(key) && keyKind[key[i+1]] == kLower) {
			if i > start {
				segs = append(segs, span{int32(start), int32(i), h})
			}
			start, h, prev = i, fnvOffset, kind
			if kind == kSep {
				start++
				continue
			}
		}
		prev = kind
		h = (h ^ uint32(lower(c))) * fnvPrime
	}
	if len(key) > start {
		segs = append(segs, span{int32(start), int32(len(key)), h})
	}
	return segs
}

// normalizeKeyString returns the lower-case segments of name.
func normalizeKeyString(name string) []string {
	segs := splitKey(name, nil)
	out := make([]string, len(segs))
	for i, sg := range segs {
		b := []byte(sg.of(name))
		for j, c := range b {
			b[j] = lower(c) // ASCII only, as Sensitive compares
		}
		out[i] = string(b)
	}
	return out
}

func joinSegs(segs []string) string {
	out := ""
	for i, s := range segs {
		if i > 0 {
			out += "_"
		}
		out += s
	}
	return out
}
