package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTypeNames(t *testing.T) {
	want := []string{"email", "card", "ssn", "phone", "ipv4", "ipv6", "iban", "jwt", "bearer",
		"basic_auth", "aws_key", "private_key", "credential"}
	var got []string
	for _, ty := range BuiltinTypes() {
		got = append(got, ty.String())
		parsed, ok := ParseType(ty.String())
		require.True(t, ok, ty.String())
		assert.Equal(t, ty, parsed)
		assert.True(t, AllBuiltin.Has(ty))
	}
	assert.Equal(t, want, got)
	assert.Equal(t, "custom", Custom.String())
	assert.Equal(t, "sensitive_key", SensitiveKey.String())
	assert.Equal(t, "unknown", Type(0).String())
	assert.Equal(t, "unknown", Type(200).String())
	for _, bad := range []string{"", "Email", "credit_card", "unknown"} {
		_, ok := ParseType(bad)
		assert.False(t, ok, bad)
	}
	assert.False(t, AllBuiltin.Has(Custom))
	assert.False(t, AllBuiltin.Has(SensitiveKey))
	set := Types(Email, Card)
	assert.True(t, set.Has(Email))
	assert.False(t, set.Has(SSN))
	assert.Equal(t, Types(Email), set.Without(Card))
	assert.Equal(t, AllBuiltin, Types(BuiltinTypes()...))
}

func TestNewScannerErrors(t *testing.T) {
	_, err := NewScanner(Options{Custom: []CustomPattern{{Name: "order", Regexp: `ORD-(\d+`}}})
	require.ErrorContains(t, err, `custom pattern "order"`)

	_, err = NewScanner(Options{Custom: []CustomPattern{
		{Name: "a", Regexp: `x`}, {Name: "a", Regexp: `y`}, {Name: "", Regexp: `z`}, {Name: "e"},
	}})
	require.Error(t, err)
	assert.ErrorContains(t, err, `custom[1]: custom pattern "a": duplicate name`)
	assert.ErrorContains(t, err, `custom[2]: custom pattern "z": name is empty`)
	assert.ErrorContains(t, err, `custom[3]: custom pattern "e": regexp is empty`)

	_, err = NewScanner(Options{MaxScanBytes: -1})
	assert.ErrorContains(t, err, "max scan bytes")
	_, err = NewScanner(Options{Types: 1 << 30})
	assert.ErrorContains(t, err, "unknown detector types")

	s, err := NewScanner(Options{Types: AllBuiltin.With(Custom).With(SensitiveKey)})
	require.NoError(t, err)
	assert.Equal(t, AllBuiltin, s.Types())
	assert.Equal(t, DefaultMaxScanBytes, s.MaxScanBytes())
}

func TestTypesSelectDetectors(t *testing.T) {
	v := "john@example.com 4111111111111111 078-05-1120 10.0.0.1"
	assert.Equal(t, []string{"email:john@example.com"}, found(newTestScanner(t, Options{Types: Types(Email)}), v))
	assert.Equal(t, []string{"card:4111111111111111", "ipv4:10.0.0.1"},
		found(newTestScanner(t, Options{Types: Types(Card, IPv4)}), v))
	assert.Empty(t, found(newTestScanner(t, Options{}), v))
	var nilScanner *Scanner
	ms, truncated := nilScanner.Scan(v, nil)
	assert.Empty(t, ms)
	assert.False(t, truncated)
}

func TestCustomPatterns(t *testing.T) {
	s := newTestScanner(t, Options{Types: Types(Email), Custom: []CustomPattern{
		{Name: "employee", Regexp: `EMP-\d{6}`},
		{Name: "ticket", Regexp: `(?i)tick(et)?-[0-9]+`},
		{Name: "empty_matches", Regexp: `x*`},
	}})
	assert.Equal(t, "employee", s.CustomName(0))
	assert.Equal(t, "", s.CustomName(7))
	ms, _ := s.Scan("EMP-123456 by TICKET-9 and tick-10 for a@example.com", nil)
	require.Len(t, ms, 4)
	assert.Equal(t, Match{Start: 0, End: 10, Type: Custom, Custom: 0}, ms[0])
	assert.Equal(t, Match{Start: 14, End: 22, Type: Custom, Custom: 1}, ms[1])
	assert.Equal(t, Match{Start: 27, End: 34, Type: Custom, Custom: 1}, ms[2])
	assert.Equal(t, Match{Start: 39, End: 52, Type: Email, Custom: -1}, ms[3])
	// Builtins win ties: a custom pattern matching exactly an e-mail is reported as e-mail.
	s = newTestScanner(t, Options{Types: Types(Email), Custom: []CustomPattern{{Name: "mail", Regexp: `\S+@\S+`}}})
	assert.Equal(t, []string{"email:a@example.com"}, found(s, "a@example.com"))
}

