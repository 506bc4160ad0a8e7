//go:build race

package detect

// raceEnabled: the race detector makes sync.Pool drop items at random, so allocation counts
// of code using pools (regexp, URL decoding) are not meaningful.
const raceEnabled = true
