package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func newLimiter(t testing.TB, mutate func(*Config)) *Limiter {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Source.MetadataKey = "x-tenant"
	mutate(&cfg)
	l, err := New(cfg)
	require.NoError(t, err)
	return l
}

func allowed() Decision { return Decision{Allowed: true} }

func refused(exceeded Exceeded, after time.Duration) Decision {
	return Decision{Exceeded: exceeded, RetryAfter: after}
}

func TestTokenArithmetic(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 20} })
	for _, step := range []struct {
		at      time.Duration
		records int
		want    Decision
	}{
		{0, 15, allowed()}, // 20 -> 5
		{0, 6, refused(ExceededRecords, 100*time.Millisecond)}, // not charged: still 5
		{0, 5, allowed()}, // 5 -> 0
		{50 * time.Millisecond, 1, refused(ExceededRecords, 50*time.Millisecond)}, // 0.5 tokens
		{100 * time.Millisecond, 1, allowed()},                                    // 1 -> 0
		{time.Second, 10, refused(ExceededRecords, 100*time.Millisecond)},         // 9 tokens
		{1100 * time.Millisecond, 10, allowed()},                                  // 10 -> 0
		{time.Hour, 20, allowed()},                                                // capped at the burst
		{time.Hour, 1, refused(ExceededRecords, 100*time.Millisecond)},
		{time.Hour, 0, allowed()}, // nothing to charge
	} {
		assert.Equal(t, step.want, l.AllowAt(at(step.at), "a", step.records, 0), "at %s, %d records", step.at, step.records)
	}
}

func TestTimeOutOfOrderDoesNotRefillTwice(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 10} })
	require.True(t, l.AllowAt(at(0), "a", 10, 0).Allowed)
	require.True(t, l.AllowAt(at(time.Second), "a", 5, 0).Allowed)
	// A caller that read the clock earlier comes late: it is decided as of 1s.
	assert.True(t, l.AllowAt(at(500*time.Millisecond), "a", 5, 0).Allowed)
	assert.Equal(t, refused(ExceededRecords, 500*time.Millisecond), l.AllowAt(at(time.Second), "a", 5, 0),
		"20 records by 1s: the burst and one second, not the half second from 500ms again")
	assert.Equal(t, refused(ExceededRecords, 500*time.Millisecond), l.AllowAllAt(at(100*time.Millisecond), []Charge{{Source: "a", Records: 5}}))
}

func TestRecordsAndBytesTogether(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 10, BytesPerSecond: 1000, BytesBurst: 1000}
	})
	require.True(t, l.AllowAt(t0, "a", 0, 500).Allowed)
	// Bytes refuse, records would pass: nothing is charged, records included.
	assert.Equal(t, refused(ExceededBytes, 100*time.Millisecond), l.AllowAt(t0, "a", 1, 600))
	assert.Equal(t, allowed(), l.AllowAt(t0, "a", 10, 100)) // all 10 records still there; 400 bytes left
	// Both exceeded: both named, the longer wait counts.
	assert.Equal(t, refused(ExceededRecords|ExceededBytes, 500*time.Millisecond), l.AllowAt(t0, "a", 5, 900))
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), l.AllowAt(t0, "a", 1, 1))
	assert.Equal(t, refused(ExceededRecords|ExceededBytes, 100*time.Millisecond), l.AllowAt(at(400*time.Millisecond), "a", 5, 900))
	assert.Equal(t, allowed(), l.AllowAt(at(500*time.Millisecond), "a", 5, 900))
	assert.Equal(t, "records_and_bytes", (ExceededRecords | ExceededBytes).String())
}

func TestOversizedBatchTakesDebt(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 10} })
	// Not full: an oversized batch waits for a full bucket, not for tokens it can never have.
	assert.True(t, l.AllowAt(t0, "a", 1, 0).Allowed)
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), l.AllowAt(t0, "a", 35, 0))
	// Full: admitted, 25 owed.
	assert.Equal(t, Decision{Allowed: true, Oversized: true}, l.AllowAt(at(100*time.Millisecond), "a", 35, 0))
	// A 1-record batch waits until the 25 owed and its own token are back: 2.6s.
	assert.Equal(t, refused(ExceededRecords, 2600*time.Millisecond), l.AllowAt(at(100*time.Millisecond), "a", 1, 0))
	assert.True(t, l.AllowAt(at(2700*time.Millisecond), "a", 1, 0).Allowed)
	// The next oversized batch needs a full bucket again: 1s more.
	assert.Equal(t, refused(ExceededRecords, time.Second), l.AllowAt(at(2700*time.Millisecond), "a", 35, 0))
}

