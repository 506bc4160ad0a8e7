package fieldcrypt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxMessagesPerKey is the most values one data key ever encrypts, whatever the configuration:
// AES-GCM with random 96-bit nonces stays within a 2^-32 collision risk up to 2^32 messages.
const MaxMessagesPerKey = 1 << 32

// DefaultMaxEntries is the number of data keys cached at once when CacheConfig leaves it 0.
const DefaultMaxEntries = 4096

// renewFraction: a data key is renewed in the background once it has used this part of any
// of its limits (age, messages, bytes).
const renewNumerator, renewDenominator = 3, 4

// CacheConfig bounds the use of one data key, after the AWS Encryption SDK's caching rules:
// one cached data key per key and encryption context (field included), used until the first of
// its limits, renewed in the background before.
type CacheConfig struct {
	// MaxAge is how long one data key is used. Required.
	MaxAge time.Duration
	// MaxMessages is how many values one data key encrypts at most; 0, or more than
	// MaxMessagesPerKey, is MaxMessagesPerKey.
	MaxMessages uint64
	// MaxBytes is how many plaintext bytes one data key encrypts at most; 0 is no bound. The
	// first value of a data key is exempt (as in the Encryption SDK): a value larger than the
	// bound still gets a key of its own.
	MaxBytes uint64
	// MaxEntries is how many data keys are cached at once; the least recently used one is
	// evicted to make room. 0 is DefaultMaxEntries.
	MaxEntries int
}

// Encryptor encrypts field values under cached data keys. It is safe for concurrent use; Close
// stops its background renewals.
type Encryptor struct {
	provider Provider
	cfg      CacheConfig
	// soft limits: past them a renewal starts in the background
	softAge                 time.Duration
	softMessages, softBytes uint64
	// retry is how long after a failed GenerateDataKey no new one is tried for that entry
	retry time.Duration
	now   func() time.Time

	// entries is replaced, never changed, under mu: Encrypt reads it without a lock.
	entries atomic.Pointer[map[cacheKey]*encEntry]
	mu      sync.Mutex // serialises changes of entries and of the entries' key state
	closed  bool

	ctx    context.Context // of the provider calls; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats struct {
		dataKeys, dataKeyErrors, renewals, encryptions, evictions atomic.Uint64
	}
	bufs sync.Pool
}

type cacheKey struct {
	keyID, field, ec string
}

// encEntry is the cache entry of one key and encryption context.
type encEntry struct {
	key      cacheKey
	rc       Context // the resource's context, carried in payloads
	ec       Context // the whole context, field included
	aadStart []byte  // "wenc:v1:<key id>:", field length, field
	lastUsed atomic.Int64
	cur      atomic.Pointer[dataKey] // stored under Encryptor.mu

	// guarded by Encryptor.mu
	fetching    *fetch
	failedUntil int64 // unix ns: until then a key-less entry fails at once with failErr
	failErr     error
}

// dataKey is one data key in use.
type dataKey struct {
	aead    cipher.AEAD
	header  []byte // payload[:H], type byte 0
	expires int64  // unix ns
	renewAt int64  // unix ns

	messages, bytes atomic.Uint64
	renewing        atomic.Bool
	retryAt         atomic.Int64 // unix ns: no renewal before (after a failed one)
}

// fetch is a GenerateDataKey in flight for ent; done is closed once dk or err is set.
type fetch struct {
	ent  *encEntry
	done chan struct{}
	dk   *dataKey
	err  error
}

// NewEncryptor is an Encryptor of data keys from provider.
func NewEncryptor(provider Provider, cfg CacheConfig) (*Encryptor, error) {
	var errs []error
	if provider == nil {
		errs = append(errs, errors.New("no key provider"))
	}
	if cfg.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("cache max age: must be positive, got %s", cfg.MaxAge))
	}
	if cfg.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("cache max entries: must not be negative, got %d", cfg.MaxEntries))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.MaxMessages == 0 || cfg.MaxMessages > MaxMessagesPerKey {
		cfg.MaxMessages = MaxMessagesPerKey
	}
	if cfg.MaxBytes == 0 || cfg.MaxBytes > 1<<63-1 {
		cfg.MaxBytes = 1<<63 - 1
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Encryptor{
		provider:     provider,
		cfg:          cfg,
		softAge:      cfg.MaxAge / renewDenominator * renewNumerator,
		softMessages: cfg.MaxMessages / renewDenominator * renewNumerator,
		softBytes:    cfg.MaxBytes / renewDenominator * renewNumerator,
		retry:        min(max(cfg.MaxAge/16, time.Millisecond), time.Second),
		now:          time.Now,
		ctx:          ctx,
		cancel:       cancel,
	}
	e.bufs.New = func() any { return &encBuf{buf: make([]byte, 0, 1024)} }
	e.entries.Store(&map[cacheKey]*encEntry{})
	return e, nil
}

