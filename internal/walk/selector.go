package walk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Pattern names values for a selection walk.
type Pattern struct {
	// Key is one of:
	//   - an attribute key, matched exactly: `password`, `http.request.header.authorization`;
	//   - a glob over attribute keys, where `*` matches any run of characters, dots
	//     included: `*.api_key`, `http.request.header.*`, `*token*`, `*` (every key);
	//   - a path into log record bodies: `body` (the whole body), `body.user.card` (the body
	//     map's key `user`, then that map's key `card`); a step whose key holds a dot or
	//     another character of the syntax is quoted as Go quotes strings: `body["e.mail"]`.
	//
	// Attribute patterns are matched against the top-level keys of the attribute maps; body
	// paths step through maps only (a slice on the way selects nothing). A selected value is
	// shown whole, whatever its type, and nothing inside it is visited on its own.
	Key string
	// Levels narrows an attribute pattern to these levels; empty means every level. A body
	// path is a log record's, so its Levels must be empty or hold LevelLogRecord.
	Levels LevelSet
}

// Validate reports what is wrong with p, naming the pattern and why, or nil. It does what
// CompileSelector checks, so a configuration can be validated before anything is compiled.
func (p Pattern) Validate() error {
	_, err := parsePattern(p)
	return err
}

// isBody reports whether key names a log body rather than an attribute.
func isBody(key string) bool {
	return key == "body" || strings.HasPrefix(key, "body.") || strings.HasPrefix(key, "body[")
}

// parsed is a pattern after parsing: an attribute key or glob, or the steps of a body path.
type parsed struct {
	body  bool
	steps []string // body path steps below the root
	glob  []string // for an attribute glob, the literal parts between the stars
	key   string   // for an exact attribute key
}

func parsePattern(p Pattern) (parsed, error) {
	bad := func(why string, args ...any) (parsed, error) {
		return parsed{}, fmt.Errorf("pattern %q: %s", p.Key, fmt.Sprintf(why, args...))
	}
	k := p.Key
	switch {
	case k == "":
		return bad("empty key")
	case strings.TrimSpace(k) != k:
		return bad("leading or trailing white space")
	case p.Levels&^AllLevels != 0:
		return bad("unknown level in the level set")
	}
	if isBody(k) {
		if p.Levels != 0 && !p.Levels.Has(LevelLogRecord) {
			return bad("a body path selects log record bodies, so its levels must be empty or include log_record")
		}
		steps, err := parseBodyPath(k[len("body"):])
		if err != nil {
			return bad("%v", err)
		}
		return parsed{body: true, steps: steps}, nil
	}
	if !strings.Contains(k, "*") {
		return parsed{key: k}, nil
	}
	return parsed{glob: strings.Split(k, "*")}, nil
}

// parseBodyPath parses the steps after "body": .key or ["quoted key"], repeated.
func parseBodyPath(s string) ([]string, error) {
	var steps []string
	for s != "" {
		switch s[0] {
		case '.':
			end := strings.IndexAny(s[1:], ".[")
			if end < 0 {
				end = len(s) - 1
			}
			key := s[1 : 1+end]
			switch {
			case key == "":
				return nil, errors.New("empty step in body path (two dots, or a dot at the end)")
			case strings.Contains(key, "*"):
				return nil, errors.New("globs are not supported in body paths; quote a key that holds a star: body[\"a*b\"]")
			case strings.ContainsAny(key, "]\""):
				return nil, fmt.Errorf("step %q holds ] or \"; quote it: body[%s]", key, strconv.Quote(key))
			}
			steps = append(steps, key)
			s = s[1+end:]
		case '[':
			rest := s[1:]
			if rest == "" || rest[0] != '"' {
				return nil, errors.New(`a bracketed step must be a quoted map key such as ["e.mail"] (slice indexes are not supported)`)
			}
			quoted, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, errors.New(`unterminated quoted step (want ["key"])`)
			}
			key, err := strconv.Unquote(quoted)
			if err != nil {
				return nil, fmt.Errorf("quoted step %s: %w", quoted, err)
			}
			rest = rest[len(quoted):]
			if rest == "" || rest[0] != ']' {
				return nil, fmt.Errorf("missing ] after %s", quoted)
			}
			steps = append(steps, key)
			s = rest[1:]
		default:
			return nil, fmt.Errorf("unexpected %q in body path (want .key or [\"key\"])", s[:1])
		}
	}
	return steps, nil
}

// Selector is a compiled set of Patterns. It is immutable, so one Selector serves every walk
// and goroutine; compile it once, when the configuration is loaded.
type Selector struct {
	patterns []Pattern
	levels   [numLevels]levelKeys
	// attrLevels has the levels with at least one attribute pattern.
	attrLevels LevelSet
	// body is the root of the body path tree; nil without body paths.
	body *bodyNode
}

// levelKeys are the attribute patterns of one level.
type levelKeys struct {
	exact []indexedKey
	// exactSet indexes exact by key when globs force a pass over every key and there are
	// enough exact keys for a hash lookup to beat comparing each.
	exactSet map[string]int
	globs    []glob
}

// exactSetMin is the number of exact keys from which a key-by-key pass looks them up in a map.
const exactSetMin = 8

type indexedKey struct {
	key     string
	pattern int
}

