package ratelimit

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds the token buckets of every tracked source. It is safe for concurrent use; one
// Limiter serves every pipeline of a processor configuration.
type Limiter struct {
	defaults  *bucketLimits            // nil: sources without an override are unlimited
	overrides map[string]*bucketLimits // read-only after New; a nil value means unlimited
	shards    []shard
	shardMask uint64
	seed      maphash.Seed
	source    SourceConfig
}

// bucketLimits are one source's limits in rate's units. A zero rate leaves a dimension
// unlimited.
type bucketLimits struct {
	records      rate.Limit
	recordsBurst int
	bytes        rate.Limit
	bytesBurst   int
}

func compile(l Limits) *bucketLimits {
	if !l.limited() {
		return nil
	}
	return &bucketLimits{
		records: rate.Limit(l.RecordsPerSecond), recordsBurst: l.RecordsBurst,
		bytes: rate.Limit(l.BytesPerSecond), bytesBurst: l.BytesBurst,
	}
}

// Decision is the answer for one batch.
type Decision struct {
	// Allowed: the batch is within its source's limits and has been charged. A refused batch
	// is not charged.
	Allowed bool
	// Exceeded names the limits a refused batch exceeded.
	Exceeded Exceeded
	// RetryAfter is how long until the same batch would be allowed, if nothing else is sent
	// from its source meanwhile. Zero when allowed.
	RetryAfter time.Duration
	// Oversized: the batch was larger than a burst and was admitted because its bucket was
	// full; the source now owes the excess, which its next batches wait for.
	Oversized bool
}

// Exceeded is a set of limits.
type Exceeded uint8

const (
	// ExceededRecords is the records per second limit.
	ExceededRecords Exceeded = 1 << iota
	// ExceededBytes is the bytes per second limit.
	ExceededBytes
)

// String is "records", "bytes", "records_and_bytes" or "none": a bounded value fit for a
// metric attribute.
func (e Exceeded) String() string {
	switch e {
	case 0:
		return "none"
	case ExceededRecords:
		return "records"
	case ExceededBytes:
		return "bytes"
	case ExceededRecords | ExceededBytes:
		return "records_and_bytes"
	}
	return fmt.Sprintf("Exceeded(%d)", uint8(e))
}

// Charge is what one source sends within a batch, for AllowAllAt.
type Charge struct {
	Source  string
	Records int
	Bytes   int
}

// maxShards bounds the shards, so that a set of them fits in a uint64.
const maxShards = 64

// minPerShard keeps shards large enough for least-recently-used eviction to mean something.
const minPerShard = 64

// New validates cfg and builds its limiter. Buckets are created when a source is first seen;
// an overridden source's bucket exists from the start and is never evicted. A configuration
// that limits nothing (no limits, or mode disabled) gives a limiter that allows everything.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		cfg.Limits, cfg.Overrides = Limits{}, nil
	}
	l := &Limiter{
		defaults:  compile(cfg.Limits),
		overrides: make(map[string]*bucketLimits, len(cfg.Overrides)),
		seed:      maphash.MakeSeed(),
		source:    cfg.Source,
	}
	n := 1
	for n < maxShards && cfg.MaxSources/(2*n) >= minPerShard {
		n *= 2
	}
	l.shards = make([]shard, n)
	l.shardMask = uint64(n - 1)
	for i := range l.shards {
		capacity := cfg.MaxSources / n
		if i < cfg.MaxSources%n {
			capacity++
		}
		l.shards[i].init(capacity)
	}
	if l.defaults != nil {
		l.shards[0].unknown = newEntry("", l.defaults, true)
	}
	for _, o := range cfg.Overrides {
		if o.Unlimited {
			l.overrides[o.Source] = nil
			continue
		}
		limits := compile(cfg.Limits.merge(o.Limits))
		l.overrides[o.Source] = limits
		if limits == nil {
			continue
		}
		s := &l.shards[l.shardOf(o.Source)]
		s.entries[o.Source] = newEntry(o.Source, limits, true)
	}
	return l, nil
}

// Allow decides a batch of one source now. See AllowAt.
func (l *Limiter) Allow(source string, records, bytes int) Decision {
	return l.AllowAt(time.Now(), source, records, bytes)
}

// AllowAt decides a batch of records records and bytes bytes from source at time now, and
// charges it if allowed. An empty source is data without a source. A time earlier than one
// already decided at counts as that one, so concurrent callers cannot refill a bucket twice. A batch is allowed when
// both of its source's buckets hold enough tokens; a batch larger than a bucket's burst is
// allowed when that bucket is full and leaves it in debt. It does not allocate for a source
// already tracked.
func (l *Limiter) AllowAt(now time.Time, source string, records, bytes int) Decision {
	shard, limited := l.route(source)
	if !limited {
		return Decision{Allowed: true}
	}
	s := &l.shards[shard]
	s.mu.Lock()
	now = s.clock(now)
	e := s.get(source, l.defaults)
	d := e.check(now, max(records, 0), max(bytes, 0))
	if d.Allowed {
		e.take(now, max(records, 0), max(bytes, 0))
	}
	s.mu.Unlock()
	return d
}

