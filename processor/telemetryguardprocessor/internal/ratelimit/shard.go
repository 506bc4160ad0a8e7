package ratelimit

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// shard is a part of the tracked sources (by hash of the source) with its own lock and its own
// least-recently-used bound. Pinned entries (overridden sources, data without a source) are
// outside the bound and the list.
type shard struct {
	mu       sync.Mutex
	entries  map[string]*entry
	lru      entry // sentinel: lru.next is the most recently used, lru.prev the least
	tracked  int   // entries in the list
	capacity int
	unknown  *entry    // data without a source; shard 0 only
	latest   time.Time // the latest time a decision was made at
	_        [64]byte
}

// entry is one source's buckets.
type entry struct {
	source           string
	limits           *bucketLimits
	records, bytes   *rate.Limiter // nil: that dimension is unlimited
	prev, next       *entry
	pendingRecords   int // AllowAllAt's running sum, zero between calls
	pendingBytes     int
	pendingOversized bool
	pinned           bool
}

func newEntry(source string, limits *bucketLimits, pinned bool) *entry {
	e := &entry{source: source, limits: limits, pinned: pinned}
	if limits.records > 0 {
		e.records = rate.NewLimiter(limits.records, limits.recordsBurst)
	}
	if limits.bytes > 0 {
		e.bytes = rate.NewLimiter(limits.bytes, limits.bytesBurst)
	}
	return e
}

func (s *shard) init(capacity int) {
	s.entries = make(map[string]*entry)
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	s.capacity = capacity
}

// get returns the source's entry, creating it with a full bucket (and forgetting the least
// recently used source when the shard is full) if it is new. Called with s.mu held.
func (s *shard) get(source string, defaults *bucketLimits) *entry {
	if source == "" {
		return s.unknown
	}
	if e, ok := s.entries[source]; ok {
		if !e.pinned && s.lru.next != e {
			s.unlink(e)
			s.pushFront(e)
		}
		return e
	}
	if s.tracked >= s.capacity {
		oldest := s.lru.prev
		s.unlink(oldest)
		delete(s.entries, oldest.source)
		s.tracked--
	}
	// The source may point into a request's buffer; the key must not keep that alive.
	e := newEntry(strings.Clone(source), defaults, false)
	s.entries[e.source] = e
	s.pushFront(e)
	s.tracked++
	return e
}

func (s *shard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *entry) {
	e.prev, e.next = &s.lru, s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
}

// clock returns now, or the latest time already seen if now is earlier. rate.Limiter moves its
// clock back to an earlier time and would then refill the same interval twice: callers that
// read the time before taking the lock arrive out of order.
func (s *shard) clock(now time.Time) time.Time {
	if now.Before(s.latest) {
		return s.latest
	}
	s.latest = now
	return now
}
