package fieldcrypt

import (
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// DecryptorConfig bounds the cache of unwrapped data keys of a Decryptor.
type DecryptorConfig struct {
	// MaxAge is how long an unwrapped data key, or a permanent refusal of one (unknown key,
	// shredded, access denied, tampered), is kept. 0 is 5 minutes.
	MaxAge time.Duration
	// MaxEntries is how many are kept; the least recently used is evicted to make room. 0 is
	// DefaultMaxEntries.
	MaxEntries int
}

// Decryptor decrypts values. Unwrapped data keys are cached by key id, field, wrapped key and
// context, so that decrypting a million values of one data key costs one provider Decrypt
// (one KMS call), and so do a million refusals. It is safe for concurrent use.
type Decryptor struct {
	provider Provider
	maxAge   time.Duration
	max      int
	now      func() time.Time

	mu      sync.RWMutex
	entries map[string]*decEntry

	stats struct {
		unwraps, unwrapErrors, decryptions, failures, evictions atomic.Uint64
	}
	bufs sync.Pool
}

// decEntry is one unwrapped data key, or the refusal to unwrap it; done is closed once set.
type decEntry struct {
	key      string
	done     chan struct{}
	aead     cipher.AEAD
	err      error
	expires  int64 // unix ns
	lastUsed atomic.Int64
}

// NewDecryptor is a Decryptor of values whose data keys provider unwraps.
func NewDecryptor(provider Provider, cfg DecryptorConfig) (*Decryptor, error) {
	if provider == nil {
		return nil, errors.New("no key provider")
	}
	if cfg.MaxAge < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("decryptor cache: max age %s and max entries %d must not be negative", cfg.MaxAge, cfg.MaxEntries)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	d := &Decryptor{provider: provider, maxAge: cfg.MaxAge, max: cfg.MaxEntries, now: time.Now, entries: map[string]*decEntry{}}
	d.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	return d, nil
}

// Decrypt decrypts s, found as the value of field, back to the value that was encrypted, of
// the same type. It fails, with one of the package's error classes, for a string that is not
// a value (ErrNotCiphertext), is not authentic for this field (ErrTampered: altered, moved
// from another field, another key id), or whose key cannot be had (ErrUnknownKey, ErrShredded,
// ErrAccessDenied, ErrKeyDisabled, or the retryable ErrUnavailable).
func (d *Decryptor) Decrypt(ctx context.Context, field, s string) (pcommon.Value, error) {
	v, err := d.decrypt(ctx, field, s)
	if err != nil {
		d.stats.failures.Add(1)
		return pcommon.Value{}, err
	}
	d.stats.decryptions.Add(1)
	return v, nil
}

func (d *Decryptor) decrypt(ctx context.Context, field, s string) (pcommon.Value, error) {
	keyID, payload, err := splitValue(s)
	if err != nil {
		return pcommon.Value{}, err
	}
	if err := checkField(field); err != nil {
		return pcommon.Value{}, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	bp := d.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			d.bufs.Put(bp)
		}
	}()
	// buf: raw payload | associated data | plaintext
	n := b64.DecodedLen(len(payload))
	aadLen := len(Prefix) + len(keyID) + 1 + 2 + len(field) + n
	if need := 2*n + aadLen; cap(*bp) < need {
		*bp = make([]byte, 0, need)
	}
	raw := (*bp)[:n]
	if n, err = b64.Decode(raw, unsafe.Slice(unsafe.StringData(payload), len(payload))); err != nil {
		return pcommon.Value{}, fmt.Errorf("%w: payload is not canonical base64url: %v", ErrTampered, err)
	}
	raw = raw[:n]
	env, err := parsePayload(keyID, raw)
	if err != nil {
		return pcommon.Value{}, err
	}
	aead, err := d.dataKey(ctx, field, &env)
	if err != nil {
		return pcommon.Value{}, err
	}
	aad := appendAADPrefix(raw[len(raw):], keyID, field)
	aad = append(aad, env.header...)
	pt, err := aead.Open(aad[len(aad):], nil, env.sealed, aad)
	if err != nil {
		return pcommon.Value{}, fmt.Errorf("key %s, field %s: %w", keyID, field, ErrTampered)
	}
	v, err := decodeValue(env.header[1], pt)
	clear(pt)
	return v, err
}

