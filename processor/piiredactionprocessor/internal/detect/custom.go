package detect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// customPattern is a compiled CustomPattern with its prefilter.
type customPattern struct {
	name string
	re   *regexp.Regexp
	pre  prefilter
}

func compileCustom(p CustomPattern) (customPattern, error) {
	if p.Name == "" {
		return customPattern{}, fmt.Errorf("custom pattern %q: name is empty", p.Regexp)
	}
	if p.Regexp == "" {
		return customPattern{}, fmt.Errorf("custom pattern %q: regexp is empty", p.Name)
	}
	re, err := regexp.Compile(p.Regexp)
	if err != nil {
		return customPattern{}, fmt.Errorf("custom pattern %q: %w", p.Name, err)
	}
	return customPattern{name: p.Name, re: re, pre: newPrefilter(p.Regexp)}, nil
}

// find appends the non-empty matches of the pattern in v, unless the prefilter proves there
// are none.
func (c *customPattern) find(v string, index int, dst []Match) []Match {
	if !c.pre.pass(v) {
		return dst
	}
	for _, loc := range c.re.FindAllStringIndex(v, -1) {
		if loc[1] > loc[0] {
			dst = append(dst, Match{Start: loc[0], End: loc[1], Type: Custom, Custom: index})
		}
	}
	return dst
}

// literal is a string every match contains, compared ASCII case-insensitively if fold.
type literal struct {
	s    string
	fold bool
}

func (l literal) in(v string) bool {
	if !l.fold {
		return strings.Contains(v, l.s)
	}
	return containsFold(v, l.s)
}

// prefilter is a conjunction of disjunctions of literals: each group names literals of which
// every match contains at least one. A value failing any group cannot match, and strings.Contains
// is far cheaper than running the regexp. An empty prefilter passes everything.
type prefilter [][]literal

// maxPrefilterGroups keeps the check cheap; the longest literals are kept.
const maxPrefilterGroups = 4

func (p prefilter) pass(v string) bool {
	for _, group := range p {
		found := false
		for _, l := range group {
			if l.in(v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// newPrefilter extracts required literals from a pattern that has already compiled.
func newPrefilter(expr string) prefilter {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	groups := required(re.Simplify())
	slices.SortStableFunc(groups, func(a, b []literal) int { return shortest(b) - shortest(a) })
	if len(groups) > maxPrefilterGroups {
		groups = groups[:maxPrefilterGroups]
	}
	return groups
}

func shortest(g []literal) int {
	n := -1
	for _, l := range g {
		if n < 0 || len(l.s) < n {
			n = len(l.s)
		}
	}
	return n
}

// required returns literal groups that every match of re contains.
func required(re *syntax.Regexp) [][]literal {
	switch re.Op {
	case syntax.OpLiteral:
		if l, ok := toLiteral(re); ok {
			return [][]literal{{l}}
		}
	case syntax.OpConcat:
		var out [][]literal
		for _, sub := range re.Sub {
			out = append(out, required(sub)...)
		}
		return out
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpAlternate:
		// One literal per branch: the longest one that branch requires.
		var group []literal
		for _, sub := range re.Sub {
			best, ok := literal{}, false
			for _, g := range required(sub) {
				if len(g) == 1 && len(g[0].s) > len(best.s) {
					best, ok = g[0], true
				}
			}
			if !ok {
				return nil
			}
			group = append(group, best)
		}
		return [][]literal{group}
	}
	return nil
}

// toLiteral converts a literal node. Case-insensitive literals are compared ASCII-only, so
// they are cut at the letters that also fold to non-ASCII runes (k to U+212A KELVIN SIGN, s to
// U+017F LONG S) and the longest ASCII piece is kept.
func toLiteral(re *syntax.Regexp) (literal, bool) {
	fold := re.Flags&syntax.FoldCase != 0
	if !fold {
		return literal{s: string(re.Rune)}, len(re.Rune) > 0
	}
	best, cur := "", []byte(nil)
	for _, r := range append(re.Rune, 'k') { // the sentinel flushes the last piece
		if r >= utf8.RuneSelf {
			return literal{}, false
		}
		c := lower(byte(r))
		if c == 'k' || c == 's' {
			if len(cur) > len(best) {
				best = string(cur)
			}
			cur = cur[:0]
			continue
		}
		cur = append(cur, c)
	}
	return literal{s: best, fold: true}, best != ""
}

// containsFold reports whether v contains the lower-case ASCII string sub, ignoring ASCII
// case in v.
func containsFold(v, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	first := sub[0]
	upperFirst := first
	if first >= 'a' && first <= 'z' {
		upperFirst = first - 'a' + 'A'
	}
	for i := 0; i+n <= len(v); i++ {
		if c := v[i]; c != first && c != upperFirst {
			continue
		}
		if hasPrefixFold(v[i:], sub) {
			return true
		}
	}
	return false
}