func TestPrefilter(t *testing.T) {
	tests := []struct {
		expr string
		want [][]string // literal groups; "~" prefix marks case folding
		pass []string
		fail []string
	}{
		{`EMP-\d{6}`, [][]string{{"EMP-"}}, []string{"x EMP-1"}, []string{"emp-123456", "EM P"}},
		{`(?i)ticket-\d+`, [][]string{{"~tic"}}, []string{"TICKET-1"}, []string{"bug-1"}},
		{`(foo|barbaz)\d`, [][]string{{"foo", "barbaz"}}, []string{"barbaz1", "foo"}, []string{"bar"}},
		{`\d{5}`, nil, []string{"anything"}, nil},
		{`a|\d`, nil, []string{"zzz"}, nil},
		{`(?:abc)?def`, [][]string{{"def"}}, []string{"def"}, []string{"abc"}},
		{`x(?:yz)+`, [][]string{{"x"}, {"yz"}}, []string{"xyz"}, []string{"x y z"}},
		{`(?i)é`, nil, []string{"É"}, nil},
	}
	for _, tc := range tests {
		p := newPrefilter(tc.expr)
		var got [][]string
		for _, g := range p {
			var lits []string
			for _, l := range g {
				s := l.s
				if l.fold {
					s = "~" + s
				}
				lits = append(lits, s)
			}
			got = append(got, lits)
		}
		slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		want := tc.want
		slices.SortFunc(want, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		assert.Equal(t, want, got, tc.expr)
		for _, v := range tc.pass {
			assert.True(t, p.pass(v), "%s should pass %q", tc.expr, v)
		}
		for _, v := range tc.fail {
			assert.False(t, p.pass(v), "%s should reject %q", tc.expr, v)
		}
	}
}

// TestPrefilterNeverHidesAMatch runs patterns over values with and without the prefilter.
func TestPrefilterNeverHidesAMatch(t *testing.T) {
	exprs := []string{`EMP-\d{6}`, `(?i)secret[=:]\S+`, `(?i)kelvin`, `(ab|cd)+e`, `x{2,}y`, `[a-z]+@corp`}
	values := []string{"EMP-123456", "SECRET=1", "ſecret:x", "KELVIN", "\u212aelvin", "ababcde", "xxxy", "bob@corp", "none"}
	for _, expr := range exprs {
		s := newTestScanner(t, Options{Custom: []CustomPattern{{Name: "p", Regexp: expr}}})
		for _, v := range values {
			ms, _ := s.Scan(v, nil)
			want := s.custom[0].re.MatchString(v)
			assert.Equal(t, want, len(ms) > 0, "%s on %q", expr, v)
		}
	}
}

func TestTruncated(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin, MaxScanBytes: 20})
	ms, truncated := s.Scan("john@example.com and 4111111111111111", nil)
	assert.True(t, truncated)
	assert.Equal(t, []Match{{Start: 0, End: 16, Type: Email, Custom: -1}}, ms)
	ms, truncated = s.Scan("john@example.com", nil)
	assert.False(t, truncated)
	assert.Len(t, ms, 1)
}

func TestScanAppends(t *testing.T) {
	prev := Match{Start: 100, End: 101, Type: Card, Custom: -1}
	ms, _ := allScanner.Scan("b@example.com a@example.com", []Match{prev})
	require.Len(t, ms, 3)
	assert.Equal(t, prev, ms[0], "existing elements are left alone")
	assert.Equal(t, 0, ms[1].Start)
	assert.Equal(t, 14, ms[2].Start)
}

func TestResolve(t *testing.T) {
	m := func(s, e int, ty Type, c int) Match { return Match{Start: s, End: e, Type: ty, Custom: c} }
	tests := []struct {
		name string
		in   []Match
		want []Match
	}{
		{"disjoint", []Match{m(5, 8, Email, -1), m(0, 3, Card, -1)}, []Match{m(0, 3, Card, -1), m(5, 8, Email, -1)}},
		{"earliest start wins", []Match{m(2, 9, Card, -1), m(0, 4, Phone, -1)}, []Match{m(0, 9, Phone, -1)}},
		{"longest wins at same start", []Match{m(0, 4, JWT, -1), m(0, 9, IPv4, -1)}, []Match{m(0, 9, IPv4, -1)}},
		{"precedence at same span", []Match{m(0, 9, Bearer, -1), m(0, 9, JWT, -1), m(0, 9, Custom, 0)}, []Match{m(0, 9, JWT, -1)}},
		{"custom order", []Match{m(0, 9, Custom, 2), m(0, 9, Custom, 1)}, []Match{m(0, 9, Custom, 1)}},
		{"contained is dropped", []Match{m(0, 10, PrivateKey, -1), m(3, 5, AWSKey, -1)}, []Match{m(0, 10, PrivateKey, -1)}},
		{"touching spans stay apart", []Match{m(0, 3, SSN, -1), m(3, 6, SSN, -1)}, []Match{m(0, 3, SSN, -1), m(3, 6, SSN, -1)}},
		{"chain is covered", []Match{m(0, 4, Phone, -1), m(3, 8, Card, -1), m(7, 12, Email, -1)}, []Match{m(0, 12, Phone, -1)}},
		{"duplicates", []Match{m(1, 2, IPv4, -1), m(1, 2, IPv4, -1)}, []Match{m(1, 2, IPv4, -1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, resolve(slices.Clone(tc.in)))
		})
	}
}

