package detect

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// newTestScanner returns a scanner for ts, failing the test on error.
func newTestScanner(t testing.TB, o Options) *Scanner {
	t.Helper()
	s, err := NewScanner(o)
	require.NoError(t, err)
	return s
}

var allScanner = func() *Scanner {
	s, err := NewScanner(Options{Types: AllBuiltin})
	if err != nil {
		panic(err)
	}
	return s
}()

// found renders matches as "type:text" for readable assertions.
func found(s *Scanner, v string) []string {
	ms, _ := s.Scan(v, nil)
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Type.String()+":"+v[m.Start:m.End])
	}
	return out
}