// Encrypt encrypts v, the value of field (an attribute key or a body path) in a resource whose
// encryption context is ec, under a data key of keyID, and returns its text
// "wenc:v1:<key id>:<payload>". It calls the provider only when no valid data key is cached
// for (keyID, field, ec); otherwise it never waits for one. An error means no ciphertext, and
// the plaintext must not be passed on: IsRetryable tells an outage from a permanent refusal.
func (e *Encryptor) Encrypt(ctx context.Context, field string, ec Context, keyID string, v pcommon.Value) (string, error) {
	eb := e.bufs.Get().(*encBuf)
	defer func() {
		if cap(eb.buf) <= 64<<10 {
			e.bufs.Put(eb)
		}
	}()
	tag, pt, err := plaintext(v, eb.scratch[:])
	if err != nil {
		return "", fmt.Errorf("field %s: %w", field, err)
	}
	ent, dk, err := e.dataKey(ctx, cacheKey{keyID, field, ec.enc}, ec, len(pt))
	if err != nil {
		return "", fmt.Errorf("field %s: %w", field, err)
	}
	e.stats.encryptions.Add(1)

	// buf: associated data (aadStart, header) | payload (header, nonce, ciphertext, tag)
	aadEnd := len(ent.aadStart) + len(dk.header)
	if need := aadEnd + len(dk.header) + nonceSize + len(pt) + tagSize; cap(eb.buf) < need {
		eb.buf = make([]byte, 0, need)
	}
	buf := append(eb.buf[:0], ent.aadStart...)
	buf = append(buf, dk.header...)
	buf[len(ent.aadStart)+1] = tag
	buf = append(buf, buf[len(ent.aadStart):aadEnd]...)
	payload := dk.aead.Seal(buf[aadEnd:], nil, pt, buf[:aadEnd])
	if tag != tagString {
		clear(pt) // an encoding of ours (a string's bytes are the value's own)
	}

	textLen := len(Prefix) + len(keyID) + 1
	out := make([]byte, textLen+b64.EncodedLen(len(payload)))
	copy(out, ent.aadStart[:textLen])
	b64.Encode(out[textLen:], payload)
	return unsafe.String(&out[0], len(out)), nil
}

// encBuf is the scratch memory of one Encrypt.
type encBuf struct {
	buf     []byte
	scratch [8]byte // a fixed-size value's encoding
}

// dataKey is a data key of the entry of key with room for one more value of n bytes,
// reserved.
func (e *Encryptor) dataKey(ctx context.Context, key cacheKey, ec Context, n int) (*encEntry, *dataKey, error) {
	now := e.now().UnixNano()
	var dk *dataKey
	ent := (*e.entries.Load())[key]
	if ent != nil {
		dk = ent.cur.Load()
	}
	if dk != nil && e.reserve(dk, now, n) {
		e.used(ent, dk, now)
		return ent, dk, nil
	}
	return e.dataKeySlow(ctx, key, ec, n)
}