// AllowAllAt decides a batch that carries several sources (a source per resource): it is
// allowed only if every source's part is, and then every part is charged; otherwise nothing is
// charged. The decision is atomic. Parts of one source are summed. A refusal's Exceeded is the
// union over the refused sources and RetryAfter their longest wait.
func (l *Limiter) AllowAllAt(now time.Time, charges []Charge) Decision {
	var involved uint64
	for _, c := range charges {
		if shard, limited := l.route(c.Source); limited {
			involved |= 1 << shard
		}
	}
	if involved == 0 {
		return Decision{Allowed: true}
	}
	latest := now
	for set := involved; set != 0; set &= set - 1 {
		s := &l.shards[bits.TrailingZeros64(set)]
		s.mu.Lock()
		latest = s.clock(latest)
	}
	now = latest
	for set := involved; set != 0; set &= set - 1 {
		l.shards[bits.TrailingZeros64(set)].clock(now)
	}
	d := Decision{Allowed: true}
	for _, c := range charges {
		shard, limited := l.route(c.Source)
		if !limited {
			continue
		}
		e := l.shards[shard].get(c.Source, l.defaults)
		e.pendingRecords += max(c.Records, 0)
		e.pendingBytes += max(c.Bytes, 0)
		part := e.check(now, e.pendingRecords, e.pendingBytes)
		e.pendingOversized = part.Oversized
		if !part.Allowed {
			d.Allowed = false
			d.Exceeded |= part.Exceeded
			d.RetryAfter = max(d.RetryAfter, part.RetryAfter)
		}
	}
	for _, c := range charges {
		shard, limited := l.route(c.Source)
		if !limited {
			continue
		}
		e := l.shards[shard].get(c.Source, l.defaults)
		if e.pendingRecords == 0 && e.pendingBytes == 0 {
			// A later part of a source already charged, or (with more new sources in one
			// batch than a shard holds) a source forgotten since: it starts again full.
			continue
		}
		if d.Allowed {
			d.Oversized = d.Oversized || e.pendingOversized
			e.take(now, e.pendingRecords, e.pendingBytes)
		}
		e.pendingRecords, e.pendingBytes, e.pendingOversized = 0, 0, false
	}
	for set := involved; set != 0; set &= set - 1 {
		l.shards[bits.TrailingZeros64(set)].mu.Unlock()
	}
	return d
}

// Tracked is the number of sources with a bucket: at most max_sources, plus the overridden
// sources and the bucket of data without a source.
func (l *Limiter) Tracked() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		if s.unknown != nil {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// route returns the shard of a source, or false when the source is not limited at all.
func (l *Limiter) route(source string) (int, bool) {
	if source == "" {
		return 0, l.defaults != nil
	}
	if len(l.overrides) > 0 {
		if limits, ok := l.overrides[source]; ok {
			return l.shardOf(source), limits != nil
		}
	}
	if l.defaults == nil {
		return 0, false
	}
	return l.shardOf(source), true
}

func (l *Limiter) shardOf(source string) int {
	if l.shardMask == 0 {
		return 0
	}
	return int(maphash.String(l.seed, source) & l.shardMask)
}

// check decides without charging. Called with the entry's shard locked.
func (e *entry) check(now time.Time, records, bytes int) Decision {
	d := Decision{Allowed: true}
	if e.records != nil && records > 0 {
		wait, oversized := shortfall(e.records, e.limits.records, e.limits.recordsBurst, now, records)
		if wait > 0 {
			d.Allowed, d.Exceeded = false, d.Exceeded|ExceededRecords
		}
		d.RetryAfter, d.Oversized = max(d.RetryAfter, wait), oversized
	}
	if e.bytes != nil && bytes > 0 {
		wait, oversized := shortfall(e.bytes, e.limits.bytes, e.limits.bytesBurst, now, bytes)
		if wait > 0 {
			d.Allowed, d.Exceeded = false, d.Exceeded|ExceededBytes
		}
		d.RetryAfter, d.Oversized = max(d.RetryAfter, wait), d.Oversized || oversized
	}
	if !d.Allowed {
		d.Oversized = false
	}
	return d
}

// shortfall is how long until lim holds n tokens, or a full bucket when n exceeds the burst.
func shortfall(lim *rate.Limiter, limit rate.Limit, burst int, now time.Time, n int) (wait time.Duration, oversized bool) {
	need := float64(n)
	if n > burst {
		need, oversized = float64(burst), true
	}
	missing := need - lim.TokensAt(now)
	if missing <= 0 {
		return 0, oversized
	}
	seconds := missing / float64(limit)
	if seconds >= math.MaxInt64/float64(time.Second) {
		return time.Duration(math.MaxInt64), oversized
	}
	return max(time.Duration(math.Ceil(seconds*float64(time.Second))), 1), oversized
}

// take charges the entry; a bucket may go into debt (negative tokens), which it pays back at
// its rate before it admits anything else. Called with the entry's shard locked.
func (e *entry) take(now time.Time, records, bytes int) {
	if e.records != nil && records > 0 {
		charge(e.records, e.limits.recordsBurst, now, records)
	}
	if e.bytes != nil && bytes > 0 {
		charge(e.bytes, e.limits.bytesBurst, now, bytes)
	}
}

func charge(lim *rate.Limiter, burst int, now time.Time, n int) {
	if n <= burst {
		if !lim.AllowN(now, n) {
			lim.ReserveN(now, n) // parts of one source checked together: the rest is debt
		}
		return
	}
	// rate reserves at most a burst at once; widen it for this reservation only (tokens are
	// capped at the old burst first, so nothing is gained by it).
	lim.SetBurstAt(now, n)
	lim.ReserveN(now, n)
	lim.SetBurstAt(now, burst)
}