func TestOversizedSenderKeepsTheAverage(t *testing.T) {
	const perSecond, burst, batch = 100, 50, 420
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: perSecond, RecordsBurst: burst} })
	admitted, now := 0, t0
	for now.Before(at(time.Minute)) {
		d := l.AllowAt(now, "a", batch, 0)
		if d.Allowed {
			admitted += batch
			continue
		}
		now = now.Add(d.RetryAfter) // a polite sender waits as told
	}
	// At most what the rate allows in a minute, plus one burst and one batch of debt.
	assert.LessOrEqual(t, admitted, perSecond*60+burst+batch)
	assert.GreaterOrEqual(t, admitted, perSecond*60-batch)
}

func TestRetryAfterIsExact(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{BytesPerSecond: 3, BytesBurst: 3} })
	require.True(t, l.AllowAt(t0, "a", 0, 3).Allowed)
	d := l.AllowAt(t0, "a", 0, 1)
	require.False(t, d.Allowed)
	assert.False(t, l.AllowAt(t0.Add(d.RetryAfter-time.Millisecond), "a", 0, 1).Allowed)
	assert.True(t, l.AllowAt(t0.Add(d.RetryAfter), "a", 0, 1).Allowed, "allowed exactly after RetryAfter (%s)", d.RetryAfter)
}

func TestSourcesAreIndependent(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 5} })
	assert.True(t, l.AllowAt(t0, "a", 5, 0).Allowed)
	assert.False(t, l.AllowAt(t0, "a", 1, 0).Allowed)
	assert.True(t, l.AllowAt(t0, "b", 5, 0).Allowed)
}

func TestDataWithoutSourceSharesOneBucket(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 5} })
	assert.True(t, l.AllowAt(t0, "", 5, 0).Allowed)
	assert.False(t, l.AllowAt(t0, "", 1, 0).Allowed, "leaving the source out does not escape the limit")
	assert.True(t, l.AllowAt(t0, "unknown", 5, 0).Allowed, "a source named unknown is a source of its own")
	assert.Equal(t, 2, l.Tracked())
}

func TestOverrides(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 10, BytesPerSecond: 100, BytesBurst: 100}
		c.Overrides = []Override{
			{Source: "big", Limits: Limits{RecordsPerSecond: 1000, RecordsBurst: 1000}},
			{Source: "canary", Unlimited: true},
		}
	})
	// big: its own records limit, the default bytes limit.
	assert.True(t, l.AllowAt(t0, "big", 1000, 100).Allowed)
	assert.Equal(t, refused(ExceededRecords, time.Millisecond), l.AllowAt(t0, "big", 1, 0))
	assert.Equal(t, refused(ExceededBytes, 100*time.Millisecond), l.AllowAt(at(500*time.Millisecond), "big", 1, 60))
	// canary: anything.
	for range 100 {
		assert.True(t, l.AllowAt(t0, "canary", 1e6, 1e9).Allowed)
	}
	// everyone else: the default.
	assert.True(t, l.AllowAt(t0, "small", 5, 0).Allowed)
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), l.AllowAt(t0, "small", 6, 0))
	assert.Equal(t, 3, l.Tracked(), "big, small and data without a source; never the exempt source")
}

func TestOnlyOverriddenSourcesAreLimited(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Overrides = []Override{{Source: "noisy", Limits: Limits{RecordsPerSecond: 1, RecordsBurst: 1}}}
	})
	assert.True(t, l.AllowAt(t0, "noisy", 1, 0).Allowed)
	assert.False(t, l.AllowAt(t0, "noisy", 1, 0).Allowed)
	for _, source := range []string{"", "quiet", "other"} {
		assert.True(t, l.AllowAt(t0, source, 1e6, 1e9).Allowed)
	}
	assert.Equal(t, 1, l.Tracked(), "unlimited sources are not tracked")
}

func TestNoLimitsAllowsEverything(t *testing.T) {
	l, err := New(DefaultConfig())
	require.NoError(t, err)
	assert.Equal(t, allowed(), l.AllowAt(t0, "a", 1<<40, 1<<50))
	assert.Equal(t, allowed(), l.AllowAllAt(t0, []Charge{{Source: "a", Records: 1}, {Records: 1}}))
	assert.Equal(t, 0, l.Tracked())
}

