package apikeys

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fixture struct {
	set                                  *Set
	active, expiring, revoked, otherAcme string
}

func newFixture(t testing.TB) fixture {
	var fx fixture
	f := NewFile()
	add := func(expires time.Time, revoked time.Time) string {
		key, rec, err := Generate("acme", []Scope{ScopeTraces, ScopeLogs}, expires, t0)
		require.NoError(t, err)
		rec.Revoked = revoked
		require.NoError(t, f.Add(rec))
		return key
	}
	fx.active = add(time.Time{}, time.Time{})
	fx.expiring = add(t0.Add(time.Hour), time.Time{})
	fx.revoked = add(time.Time{}, t0.Add(time.Minute))
	fx.otherAcme = add(time.Time{}, time.Time{})
	set, err := NewSet(f)
	require.NoError(t, err)
	fx.set = set
	return fx
}

func TestVerify(t *testing.T) {
	fx := newFixture(t)
	id, _ := splitKey(fx.active)
	wrongSecret := fx.active[:len(fx.active)-43] + strings.Repeat("A", 43)
	unknown := "wk_k-00000000_" + strings.Repeat("A", 43)
	tests := []struct {
		name string
		key  string
		at   time.Time
		want Result
	}{
		{"active", fx.active, t0, OK},
		{"second key of the same tenant", fx.otherAcme, t0, OK},
		{"before expiry", fx.expiring, t0.Add(59 * time.Minute), OK},
		{"at expiry", fx.expiring, t0.Add(time.Hour), Expired},
		{"before revocation", fx.revoked, t0, OK},
		{"revoked", fx.revoked, t0.Add(time.Minute), Revoked},
		{"wrong secret", wrongSecret, t0, Wrong},
		{"unknown id", unknown, t0, Unknown},
		{"empty", "", t0, Malformed},
		{"no prefix", strings.TrimPrefix(fx.active, "wk_"), t0, Malformed},
		{"short secret", fx.active[:len(fx.active)-1], t0, Malformed},
		{"bad character", fx.active[:len(fx.active)-2] + "+A", t0, Malformed},
		{"non-canonical last character", fx.active[:len(fx.active)-1] + "B", t0, Malformed},
		{"bad id", "wk_K!_" + strings.Repeat("A", 43), t0, Malformed},
		{"too long", "wk_" + strings.Repeat("a", 65) + "_" + strings.Repeat("A", 43), t0, Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, got := fx.set.Verify(tt.key, tt.at)
			assert.Equal(t, tt.want, got, got.String())
			switch got {
			case Malformed, Unknown:
				assert.Empty(t, rec.ID)
			default:
				assert.Equal(t, "acme", rec.Tenant)
			}
		})
	}
	rec, _ := fx.set.Verify(fx.active, t0)
	assert.Equal(t, id, rec.ID)
	assert.Equal(t, 4, fx.set.Len())
	assert.Len(t, fx.set.Records(), 4)
}

// TestVerifyComparesUnknownIDs checks that a well-formed key with an unknown id is hashed and
// compared like a known one, so its answer does not come sooner.
func TestVerifyComparesUnknownIDs(t *testing.T) {
	fx := newFixture(t)
	calls := 0
	comparedHook = func() { calls++ }
	t.Cleanup(func() { comparedHook = nil })

	_, res := fx.set.Verify("wk_k-00000000_"+strings.Repeat("A", 43), t0)
	assert.Equal(t, Unknown, res)
	assert.Equal(t, 1, calls)
	_, res = fx.set.Verify(fx.active, t0)
	assert.Equal(t, OK, res)
	assert.Equal(t, 2, calls)
	_, res = fx.set.Verify("garbage", t0)
	assert.Equal(t, Malformed, res)
	assert.Equal(t, 2, calls, "a malformed key is refused before any hashing")
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	fx := newFixture(t)
	unknown := "wk_k-00000000_" + strings.Repeat("A", 43)
	for _, key := range []string{fx.active, fx.revoked, unknown} {
		allocs := testing.AllocsPerRun(100, func() { fx.set.Verify(key, t0) })
		assert.Zero(t, allocs)
	}
}

func TestResultString(t *testing.T) {
	assert.Equal(t, "ok", OK.String())
	assert.Equal(t, "revoked", Revoked.String())
	assert.Equal(t, "Result(42)", Result(42).String())
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.active)
	f.Add("wk__" + strings.Repeat("A", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		rec, res := fx.set.Verify(key, t0)
		if res == OK && rec.ID == "" {
			t.Fatalf("accepted %q without a record", key)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("format: warden-apikeys\nversion: 1\nkeys: []\n"))
	f.Add([]byte("keys: [{id: a}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err == nil {
			require.NoError(t, file.Validate())
		}
	})
}
