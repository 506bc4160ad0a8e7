package fieldcrypt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// cacheFixture is an Encryptor on a counting provider and a fake clock.
type cacheFixture struct {
	p     *testProvider
	e     *Encryptor
	clock *fakeClock
	keyID string
}

func newCacheFixture(t *testing.T, cfg CacheConfig) cacheFixture {
	t.Helper()
	kr, keyID := testKeyring(t)
	p := &testProvider{inner: kr}
	e := newEncryptor(t, p, cfg)
	clock := newFakeClock()
	e.now = clock.Now
	return cacheFixture{p: p, e: e, clock: clock, keyID: keyID}
}

func (f cacheFixture) encrypt(t *testing.T, field, value string) string {
	t.Helper()
	s, err := f.e.Encrypt(context.Background(), field, Context{}, f.keyID, pcommon.NewValueStr(value))
	require.NoError(t, err)
	return s
}

// waitIdle waits until no provider call of the Encryptor is in flight.
func (f cacheFixture) waitIdle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		f.e.mu.Lock()
		defer f.e.mu.Unlock()
		for _, ent := range *f.e.entries.Load() {
			if ent.fetching != nil {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
}

func TestCacheOneDataKeyPerContext(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	ctx := context.Background()
	acme := mustContext(t, map[string]string{"tenant.id": "acme"})
	globex := mustContext(t, map[string]string{"tenant.id": "globex"})
	keys := map[string]map[string]bool{}
	note := func(what, s string) {
		if keys[what] == nil {
			keys[what] = map[string]bool{}
		}
		keys[what][wrappedKeyOf(t, s)] = true
	}
	for i := range 1000 {
		v := pcommon.NewValueStr(fmt.Sprint("secret ", i))
		for _, c := range []struct {
			what, field string
			ec          Context
		}{{"password/acme", "password", acme}, {"password/globex", "password", globex}, {"token/acme", "token", acme}} {
			s, err := f.e.Encrypt(ctx, c.field, c.ec, f.keyID, v)
			require.NoError(t, err)
			note(c.what, s)
		}
	}
	assert.Equal(t, int64(3), f.p.generates.Load(), "one data key per field and context")
	seen := map[string]bool{}
	for what, ks := range keys {
		require.Len(t, ks, 1, what)
		for k := range ks {
			assert.False(t, seen[k], "data keys are not shared between contexts")
			seen[k] = true
		}
	}
	st := f.e.Stats()
	assert.Equal(t, Stats{DataKeys: 3, Encryptions: 3000, Entries: 3}, st)
}

// A data key is renewed in the background once 3/4 of its age has passed; values keep
// being encrypted under the old key meanwhile, and never under a key past its age.
func TestCacheMaxAgeRenewsInBackground(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Minute})
	first := wrappedKeyOf(t, f.encrypt(t, "password", "a"))

	f.clock.Advance(44 * time.Second)
	assert.Equal(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "b")))
	assert.Zero(t, f.e.Stats().Renewals, "no renewal before 3/4 of the age")

	release := f.p.hold()
	f.clock.Advance(2 * time.Second) // 46s: past 45s
	start := time.Now()
	for range 100 {
		assert.Equal(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "c")), "the old key while the new one is made")
	}
	assert.Less(t, time.Since(start), time.Second, "Encrypt did not wait for the renewal")
	assert.Equal(t, uint64(1), f.e.Stats().Renewals, "one renewal, however many values")
	require.Eventually(t, func() bool { return f.p.generates.Load() == 2 }, time.Second, time.Millisecond)
	release()
	f.waitIdle(t)

	second := wrappedKeyOf(t, f.encrypt(t, "password", "d"))
	assert.NotEqual(t, first, second)
	st := f.e.Stats()
	assert.Equal(t, uint64(2), st.DataKeys)
	assert.Equal(t, uint64(1), st.Renewals)

	// The renewed key lives its own minute.
	f.clock.Advance(40 * time.Second)
	assert.Equal(t, second, wrappedKeyOf(t, f.encrypt(t, "password", "e")))
}