// dataKeySlow is dataKey when no cached data key can take the value: it waits for a new one
// (one GenerateDataKey for all callers of the entry) or fails.
func (e *Encryptor) dataKeySlow(ctx context.Context, key cacheKey, ec Context, n int) (*encEntry, *dataKey, error) {
	const attempts = 8 // of getting a fresh key before others use it up (tiny limits only)
	for range attempts {
		now := e.now().UnixNano()
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, nil, fmt.Errorf("encryptor: %w", ErrClosed)
		}
		ent := (*e.entries.Load())[key]
		if ent == nil {
			var err error
			if ent, err = e.insert(key, ec, now); err != nil {
				e.mu.Unlock()
				return nil, nil, err
			}
		}
		if dk := ent.cur.Load(); dk != nil {
			if e.reserve(dk, now, n) {
				e.mu.Unlock()
				e.used(ent, dk, now)
				return ent, dk, nil
			}
			ent.cur.Store(nil) // expired or used up: never used again
		}
		f := ent.fetching
		if f == nil {
			if now < ent.failedUntil {
				err := ent.failErr
				e.mu.Unlock()
				return nil, nil, err
			}
			f = e.startFetch(ent, nil)
		}
		e.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("key %s: waiting for a data key: %w: %w", key.keyID, ErrUnavailable, ctx.Err())
		}
		if f.err != nil {
			return nil, nil, f.err
		}
		// The new key, even if its entry was evicted meanwhile.
		if now := e.now().UnixNano(); e.reserve(f.dk, now, n) {
			e.used(f.ent, f.dk, now)
			return f.ent, f.dk, nil
		}
	}
	return nil, nil, fmt.Errorf("key %s: %w: data keys used up faster than they are made (cache limits too small?)", key.keyID, ErrUnavailable)
}

// insert adds the entry of key, evicting to stay within MaxEntries. e.mu is held.
func (e *Encryptor) insert(key cacheKey, ec Context, now int64) (*encEntry, error) {
	if err := ValidKeyID(key.keyID); err != nil {
		return nil, fmt.Errorf("%w: %q", err, key.keyID)
	}
	if err := checkField(key.field); err != nil {
		return nil, err
	}
	entries := maps.Clone(*e.entries.Load())
	if len(entries) >= e.cfg.MaxEntries {
		e.evict(entries, now)
	}
	ent := &encEntry{key: key, rc: ec, ec: ec.withField(key.field), aadStart: appendAADPrefix(nil, key.keyID, key.field)}
	ent.lastUsed.Store(now)
	entries[key] = ent
	e.entries.Store(&entries)
	return ent, nil
}

// evict drops from entries, a copy, every entry without a usable key, and then, if the cache is
// still full, the least recently used one, preferring one without a GenerateDataKey in flight.
// e.mu is held. A dropped data key is unreachable once entries is stored: the provider's
// plaintext was zeroed when its cipher was made.
func (e *Encryptor) evict(entries map[cacheKey]*encEntry, now int64) {
	var lru *encEntry
	older := func(a, b *encEntry) bool {
		if (a.fetching == nil) != (b.fetching == nil) {
			return a.fetching == nil
		}
		return a.lastUsed.Load() < b.lastUsed.Load()
	}
	for k, ent := range entries {
		if dk := ent.cur.Load(); ent.fetching == nil && (dk == nil || now >= dk.expires) {
			ent.cur.Store(nil)
			delete(entries, k)
			continue
		}
		if lru == nil || older(ent, lru) {
			lru = ent
		}
	}
	if len(entries) >= e.cfg.MaxEntries && lru != nil {
		lru.cur.Store(nil)
		delete(entries, lru.key)
		e.stats.evictions.Add(1)
	}
}

// reserve counts one more value of n bytes against dk and reports whether dk may encrypt it.
func (e *Encryptor) reserve(dk *dataKey, now int64, n int) bool {
	if now >= dk.expires {
		return false
	}
	m := dk.messages.Add(1)
	b := dk.bytes.Add(uint64(n))
	return m <= e.cfg.MaxMessages && (m == 1 || b <= e.cfg.MaxBytes)
}

// used notes a use of ent and starts a background renewal of dk once it is past a soft limit.
func (e *Encryptor) used(ent *encEntry, dk *dataKey, now int64) {
	if now-ent.lastUsed.Load() > int64(time.Millisecond) {
		ent.lastUsed.Store(now)
	}
	if now < dk.renewAt && dk.messages.Load() < e.softMessages && dk.bytes.Load() < e.softBytes {
		return
	}
	if dk.renewing.Load() || now < dk.retryAt.Load() || !dk.renewing.CompareAndSwap(false, true) {
		return
	}
	e.mu.Lock()
	if !e.closed && ent.cur.Load() == dk && ent.fetching == nil && (*e.entries.Load())[ent.key] == ent {
		e.startFetch(ent, dk)
		e.stats.renewals.Add(1)
	} else {
		dk.renewing.Store(false)
	}
	e.mu.Unlock()
}

