package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// hostile is an input built to make a scanner backtrack or rescan: prefix, then unit repeated,
// then suffix.
type hostile struct{ prefix, unit, suffix string }

func (h hostile) of(n int) string {
	body := n - len(h.prefix) - len(h.suffix)
	return h.prefix + strings.Repeat(h.unit, body/len(h.unit)+1)[:body] + h.suffix
}

// assertLinearTime checks that scan takes time linear in the length of each input: eight
// times the input takes about eight times as long, where a quadratic scan would take 64
// times. A ratio of two lengths of the same input, timed interleaved (best of nine), is what a
// busy machine slows alike, unlike a comparison with another input or a fixed bound. It runs
// without the race detector, which slows code unevenly (make alloc-test runs it).
func assertLinearTime(t *testing.T, scan func(string, []Match) ([]Match, bool), inputs []hostile) {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skip("timing: run without the race detector and -short")
	}
	const large = DefaultMaxScanBytes
	const small = large / 8
	dst := make([]Match, 0, large)
	for _, h := range inputs {
		vs, vl := h.of(small), h.of(large)
		ts, tl := time.Hour, time.Hour
		for range 9 {
			start := time.Now()
			scan(vs, dst[:0])
			ts = min(ts, time.Since(start))
			start = time.Now()
			scan(vl, dst[:0])
			tl = min(tl, time.Since(start))
		}
		ratio := float64(tl) / float64(max(ts, time.Microsecond))
		assert.Less(t, ratio, 24.0, "%q %q %q: %v for %d bytes, %v for %d (linear: about 8x)", h.prefix, h.unit, h.suffix, tl, large, ts, small)
	}
}