// With renewals failing, the current key serves until its age, then Encrypt fails (closed)
// without calling the provider for every value, and recovers once the provider does.
func TestCacheFailsClosedAfterHardLimit(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Minute})
	ctx := context.Background()
	first := wrappedKeyOf(t, f.encrypt(t, "password", "a"))

	outage := fmt.Errorf("kms down: %w", ErrUnavailable)
	f.p.failWith(outage)
	f.clock.Advance(50 * time.Second)
	assert.Equal(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "b")))
	f.waitIdle(t)
	assert.Equal(t, int64(2), f.p.generates.Load(), "the renewal was tried")
	assert.Equal(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "c")), "a failed renewal keeps the current key")
	assert.Equal(t, uint64(1), f.e.Stats().Renewals, "and is not retried at once")
	f.clock.Advance(time.Second)
	f.encrypt(t, "password", "d")
	f.waitIdle(t)
	assert.Equal(t, int64(3), f.p.generates.Load(), "retried after the retry interval")

	f.clock.Advance(10 * time.Second) // 61s: past the hard limit
	s, err := f.e.Encrypt(ctx, "password", Context{}, f.keyID, pcommon.NewValueStr("plaintext must not leak"))
	require.ErrorIs(t, err, ErrUnavailable)
	assert.True(t, IsRetryable(err))
	assert.Empty(t, s)
	calls := f.p.generates.Load()
	for range 1000 {
		_, err := f.e.Encrypt(ctx, "password", Context{}, f.keyID, pcommon.NewValueStr("x"))
		require.ErrorIs(t, err, ErrUnavailable)
	}
	assert.Equal(t, calls, f.p.generates.Load(), "failing values do not each call the provider")

	f.p.failWith(nil)
	f.clock.Advance(time.Second)
	recovered := wrappedKeyOf(t, f.encrypt(t, "password", "e"))
	assert.NotEqual(t, first, recovered)
	assert.Equal(t, calls+1, f.p.generates.Load())
}

func TestCacheMaxMessages(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour, MaxMessages: 8})
	perKey := map[string]int{}
	for i := range 100 {
		perKey[wrappedKeyOf(t, f.encrypt(t, "password", fmt.Sprint(i)))]++
	}
	f.waitIdle(t)
	for _, n := range perKey {
		assert.LessOrEqual(t, n, 8)
	}
	assert.GreaterOrEqual(t, len(perKey), 13, "100 values, at most 8 per key")
	assert.LessOrEqual(t, f.p.generates.Load(), int64(len(perKey)+1), "a key per 8 values (one renewal may be in flight)")
}

func TestCacheMaxBytes(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour, MaxBytes: 100})
	perKey := map[string]int{}
	for i := range 30 {
		perKey[wrappedKeyOf(t, f.encrypt(t, "password", strings.Repeat("x", 30)+fmt.Sprint(i%10)))] += 31
	}
	for _, n := range perKey {
		assert.LessOrEqual(t, n, 100)
	}
	// The first value of a key is exempt: one larger than the bound gets a key to itself.
	big := f.encrypt(t, "password", strings.Repeat("y", 500))
	next := f.encrypt(t, "password", "z")
	assert.NotEqual(t, wrappedKeyOf(t, big), wrappedKeyOf(t, next))
	for k := range perKey {
		assert.NotEqual(t, k, wrappedKeyOf(t, big))
	}
}

// However large the configured count, no data key encrypts more than 2^32 values.
func TestCacheMessageCapIsTwoToThe32(t *testing.T) {
	for _, configured := range []uint64{0, 1 << 32, 1<<32 + 1, 1 << 62} {
		e, err := NewEncryptor(&testProvider{}, CacheConfig{MaxAge: time.Hour, MaxMessages: configured})
		require.NoError(t, err)
		assert.Equal(t, uint64(MaxMessagesPerKey), e.cfg.MaxMessages, "configured %d", configured)
		e.Close()
	}

	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour, MaxMessages: 1 << 40})
	first := wrappedKeyOf(t, f.encrypt(t, "password", "a"))
	for _, ent := range *f.e.entries.Load() {
		ent.cur.Load().messages.Store(MaxMessagesPerKey - 1) // as if 2^32-1 values were encrypted
		ent.cur.Load().renewing.Store(true)                  // and its renewal still in flight
	}
	assert.Equal(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "the 2^32nd")))
	assert.NotEqual(t, first, wrappedKeyOf(t, f.encrypt(t, "password", "one more")))
}