// startFetch starts a GenerateDataKey for ent; renewing is the data key it replaces early,
// nil when the entry has none. e.mu is held.
func (e *Encryptor) startFetch(ent *encEntry, renewing *dataKey) *fetch {
	f := &fetch{ent: ent, done: make(chan struct{})}
	ent.fetching = f
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		dk, err := e.generate(ent)
		now := e.now().UnixNano()
		e.mu.Lock()
		ent.fetching = nil
		if err == nil && e.closed {
			dk, err = nil, fmt.Errorf("encryptor: %w", ErrClosed)
		}
		if err == nil {
			ent.cur.Store(dk)
			ent.failErr, ent.failedUntil = nil, 0
		} else {
			ent.failErr, ent.failedUntil = err, now+int64(e.retry)
			if renewing != nil {
				renewing.retryAt.Store(now + int64(e.retry))
			}
		}
		e.mu.Unlock()
		if renewing != nil {
			renewing.renewing.Store(false)
		}
		f.dk, f.err = dk, err
		close(f.done)
	}()
	return f
}

// generate asks the provider for a data key of ent and makes its cipher; the plaintext key is
// zeroed before it returns.
func (e *Encryptor) generate(ent *encEntry) (*dataKey, error) {
	e.stats.dataKeys.Add(1)
	pt, wrapped, err := e.provider.GenerateDataKey(e.ctx, ent.key.keyID, ent.ec)
	defer clear(pt)
	if err == nil && (len(wrapped) == 0 || len(wrapped) > maxWrappedKey) {
		err = fmt.Errorf("key %s: %w: wrapped data key of %d bytes, want 1 to %d", ent.key.keyID, errPermanentKMS, len(wrapped), maxWrappedKey)
	}
	var aead cipher.AEAD
	if err == nil {
		aead, err = newDataKeyAEAD(pt)
	}
	if err != nil {
		e.stats.dataKeyErrors.Add(1)
		return nil, err
	}
	created := e.now()
	return &dataKey{
		aead:    aead,
		header:  appendHeader(nil, wrapped, ent.rc),
		expires: created.Add(e.cfg.MaxAge).UnixNano(),
		renewAt: created.Add(e.softAge).UnixNano(),
	}, nil
}

// Stats counts what an Encryptor did since it was made.
type Stats struct {
	// DataKeys is the number of GenerateDataKey calls made to the provider (KMS calls with
	// aws_kms), failed ones included: one per data key, never one per value.
	DataKeys uint64
	// DataKeyErrors is the number of those calls that failed.
	DataKeyErrors uint64
	// Renewals is the number of those calls made in the background, before the data key in
	// use ran out.
	Renewals uint64
	// Encryptions is the number of values encrypted.
	Encryptions uint64
	// Evictions is the number of cached data keys dropped to make room for another.
	Evictions uint64
	// Entries is the number of cache entries now.
	Entries int
}

// Stats is a snapshot of the counts.
func (e *Encryptor) Stats() Stats {
	n := len(*e.entries.Load())
	return Stats{
		DataKeys:      e.stats.dataKeys.Load(),
		DataKeyErrors: e.stats.dataKeyErrors.Load(),
		Renewals:      e.stats.renewals.Load(),
		Encryptions:   e.stats.encryptions.Load(),
		Evictions:     e.stats.evictions.Load(),
		Entries:       n,
	}
}

// Close drops every cached data key, cancels the provider calls in flight and waits for them.
// Encrypt fails with ErrClosed afterwards.
func (e *Encryptor) Close() {
	e.mu.Lock()
	e.closed = true
	for _, ent := range *e.entries.Load() {
		ent.cur.Store(nil)
	}
	e.entries.Store(&map[cacheKey]*encEntry{})
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// newDataKeyAEAD is AES-256-GCM under key with random nonces, which Seal writes before the
// ciphertext. The AEAD keeps its own expanded key, so the caller zeroes key afterwards;
// crypto/cipher offers no way to wipe that copy, which goes with the AEAD.
func newDataKeyAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != dataKeySize {
		return nil, fmt.Errorf("%w: data key of %d bytes, want %d", errPermanentKMS, len(key), dataKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}