func TestDisabledAllowsEverything(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeDisabled
	cfg.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 1}
	cfg.Overrides = []Override{{Source: "a", Limits: Limits{RecordsPerSecond: 2}}}
	require.NoError(t, cfg.Validate(), "no source needed when disabled")
	assert.False(t, cfg.Enabled())
	l, err := New(cfg)
	require.NoError(t, err)
	for _, source := range []string{"", "a", "b"} {
		assert.Equal(t, allowed(), l.AllowAt(t0, source, 100, 100))
	}
	assert.Equal(t, 0, l.Tracked())
}

func TestAllowAllIsAllOrNothing(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 10}
		c.Overrides = []Override{{Source: "slow", Limits: Limits{RecordsPerSecond: 1}}}
	})
	require.True(t, l.AllowAt(t0, "slow", 5, 0).Allowed)
	// slow refuses (6 of its 5 tokens): nothing is charged, fast keeps its 10.
	d := l.AllowAllAt(t0, []Charge{{Source: "fast", Records: 10}, {Source: "slow", Records: 5}, {Source: "slow", Records: 1}})
	assert.Equal(t, refused(ExceededRecords, time.Second), d)
	assert.True(t, l.AllowAt(t0, "fast", 10, 0).Allowed, "a refused batch charges no source")

	// Parts of one source are summed: 5 + 5 > 9, though each part alone would fit.
	require.True(t, l.AllowAt(t0, "b", 1, 0).Allowed)
	d = l.AllowAllAt(t0, []Charge{{Source: "b", Records: 5}, {Source: "c", Records: 1}, {Source: "b", Records: 5}})
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), d)
	// 4 + 5 fits, and both parts are charged, and c's.
	d = l.AllowAllAt(t0, []Charge{{Source: "b", Records: 4}, {Source: "c", Records: 1}, {Source: "b", Records: 5}})
	assert.Equal(t, allowed(), d)
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), l.AllowAt(t0, "b", 1, 0))
	assert.Equal(t, refused(ExceededRecords, 100*time.Millisecond), l.AllowAt(t0, "c", 10, 0))

	// Data without a source is a part like any other; an oversized sum takes debt.
	d = l.AllowAllAt(at(time.Minute), []Charge{{Records: 8}, {Source: "d", Records: 1}, {Records: 8}})
	assert.Equal(t, Decision{Allowed: true, Oversized: true}, d)
	assert.Equal(t, refused(ExceededRecords, 700*time.Millisecond), l.AllowAt(at(time.Minute), "", 1, 0))
	assert.Equal(t, allowed(), l.AllowAllAt(t0, nil))
}

func TestLeastRecentlyUsedEviction(t *testing.T) {
	l := newLimiter(t, func(c *Config) {
		c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 3}
		c.MaxSources = 3
		c.Overrides = []Override{{Source: "pinned", Limits: Limits{RecordsBurst: 1}}}
	})
	require.Len(t, l.shards, 1, "a small bound is one exact LRU")
	for _, s := range []string{"pinned", "a", "b", "c"} {
		require.True(t, l.AllowAt(t0, s, 1, 0).Allowed)
		require.False(t, l.AllowAt(t0, s, 3, 0).Allowed, "%s drained", s)
	}
	l.AllowAt(t0, "a", 0, 0) // a is used again: b is now the least recently used
	l.AllowAt(t0, "d", 0, 0) // evicts b
	assert.Equal(t, 5, l.Tracked(), "3 sources, the override and data without a source")
	assert.False(t, l.AllowAt(t0, "a", 3, 0).Allowed, "a kept its bucket")
	assert.False(t, l.AllowAt(t0, "c", 3, 0).Allowed, "c kept its bucket")
	assert.False(t, l.AllowAt(t0, "pinned", 1, 0).Allowed, "an overridden source is never evicted")
	// The documented consequence: an evicted source comes back with a full bucket.
	assert.True(t, l.AllowAt(t0, "b", 3, 0).Allowed)
}

func TestShardsHoldExactlyMaxSources(t *testing.T) {
	for _, maxSources := range []int{1, 63, 127, 128, 1000, 10000, 12345, 1 << 20} {
		l := newLimiter(t, func(c *Config) {
			c.Limits = Limits{RecordsPerSecond: 1, RecordsBurst: 1}
			c.MaxSources = maxSources
		})
		total := 0
		for i := range l.shards {
			assert.GreaterOrEqual(t, l.shards[i].capacity, min(maxSources, minPerShard))
			total += l.shards[i].capacity
		}
		assert.Equal(t, maxSources, total)
		assert.LessOrEqual(t, len(l.shards), maxShards)
	}
}
