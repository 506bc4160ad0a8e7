package apikeyauthextension

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// lockoutKey names what failures are counted against: a remote address (its IP, not its
// port, which changes with every connection) or a key id.
type lockoutKey struct {
	addr  netip.Addr
	keyID string
}

type failures struct {
	count       int
	windowStart time.Time
	lockedUntil time.Time
}

// lockout counts failed attempts per address and per key id in a bounded LRU. An address
// past the threshold is refused for the lockout duration. A key id past the threshold is
// reported (once per lockout duration) but not refused: its id is not secret, and refusing
// it would let anyone lock its tenant out.
type lockout struct {
	cfg LockoutConfig

	mu      sync.Mutex
	tracked *simplelru.LRU[lockoutKey, *failures]
}

func newLockout(cfg LockoutConfig) *lockout {
	if cfg.Failures <= 0 {
		return nil
	}
	tracked, _ := simplelru.NewLRU[lockoutKey, *failures](cfg.MaxTracked, nil)
	return &lockout{cfg: cfg, tracked: tracked}
}

// locked reports whether addr is refused at now.
func (l *lockout) locked(addr netip.Addr, now time.Time) bool {
	if l == nil || !addr.IsValid() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.tracked.Peek(lockoutKey{addr: addr})
	if !ok {
		return false
	}
	if now.Before(f.lockedUntil) {
		return true
	}
	if now.Sub(f.windowStart) >= l.cfg.Window {
		// Neither locked nor counting any more: forget it rather than keep it until the LRU
		// pushes it out.
		l.tracked.Remove(lockoutKey{addr: addr})
	}
	return false
}

// fail counts a failed attempt from addr with keyID (either may be empty). It returns
// whether the key id just crossed the threshold, for the caller to report.
func (l *lockout) fail(addr netip.Addr, keyID string, now time.Time) (keyUnderAttack bool) {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if addr.IsValid() {
		l.count(lockoutKey{addr: addr}, now)
	}
	if keyID != "" {
		return l.count(lockoutKey{keyID: keyID}, now)
	}
	return false
}

// count adds one failure to k and reports whether it locked k.
func (l *lockout) count(k lockoutKey, now time.Time) bool {
	f, ok := l.tracked.Get(k)
	if !ok {
		f = &failures{}
		l.tracked.Add(k, f)
	}
	if now.Before(f.lockedUntil) {
		return false
	}
	if now.Sub(f.windowStart) >= l.cfg.Window {
		f.count, f.windowStart = 0, now
	}
	f.count++
	if f.count >= l.cfg.Failures {
		f.lockedUntil = now.Add(l.cfg.Duration)
		f.count, f.windowStart = 0, now
		return true
	}
	return false
}

// len returns how many addresses and key ids are tracked.
func (l *lockout) len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tracked.Len()
}