// Many goroutines that find no key at once cause one provider call, and all get that key.
func TestCacheSingleFlight(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	release := f.p.hold()
	var wg sync.WaitGroup
	out := make([]string, 16)
	for i := range out {
		wg.Go(func() {
			s, err := f.e.Encrypt(context.Background(), "password", Context{}, f.keyID, pcommon.NewValueStr("v"))
			assert.NoError(t, err)
			out[i] = s
		})
	}
	require.Eventually(t, func() bool { return f.p.generates.Load() == 1 }, time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	release()
	wg.Wait()
	assert.Equal(t, int64(1), f.p.generates.Load())
	for _, s := range out {
		assert.Equal(t, wrappedKeyOf(t, out[0]), wrappedKeyOf(t, s))
	}
}

// A caller waiting for a data key gives up with its context; the key still arrives for the
// next one.
func TestCacheWaitHonoursContext(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	release := f.p.hold()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.e.Encrypt(ctx, "password", Context{}, f.keyID, pcommon.NewValueStr("v"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, IsRetryable(err))
	release()
	f.waitIdle(t)
	f.encrypt(t, "password", "v")
	assert.Equal(t, int64(1), f.p.generates.Load())
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour, MaxEntries: 2})
	a := wrappedKeyOf(t, f.encrypt(t, "a", "v"))
	f.clock.Advance(time.Second)
	f.encrypt(t, "b", "v")
	f.clock.Advance(time.Second)
	assert.Equal(t, a, wrappedKeyOf(t, f.encrypt(t, "a", "v")), "a is used again: b is now the least recent")
	f.clock.Advance(time.Second)
	f.encrypt(t, "c", "v")
	st := f.e.Stats()
	assert.Equal(t, uint64(1), st.Evictions)
	assert.Equal(t, 2, st.Entries)
	assert.Equal(t, a, wrappedKeyOf(t, f.encrypt(t, "a", "v")), "a was kept")
	assert.Equal(t, int64(3), f.p.generates.Load())
	f.encrypt(t, "b", "v")
	assert.Equal(t, int64(4), f.p.generates.Load(), "b was evicted and needs a new key")
}

// The plaintext data key the provider hands out is zeroed once its cipher is made.
func TestCacheZeroesPlaintextDataKeys(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	f.encrypt(t, "password", "v")
	f.encrypt(t, "token", "v")
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	require.Len(t, f.p.issued, 2)
	for _, k := range f.p.issued {
		assert.Equal(t, make([]byte, dataKeySize), k)
	}
}

func TestCacheProviderRefusalIsPermanent(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	f.p.failWith(fmt.Errorf("kms: %w", ErrAccessDenied))
	_, err := f.e.Encrypt(context.Background(), "password", Context{}, f.keyID, pcommon.NewValueStr("v"))
	require.ErrorIs(t, err, ErrAccessDenied)
	assert.False(t, IsRetryable(err))
	assert.Equal(t, Stats{DataKeys: 1, DataKeyErrors: 1, Entries: 1}, f.e.Stats())
}

func TestEncryptorClose(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Hour})
	f.encrypt(t, "password", "v")
	release := f.p.hold()
	defer release()
	done := make(chan error)
	go func() {
		_, err := f.e.Encrypt(context.Background(), "token", Context{}, f.keyID, pcommon.NewValueStr("v"))
		done <- err
	}()
	require.Eventually(t, func() bool { return f.p.generates.Load() == 2 }, time.Second, time.Millisecond)
	f.e.Close() // cancels the call in flight and waits for it
	require.Error(t, <-done)
	_, err := f.e.Encrypt(context.Background(), "password", Context{}, f.keyID, pcommon.NewValueStr("v"))
	require.ErrorIs(t, err, ErrClosed)
	assert.Zero(t, f.e.Stats().Entries)
}

func TestNewEncryptorValidates(t *testing.T) {
	_, err := NewEncryptor(nil, CacheConfig{MaxEntries: -1})
	require.Error(t, err)
	for _, w := range []string{"no key provider", "cache max age: must be positive", "cache max entries: must not be negative"} {
		assert.ErrorContains(t, err, w)
	}
}

