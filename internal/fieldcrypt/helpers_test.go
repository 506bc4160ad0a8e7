package fieldcrypt

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newKeyringFile writes a keyring with a default key to a temporary directory.
func newKeyringFile(t testing.TB) (string, KeyInfo) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := GenerateKeyring(path)
	require.NoError(t, err)
	return path, k
}

// testKeyring is a loaded keyring with a default key, and that key's id.
func testKeyring(t testing.TB) (*Keyring, string) {
	t.Helper()
	path, k := newKeyringFile(t)
	kr, err := Load(path)
	require.NoError(t, err)
	return kr, k.ID
}

func mustContext(t testing.TB, attrs map[string]string) Context {
	t.Helper()
	c, err := NewContext(attrs)
	require.NoError(t, err)
	return c
}

func newEncryptor(t testing.TB, p Provider, cfg CacheConfig) *Encryptor {
	t.Helper()
	e, err := NewEncryptor(p, cfg)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

func newDecryptor(t testing.TB, p Provider) *Decryptor {
	t.Helper()
	d, err := NewDecryptor(p, DecryptorConfig{})
	require.NoError(t, err)
	return d
}

// testProvider wraps a provider: it counts calls, fails them on demand, holds
// GenerateDataKey until released, and keeps every plaintext it hands out.
type testProvider struct {
	inner               Provider
	generates, decrypts atomic.Int64
	fail                atomic.Pointer[error]
	gate                atomic.Pointer[chan struct{}]

	mu     sync.Mutex
	issued [][]byte
}

func (p *testProvider) failWith(err error) {
	if err == nil {
		p.fail.Store(nil)
		return
	}
	p.fail.Store(&err)
}

// hold makes GenerateDataKey wait until the returned function is called.
func (p *testProvider) hold() (release func()) {
	gate := make(chan struct{})
	p.gate.Store(&gate)
	return func() { p.gate.Store(nil); close(gate) }
}

func (p *testProvider) GenerateDataKey(ctx context.Context, keyID string, ec Context) ([]byte, []byte, error) {
	p.generates.Add(1)
	if g := p.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	if err := p.fail.Load(); err != nil {
		return nil, nil, *err
	}
	pt, wrapped, err := p.inner.GenerateDataKey(ctx, keyID, ec)
	p.mu.Lock()
	p.issued = append(p.issued, pt)
	p.mu.Unlock()
	return pt, wrapped, err
}

func (p *testProvider) Decrypt(ctx context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error) {
	p.decrypts.Add(1)
	if err := p.fail.Load(); err != nil {
		return nil, *err
	}
	return p.inner.Decrypt(ctx, keyID, wrapped, ec)
}

// fakeClock is a settable clock for cache ages.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// assertSameValue asserts that got has want's type and content, bit for bit for doubles (NaN
// and -0 included), through OTLP JSON for maps and slices.
func assertSameValue(t *testing.T, want, got pcommon.Value) {
	t.Helper()
	require.Equal(t, want.Type(), got.Type())
	switch want.Type() {
	case pcommon.ValueTypeDouble:
		assert.Equal(t, math.Float64bits(want.Double()), math.Float64bits(got.Double()))
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		wj, err := anyValueJSON(want)
		require.NoError(t, err)
		gj, err := anyValueJSON(got)
		require.NoError(t, err)
		assert.JSONEq(t, string(wj), string(gj))
	default:
		assert.Equal(t, want.AsRaw(), got.AsRaw())
	}
}

// wrappedKeyOf is the wrapped data key a value carries.
func wrappedKeyOf(t testing.TB, s string) string {
	t.Helper()
	env, err := Parse(s)
	require.NoError(t, err)
	return string(env.WrappedKey)
}