// Glob is a key pattern whose '*' matches any run of characters, dots included, as the globs
// of Pattern: it matches keys that start with the part before the first star, end with the
// part after the last, and hold the parts between in order. The zero Glob matches "".
type Glob struct {
	prefix, suffix string
	middle         []string
	minLen         int
}

// NewGlob compiles pattern, which holds at least one star ("*.password", "*token*",
// "http.*.size").
func NewGlob(pattern string) Glob { return globOf(strings.Split(pattern, "*")) }

// globOf compiles the literal parts between the stars of a glob (at least two).
func globOf(parts []string) Glob {
	g := Glob{prefix: parts[0], suffix: parts[len(parts)-1]}
	for _, m := range parts[1 : len(parts)-1] {
		if m != "" { // consecutive stars are one
			g.middle = append(g.middle, m)
		}
	}
	g.minLen = len(g.prefix) + len(g.suffix)
	for _, m := range g.middle {
		g.minLen += len(m)
	}
	return g
}

// Match reports whether key s matches. It allocates nothing.
func (g *Glob) Match(s string) bool {
	if len(s) < g.minLen {
		return false
	}
	// Most keys fail on their first or last byte: test it before comparing the rest.
	if p := g.prefix; p != "" && (s[0] != p[0] || s[:len(p)] != p) {
		return false
	}
	if x := g.suffix; x != "" && (s[len(s)-1] != x[len(x)-1] || s[len(s)-len(x):] != x) {
		return false
	}
	s = s[len(g.prefix) : len(s)-len(g.suffix)]
	for _, m := range g.middle {
		i := strings.Index(s, m)
		if i < 0 {
			return false
		}
		s = s[i+len(m):]
	}
	return true
}

// glob is a Glob of a selector, with the index of its pattern.
type glob struct {
	Glob
	pattern int
}

func newGlob(parts []string, pattern int) glob { return glob{Glob: globOf(parts), pattern: pattern} }

// bodyNode is a step of the body path tree: the root is the body itself.
type bodyNode struct {
	// pattern selects this node's value (the lowest index of the patterns naming it), or -1.
	pattern  int
	keys     []string
	children []*bodyNode
}

func (n *bodyNode) child(key string) *bodyNode {
	for i, k := range n.keys {
		if k == key {
			return n.children[i]
		}
	}
	c := &bodyNode{pattern: -1}
	n.keys = append(n.keys, key)
	n.children = append(n.children, c)
	return c
}

// CompileSelector compiles patterns into a Selector. Every invalid pattern is reported, each
// as `patterns[i]: pattern "...": why`. Patterns repeated, or repeated at some levels, are
// merged; a value is shown once however many patterns select it.
func CompileSelector(patterns ...Pattern) (*Selector, error) {
	s := &Selector{patterns: append([]Pattern(nil), patterns...)}
	var errs []error
	for i, p := range patterns {
		pp, err := parsePattern(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("patterns[%d]: %w", i, err))
			continue
		}
		if pp.body {
			if s.body == nil {
				s.body = &bodyNode{pattern: -1}
			}
			n := s.body
			for _, step := range pp.steps {
				n = n.child(step)
			}
			if n.pattern < 0 {
				n.pattern = i
			}
			continue
		}
		levels := p.Levels
		if levels == 0 {
			levels = AllLevels
		}
		s.attrLevels |= levels
		for l := Level(0); l < numLevels; l++ {
			if !levels.Has(l) {
				continue
			}
			lk := &s.levels[l]
			if pp.glob != nil {
				lk.globs = append(lk.globs, newGlob(pp.glob, i))
			} else if !lk.hasExact(pp.key) {
				lk.exact = append(lk.exact, indexedKey{key: pp.key, pattern: i})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for l := range s.levels {
		lk := &s.levels[l]
		if len(lk.globs) > 0 && len(lk.exact) >= exactSetMin {
			lk.exactSet = make(map[string]int, len(lk.exact))
			for _, e := range lk.exact {
				lk.exactSet[e.key] = e.pattern
			}
		}
	}
	return s, nil
}

func (lk *levelKeys) hasExact(key string) bool {
	for _, e := range lk.exact {
		if e.key == key {
			return true
		}
	}
	return false
}

// match returns the index of the pattern that selects key at this level (the lowest when
// several do), or -1.
func (lk *levelKeys) match(key string) int {
	best := -1
	if lk.exactSet != nil {
		if i, ok := lk.exactSet[key]; ok {
			best = i
		}
	} else {
		for _, e := range lk.exact {
			if e.key == key {
				best = e.pattern
				break
			}
		}
	}
	for i := range lk.globs {
		g := &lk.globs[i]
		if best >= 0 && g.pattern > best {
			break // globs are in pattern order
		}
		if g.Match(key) {
			return g.pattern
		}
	}
	return best
}

// Patterns returns the patterns the Selector was compiled from, in their order (the indexes
// of Location.PatternIndex).
func (s *Selector) Patterns() []Pattern { return append([]Pattern(nil), s.patterns...) }

// Selects reports whether the selector can select anything at level l (an attribute
// pattern, or for LevelLogRecord a body path).
func (s *Selector) Selects(l Level) bool {
	return s.attrLevels.Has(l) || (l == LevelLogRecord && s.body != nil)
}