// Decrypting many values of one data key unwraps it once; a permanent refusal is also
// remembered, a retryable one is not.
func TestDecryptorCache(t *testing.T) {
	path, def := newKeyringFile(t)
	acme, err := Rotate(path, "acme")
	require.NoError(t, err)
	kr, err := Load(path)
	require.NoError(t, err)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	ctx := context.Background()
	var values, acmeValues []string
	for i := range 1000 {
		s, err := enc.Encrypt(ctx, "password", Context{}, def.ID, pcommon.NewValueInt(int64(i)))
		require.NoError(t, err)
		values = append(values, s)
		s, err = enc.Encrypt(ctx, "password", Context{}, acme.ID, pcommon.NewValueInt(int64(i)))
		require.NoError(t, err)
		acmeValues = append(acmeValues, s)
	}

	_, err = Shred(path, "acme")
	require.NoError(t, err)
	shredded, err := Load(path)
	require.NoError(t, err)
	p := &testProvider{inner: shredded}
	dec := newDecryptor(t, p)
	for i, s := range values {
		v, err := dec.Decrypt(ctx, "password", s)
		require.NoError(t, err)
		assert.Equal(t, int64(i), v.Int())
	}
	assert.Equal(t, int64(1), p.decrypts.Load(), "1000 values, one unwrap")
	for _, s := range acmeValues {
		_, err := dec.Decrypt(ctx, "password", s)
		require.ErrorIs(t, err, ErrShredded)
	}
	assert.Equal(t, int64(2), p.decrypts.Load(), "1000 refusals, one unwrap")
	assert.Equal(t, DecryptStats{Unwraps: 2, UnwrapErrors: 1, Decryptions: 1000, Failures: 1000}, dec.Stats())

	p2 := &testProvider{inner: kr}
	p2.failWith(fmt.Errorf("down: %w", ErrUnavailable))
	dec2 := newDecryptor(t, p2)
	for range 3 {
		_, err := dec2.Decrypt(ctx, "password", values[0])
		require.ErrorIs(t, err, ErrUnavailable)
	}
	assert.Equal(t, int64(3), p2.decrypts.Load(), "an outage is asked again")
	p2.failWith(nil)
	_, err = dec2.Decrypt(ctx, "password", values[0])
	require.NoError(t, err)

	// Bounded: two entries at most, the least recently used evicted.
	dec3, err := NewDecryptor(kr, DecryptorConfig{MaxEntries: 1})
	require.NoError(t, err)
	for _, field := range []string{"password", "token"} {
		s, err := enc.Encrypt(ctx, field, Context{}, def.ID, pcommon.NewValueStr("v"))
		require.NoError(t, err)
		_, err = dec3.Decrypt(ctx, field, s)
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(1), dec3.Stats().Evictions)
	assert.Len(t, dec3.entries, 1)

	// Kept for MaxAge only: a key shredded since is refused once its entry expires.
	clock := newFakeClock()
	dec4, err := NewDecryptor(&testProvider{inner: kr}, DecryptorConfig{MaxAge: time.Minute})
	require.NoError(t, err)
	dec4.now = clock.Now
	_, err = dec4.Decrypt(ctx, "password", acmeValues[0])
	require.NoError(t, err)
	dec4.provider = &testProvider{inner: shredded}
	_, err = dec4.Decrypt(ctx, "password", acmeValues[1])
	require.NoError(t, err, "cached")
	clock.Advance(time.Minute)
	_, err = dec4.Decrypt(ctx, "password", acmeValues[1])
	require.True(t, errors.Is(err, ErrShredded), "%v", err)
}

// Goroutines encrypting while keys run out, renew and expire: every value decrypts, and no
// data key encrypts more than its limit.
func TestCacheConcurrentUse(t *testing.T) {
	f := newCacheFixture(t, CacheConfig{MaxAge: time.Minute, MaxMessages: 50, MaxEntries: 3})
	dec := newDecryptor(t, f.p.inner)
	var mu sync.Mutex
	perKey := map[string]int{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				if g == 0 && i%100 == 0 {
					f.clock.Advance(10 * time.Second)
				}
				field := fmt.Sprint("field.", i%4) // four fields, three entries: evictions too
				want := fmt.Sprint(g, "/", i)
				s, err := f.e.Encrypt(context.Background(), field, Context{}, f.keyID, pcommon.NewValueStr(want))
				if !assert.NoError(t, err) {
					return
				}
				got, err := dec.Decrypt(context.Background(), field, s)
				if !assert.NoError(t, err) || !assert.Equal(t, want, got.Str()) {
					return
				}
				mu.Lock()
				perKey[wrappedKeyOf(t, s)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, n := range perKey {
		assert.LessOrEqual(t, n, 50)
	}
	st := f.e.Stats()
	assert.Equal(t, uint64(4000), st.Encryptions)
	assert.Positive(t, st.Evictions)
	assert.LessOrEqual(t, st.Entries, 3)
}