// determinismInputs mix every detector with overlaps and near misses.
var determinismInputs = []string{
	"Authorization: Bearer " + testJWT + " from 10.0.0.1 user john@example.com",
	"card 4111 1111 1111 1111 ssn 078-05-1120 phone +1 415 555 0132 iban GB82 WEST 1234 5698 7654 32",
	"key AKIAIOSFODNN7EXAMPLE secret aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY EMP-20260102",
	testPEM + " Basic dXNlcjpwYXNz ::ffff:192.168.1.20 2001:db8::1 +44 4111 1111 1111 1111",
	"EMP-123456 john.EMP-123456@example.com 415-555-0132 4111111111111111@example.com",
}

var determinismCustom = []CustomPattern{
	{Name: "emp", Regexp: `EMP-\d+`},
	{Name: "digits", Regexp: `\d{4,}`},
	{Name: "word_at", Regexp: `\w+@`},
}

// TestDeterminism: the result does not depend on the order candidates were found in.
func TestDeterminism(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin, Custom: determinismCustom})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range determinismInputs {
		var raw []Match
		raw, _ = s.scanBuiltin(v, raw)
		for i := range s.custom {
			raw = s.custom[i].find(v, i, raw)
		}
		require.Greater(t, len(raw), 2, "input %q should produce overlapping candidates", v)
		want := resolve(slices.Clone(raw))
		for range 50 {
			shuffled := slices.Clone(raw)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			assert.Equal(t, want, resolve(shuffled), "input %q", v)
		}
		got, _ := s.Scan(v, nil)
		assert.Equal(t, want, got)
	}
}

// TestMonotonicity: enabling one more type never uncovers a byte, and an old match only
// changes when a match that sorts before it overlaps it.
func TestMonotonicity(t *testing.T) {
	types := BuiltinTypes()
	for _, v := range determinismInputs {
		for mask := range 1 << 6 { // subsets of six types, rotated through the list
			for rot := 0; rot < len(types); rot += 3 {
				var base TypeSet
				for b := range 6 {
					if mask&(1<<b) != 0 {
						base = base.With(types[(rot+b)%len(types)])
					}
				}
				for _, extra := range types {
					if base.Has(extra) {
						continue
					}
					before, _ := newTestScanner(t, Options{Types: base, Custom: determinismCustom}).Scan(v, nil)
					after, _ := newTestScanner(t, Options{Types: base.With(extra), Custom: determinismCustom}).Scan(v, nil)
					for _, old := range before {
						cover := covering(after, old)
						require.NotNil(t, cover, "%q: %v lost enabling %v (before %v after %v)", v, old, extra, before, after)
						if cover.Type != old.Type || cover.Custom != old.Custom || cover.Start != old.Start {
							assert.LessOrEqual(t, cover.Start, old.Start)
						}
					}
				}
			}
		}
	}
}

// covering returns the match in ms that contains m's span.
func covering(ms []Match, m Match) *Match {
	for i := range ms {
		if ms[i].Start <= m.Start && ms[i].End >= m.End {
			return &ms[i]
		}
	}
	return nil
}

func TestConcurrentScan(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin, Custom: determinismCustom})
	want := make([][]Match, len(determinismInputs))
	for i, v := range determinismInputs {
		want[i], _ = s.Scan(v, nil)
	}
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			buf := make([]Match, 0, 16)
			for n := range 200 {
				i := (g + n) % len(determinismInputs)
				got, _ := s.Scan(determinismInputs[i], buf[:0])
				if !slices.Equal(want[i], got) {
					t.Errorf("goroutine %d: %q: got %v want %v", g, determinismInputs[i], got, want[i])
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// TestLinearTime: inputs built against the detectors (half-made emails, numbers, keys and
// tokens) scan in linear time.
func TestLinearTime(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin})
	assertLinearTime(t, s.Scan, []hostile{
		{"", "the quick brown fox ", ""}, {"", "-----BEGIN A PRIVATE KEY-----\n-----END B PRIVATE KEY-----\n", ""},
		{"", "a@", ""}, {"", "a.b@", ""}, {"", "@a.bc", ""}, {"", "1 ", ""}, {"", "1-", ""}, {"", "1.", ""}, {"", "+1 ", ""},
		{"", "::", ""}, {"", "a:", ""}, {"", "1:1:", ""}, {"", "Bearer ", ""}, {"", "Basic ", ""}, {"", "eyJ.", ""},
		{"", "eyJhbGciOiJIUzI1NiJ9.", ""}, {"", "GB82 ", ""}, {"", "AKIA", ""}, {"", "key=", ""}, {"", "secretaccesskey=", ""},
		{"", "a", "@"}, {"", "4111 ", ""}, {"", "(415) ", ""}, {"", "4111111111111111 ", ""},
	})
}
