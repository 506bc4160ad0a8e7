package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var cleanValues = []string{
	"GET", "200", "checkout-service", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
	"4bf92f3577b34da6a3ce929d0e0e4736", "2026-01-02T03:04:05.123Z", "12:34:56", "1700000000000",
	"ORD-2026-00000042", "localhost:8080", "00:1a:2b:3c:4d:5e", "1.14.2", "SKU-88213-XL",
	"user_id=42 status=ok latency_ms=12.5 path=/api/v1/orders method=POST bytes=1048576",
	"Bearer", "eyJ", "AKIA", "-----BEGIN CERTIFICATE-----", "a@b", "+1", "(415)", "GB82",
	cleanBody,
}

// cleanBody is ~1 KiB of realistic log text without PII.
var cleanBody = strings.Repeat("2026-01-02T03:04:05.123Z INFO order service handled request "+
	"trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 status=200 took=12ms\n", 7)

func TestScanCleanDoesNotAllocate(t *testing.T) {
	skipUnderRace(t)
	scanners := map[string]*Scanner{
		"builtin": allScanner,
		"custom": newTestScanner(t, Options{Types: AllBuiltin, Custom: []CustomPattern{
			{Name: "emp", Regexp: `EMP-\d{6}`}, {Name: "digits", Regexp: `\b\d{11}\b`},
		}}),
	}
	for name, s := range scanners {
		dst := make([]Match, 0, 8)
		for _, v := range cleanValues {
			var n int
			allocs := testing.AllocsPerRun(100, func() {
				ms, _ := s.Scan(v, dst[:0])
				n += len(ms)
			})
			assert.Zero(t, allocs, "%s: %q", name, v)
			assert.Zero(t, n, "%s: %q should be clean", name, v)
		}
	}
}

func TestScanWithMatchesDoesNotAllocateBuiltins(t *testing.T) {
	skipUnderRace(t)
	dst := make([]Match, 0, 16)
	for _, v := range determinismInputs {
		allocs := testing.AllocsPerRun(100, func() { allScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, "%q", v)
	}
}

func TestKeyMatcherDoesNotAllocate(t *testing.T) {
	skipUnderRace(t)
	k := NewKeyMatcher(nil, nil)
	for _, key := range []string{"http.request.header.authorization", "gen_ai.usage.input_tokens",
		"clientSecret", "service.name", "X-Api-Key", "k8s.deployment.name"} {
		allocs := testing.AllocsPerRun(100, func() { k.Sensitive(key) })
		assert.Zero(t, allocs, key)
	}
}

func TestScrubURLCleanDoesNotAllocate(t *testing.T) {
	skipUnderRace(t)
	s := newTestScanner(t, Options{Types: AllBuiltin})
	act := func(Type, int, string) string { return "X" }
	for _, v := range []string{
		"https://example.com/api/v1/orders?page=2&sort=desc#top",
		"/search?q=hello%20world&lang=en+US",
		"a=b&c=d",
		"https://REDACTED:REDACTED@example.com/?sig=REDACTED",
		"https://example.com/" + strings.Repeat("p%2F", 300) + "?q=" + strings.Repeat("x", 600),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			_, changed := ScrubURL(v, nil, s, act)
			require.False(t, changed)
		})
		assert.Zero(t, allocs, v)
	}
}

func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
}
