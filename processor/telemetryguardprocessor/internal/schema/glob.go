package schema

import "strings"

// glob is a key pattern split at its stars: "*.password" is prefix "", suffix
// ".password"; "*token*" has the one middle part "token". It matches keys as the globs of
// walk.Pattern do (field_encryption's fields): "*" is any run of characters, dots included.
type glob struct {
	prefix, suffix string
	middle         []string
	minLen         int
}

func newGlob(pattern string) glob {
	parts := strings.Split(pattern, "*")
	g := glob{prefix: parts[0], suffix: parts[len(parts)-1]}
	for _, p := range parts[1 : len(parts)-1] {
		if p != "" {
			g.middle = append(g.middle, p)
		}
	}
	for _, p := range parts {
		g.minLen += len(p)
	}
	return g
}

func (g *glob) match(s string) bool {
	if len(s) < g.minLen {
		return false
	}
	// Keys mostly differ in their first and last bytes: compare those before the rest.
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
