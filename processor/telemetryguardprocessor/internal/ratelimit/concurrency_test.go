package ratelimit

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestConcurrentCallersShareOneBucketExactly(t *testing.T) {
	const goroutines, calls, burst = 32, 1000, 5000
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: burst} })
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if l.AllowAt(t0, "hot", 1, 0).Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(burst), admitted.Load(), "time stands still: exactly one burst")
}

// Many goroutines on new, evicted, overridden sources and multi-source batches, with a clock
// that moves: no race, no deadlock between shards, the bound holds and a pinned source is never
// admitted past its rate.
func TestConcurrentMixedLoad(t *testing.T) {
	const goroutines, calls, maxSources = 16, 3000, 200
	const hotRate, hotBurst = 1000.0, 100
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 50, RecordsBurst: 50, BytesPerSecond: 5000, BytesBurst: 5000}
		c.MaxSources = maxSources
		c.Overrides = []Override{{Source: "hot", Limits: Limits{RecordsPerSecond: hotRate, RecordsBurst: hotBurst}}}
	})
	var clock atomic.Int64 // nanoseconds since t0
	var hotAdmitted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				now := t0.Add(time.Duration(clock.Add(int64(50 * time.Microsecond))))
				source := "s" + strconv.Itoa((g*calls+i)%(3*maxSources))
				switch i % 4 {
				case 0:
					if l.AllowAt(now, "hot", 5, 10).Allowed {
						hotAdmitted.Add(5)
					}
				case 1:
					l.AllowAt(now, source, 3, 300)
				case 2:
					charges := []Charge{{Source: source, Records: 2}, {Source: "hot", Records: 1}, {Records: 1}, {Source: "s" + strconv.Itoa(i%7), Records: 1}}
					if l.AllowAllAt(now, charges).Allowed {
						hotAdmitted.Add(1)
					}
				case 3:
					assert.LessOrEqual(t, l.Tracked(), maxSources+2)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(clock.Load()).Seconds()
	assert.LessOrEqual(t, float64(hotAdmitted.Load()), hotBurst+hotRate*elapsed+1e-6)
	assert.Greater(t, hotAdmitted.Load(), int64(hotBurst))
	assert.Equal(t, maxSources+2, l.Tracked(), "max_sources, the override and data without a source")
}
