package ratelimit

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxBytesPerSource bounds the memory of one tracked source with both buckets: the entry, two
// rate.Limiters, the key and the map slot.
const maxBytesPerSource = 512

func TestMemoryBoundedUnderAMillionSources(t *testing.T) {
	const sources, maxSources = 1_000_000, 100_000
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 100, RecordsBurst: 200, BytesPerSecond: 1 << 20, BytesBurst: 2 << 20}
		c.MaxSources = maxSources
	})
	before := heapInUse()
	buf := []byte("tenant-")
	peak := 0
	for i := range sources {
		buf = strconv.AppendInt(buf[:len("tenant-")], int64(i), 10)
		require.True(t, l.AllowAt(t0, string(buf), 10, 1000).Allowed, "a new source has a full bucket")
		if i%100_000 == 0 {
			peak = max(peak, l.Tracked())
		}
	}
	grown := heapInUse() - before
	tracked := l.Tracked()
	runtime.KeepAlive(l)

	assert.Equal(t, maxSources+1, tracked, "max_sources plus data without a source")
	assert.LessOrEqual(t, peak, maxSources+1)
	perSource := grown / int64(tracked)
	t.Logf("%d distinct sources, %d tracked: heap grew by %.1f MiB, %d bytes per tracked source",
		sources, tracked, float64(grown)/(1<<20), perSource)
	assert.LessOrEqual(t, perSource, int64(maxBytesPerSource))

	// The most recent sources are the ones kept.
	assert.False(t, l.AllowAt(t0, "tenant-"+strconv.Itoa(sources-1), 200, 0).Allowed, "recent source keeps its drained bucket")
	assert.True(t, l.AllowAt(t0, "tenant-0", 200, 0).Allowed, "oldest source was forgotten: full again")
}

func heapInUse() int64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
