package ratelimit

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchLimits: records and bytes, generous enough that a known source stays allowed.
var benchLimits = Limits{RecordsPerSecond: 1e15, RecordsBurst: 1 << 60, BytesPerSecond: 1e18, BytesBurst: 1 << 60}

func TestNoAllocationForAKnownSource(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 100, BytesPerSecond: 1000, BytesBurst: 10000}
		c.Overrides = []Override{{Source: "big", Limits: benchLimits}}
	})
	now := t0
	l.AllowAt(now, "known", 1, 1)
	charges := []Charge{{Source: "known", Records: 1, Bytes: 1}, {Source: "big", Records: 1}, {Records: 1}}
	for name, call := range map[string]func(){
		"allowed":   func() { now = now.Add(time.Second); l.AllowAt(now, "known", 1, 100) },
		"refused":   func() { l.AllowAt(now, "known", 1000, 1) },
		"oversized": func() { now = now.Add(time.Hour); l.AllowAt(now, "known", 500, 50000) },
		"override":  func() { l.AllowAt(now, "big", 100, 100) },
		"no source": func() { l.AllowAt(now, "", 1, 1) },
		"all":       func() { now = now.Add(time.Second); l.AllowAllAt(now, charges) },
	} {
		assert.Zero(t, testing.AllocsPerRun(1000, call), name)
	}
}

func BenchmarkAllow(b *testing.B) {
	b.Run("known_source", func(b *testing.B) {
		l := newLimiter(b, func(c *Config) { c.Limits = benchLimits })
		now := t0
		var d Decision
		for b.Loop() {
			d = l.AllowAt(now, "tenant-42", 512, 65536)
		}
		require.True(b, d.Allowed)
	})
	b.Run("known_source_refused", func(b *testing.B) {
		l := newLimiter(b, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 1} })
		l.AllowAt(t0, "tenant-42", 1, 0)
		var d Decision
		for b.Loop() {
			d = l.AllowAt(t0, "tenant-42", 1, 0)
		}
		require.False(b, d.Allowed)
	})
	b.Run("known_source_time_now", func(b *testing.B) {
		l := newLimiter(b, func(c *Config) { c.Limits = benchLimits })
		var d Decision
		for b.Loop() {
			d = l.Allow("tenant-42", 512, 65536)
		}
		require.True(b, d.Allowed)
	})
	b.Run("new_source_evicting", func(b *testing.B) {
		const maxSources = 10_000
		l := newLimiter(b, func(c *Config) { c.Limits = benchLimits; c.MaxSources = maxSources })
		sources := make([]string, 1<<20)
		for i := range sources {
			sources[i] = "tenant-" + strconv.Itoa(i)
		}
		i := 0
		for b.Loop() {
			l.AllowAt(t0, sources[i&(len(sources)-1)], 512, 65536)
			i++
		}
		require.Equal(b, min(i, maxSources)+1, l.Tracked())
	})
	b.Run("unlimited_source", func(b *testing.B) {
		l := newLimiter(b, func(c *Config) { c.Overrides = []Override{{Source: "other", Limits: benchLimits}} })
		var d Decision
		for b.Loop() {
			d = l.AllowAt(t0, "tenant-42", 512, 65536)
		}
		require.True(b, d.Allowed)
	})
	b.Run("all_of_4_sources", func(b *testing.B) {
		l := newLimiter(b, func(c *Config) { c.Limits = benchLimits })
		charges := []Charge{{Source: "checkout", Records: 100, Bytes: 10000}, {Source: "cart", Records: 50, Bytes: 5000},
			{Source: "checkout", Records: 10, Bytes: 1000}, {Source: "payment", Records: 200, Bytes: 20000}}
		var d Decision
		for b.Loop() {
			d = l.AllowAllAt(t0, charges)
		}
		require.True(b, d.Allowed)
	})
	// Callers on many cores: each on sources of its own (a connection's tenants), and all on
	// the same few sources, whose buckets then move between cores.
	for name, spread := range map[string]int{"parallel_own_sources": 64, "parallel_shared_sources": 0} {
		b.Run(name, func(b *testing.B) {
			l := newLimiter(b, func(c *Config) { c.Limits = benchLimits })
			sources := make([]string, 4096)
			for i := range sources {
				sources[i] = "tenant-" + strconv.Itoa(i)
				l.AllowAt(t0, sources[i], 1, 1)
			}
			b.ReportAllocs()
			var caller atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				base, i := int(caller.Add(1))*spread, 0
				for pb.Next() {
					l.AllowAt(t0, sources[(base+i&63)&4095], 512, 65536)
					i++
				}
			})
			require.Equal(b, len(sources)+1, l.Tracked())
		})
	}
}