// dataKey is the unwrapped data key of env for field, from the cache or the provider.
func (d *Decryptor) dataKey(ctx context.Context, field string, env *Envelope) (cipher.AEAD, error) {
	// The cache key: key id and field (length-prefixed), then the payload from the wrapped
	// key's length through the context pairs, which holds both length-prefixed.
	var stack [512]byte
	k := append(stack[:0], byte(len(env.KeyID)))
	k = append(k, env.KeyID...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(field)))
	k = append(k, field...)
	k = append(k, env.header[2:]...)

	now := d.now().UnixNano()
	d.mu.RLock()
	ent := d.entries[string(k)]
	d.mu.RUnlock()
	if ent == nil || d.expired(ent, now) {
		d.mu.Lock()
		ent = d.entries[string(k)]
		if ent == nil || d.expired(ent, now) {
			ent = d.insert(string(k), now)
			d.mu.Unlock()
			d.unwrap(ctx, ent, field, env)
		} else {
			d.mu.Unlock()
		}
	}
	if now-ent.lastUsed.Load() > int64(time.Millisecond) {
		ent.lastUsed.Store(now)
	}
	select {
	case <-ent.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("key %s: waiting for a data key: %w: %w", env.KeyID, ErrUnavailable, ctx.Err())
	}
	return ent.aead, ent.err
}

// expired reports whether ent is past its age; one still being unwrapped is not.
func (d *Decryptor) expired(ent *decEntry, now int64) bool {
	select {
	case <-ent.done:
		return now >= ent.expires
	default:
		return false
	}
}

// insert adds an entry for key, evicting to stay within the bound. d.mu is held.
func (d *Decryptor) insert(key string, now int64) *decEntry {
	if _, ok := d.entries[key]; !ok && len(d.entries) >= d.max {
		var lru *decEntry
		for k, ent := range d.entries {
			if d.expired(ent, now) {
				delete(d.entries, k)
				continue
			}
			if lru == nil || ent.lastUsed.Load() < lru.lastUsed.Load() {
				lru = ent
			}
		}
		if len(d.entries) >= d.max && lru != nil {
			delete(d.entries, lru.key)
			d.stats.evictions.Add(1)
		}
	}
	ent := &decEntry{key: key, done: make(chan struct{}), expires: now + int64(d.maxAge)}
	ent.lastUsed.Store(now)
	d.entries[key] = ent
	return ent
}

// unwrap has the provider unwrap env's data key into ent. A retryable failure is not kept.
func (d *Decryptor) unwrap(ctx context.Context, ent *decEntry, field string, env *Envelope) {
	d.stats.unwraps.Add(1)
	pt, err := d.provider.Decrypt(ctx, env.KeyID, env.WrappedKey, env.context().withField(field))
	if err == nil {
		ent.aead, err = newDataKeyAEAD(pt)
		clear(pt)
	}
	ent.err = err
	if err != nil {
		d.stats.unwrapErrors.Add(1)
		if IsRetryable(err) {
			d.mu.Lock()
			if d.entries[ent.key] == ent {
				delete(d.entries, ent.key)
			}
			d.mu.Unlock()
		}
	}
	close(ent.done)
}

// DecryptStats counts what a Decryptor did since it was made.
type DecryptStats struct {
	// Unwraps is the number of provider Decrypt calls (KMS calls with aws_kms), failed ones
	// included: one per data key, never one per value.
	Unwraps uint64
	// UnwrapErrors is the number of those calls that failed.
	UnwrapErrors uint64
	// Decryptions is the number of values decrypted, Failures of values not decrypted.
	Decryptions, Failures uint64
	// Evictions is the number of cached data keys dropped to make room for another.
	Evictions uint64
}

// Stats is a snapshot of the counts.
func (d *Decryptor) Stats() DecryptStats {
	return DecryptStats{
		Unwraps:      d.stats.unwraps.Load(),
		UnwrapErrors: d.stats.unwrapErrors.Load(),
		Decryptions:  d.stats.decryptions.Load(),
		Failures:     d.stats.failures.Load(),
		Evictions:    d.stats.evictions.Load(),
	}
}
