package fieldcrypt

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func valueCases() []struct {
	name string
	v    pcommon.Value
} {
	nested := pcommon.NewValueMap()
	m := nested.Map()
	m.PutStr("number", "4111 1111 1111 1111")
	m.PutInt("cvv", 123)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("inf", math.Inf(1))
	m.PutDouble("ninf", math.Inf(-1))
	m.PutBool("ok", true)
	m.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 0xfe, 0xff})
	m.PutEmpty("none")
	m.PutStr("html", `<a href="x">&</a>`)
	inner := m.PutEmptySlice("list")
	inner.AppendEmpty().SetStr("a")
	inner.AppendEmpty().SetInt(math.MinInt64)
	inner.AppendEmpty().SetEmptyMap().PutEmptyMap("deeper").PutStr("k", "v")
	inner.AppendEmpty().SetEmptySlice()

	slice := pcommon.NewValueSlice()
	slice.Slice().AppendEmpty().SetDouble(0.1)
	slice.Slice().AppendEmpty().SetEmptyMap().PutStr("x", "y")
	slice.Slice().AppendEmpty()

	bytesOf := func(b []byte) pcommon.Value {
		v := pcommon.NewValueBytes()
		v.Bytes().FromRaw(b)
		return v
	}
	return []struct {
		name string
		v    pcommon.Value
	}{
		{"empty string", pcommon.NewValueStr("")},
		{"string", pcommon.NewValueStr("hunter2")},
		{"unicode string", pcommon.NewValueStr("Grüße, 世界 🚀")},
		{"invalid UTF-8 string", pcommon.NewValueStr("\xff\xfe ok")},
		{"ciphertext-looking string", pcommon.NewValueStr(Prefix + "k1:" + strings.Repeat("A", 60))},
		{"long string", pcommon.NewValueStr(strings.Repeat("x", 70000))},
		{"true", pcommon.NewValueBool(true)},
		{"false", pcommon.NewValueBool(false)},
		{"zero", pcommon.NewValueInt(0)},
		{"negative int", pcommon.NewValueInt(-1)},
		{"max int", pcommon.NewValueInt(math.MaxInt64)},
		{"min int", pcommon.NewValueInt(math.MinInt64)},
		{"double", pcommon.NewValueDouble(3.141592653589793)},
		{"negative zero", pcommon.NewValueDouble(math.Copysign(0, -1))},
		{"NaN", pcommon.NewValueDouble(math.NaN())},
		{"NaN with payload", pcommon.NewValueDouble(math.Float64frombits(0x7ff8_0000_dead_beef))},
		{"+Inf", pcommon.NewValueDouble(math.Inf(1))},
		{"-Inf", pcommon.NewValueDouble(math.Inf(-1))},
		{"smallest double", pcommon.NewValueDouble(math.SmallestNonzeroFloat64)},
		{"bytes", bytesOf([]byte{0, 1, 2, 0xff})},
		{"empty bytes", pcommon.NewValueBytes()},
		{"nested map", nested},
		{"empty map", pcommon.NewValueMap()},
		{"slice", slice},
		{"empty slice", pcommon.NewValueSlice()},
		{"empty value", pcommon.NewValueEmpty()},
	}
}

func TestRoundTripEveryType(t *testing.T) {
	kr, keyID := testKeyring(t)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	dec := newDecryptor(t, kr)
	ec := mustContext(t, map[string]string{"tenant.id": "acme", "service.name": "checkout"})
	ctx := context.Background()

	for _, tc := range valueCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, err := enc.Encrypt(ctx, "user.secret", ec, keyID, tc.v)
			require.NoError(t, err)
			assert.True(t, IsCiphertext(s), s)
			assert.True(t, strings.HasPrefix(s, Prefix+keyID+":"))

			env, err := Parse(s)
			require.NoError(t, err)
			assert.Equal(t, tc.v.Type(), env.Type)
			assert.Equal(t, ec, env.Context)

			got, err := dec.Decrypt(ctx, "user.secret", s)
			require.NoError(t, err)
			assertSameValue(t, tc.v, got)
		})
	}
}

// Two encryptions of one value under one data key differ (random nonces), and neither holds
// the plaintext.
func TestEncryptIsRandomised(t *testing.T) {
	kr, keyID := testKeyring(t)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	v := pcommon.NewValueStr("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	a, err := enc.Encrypt(context.Background(), "password", Context{}, keyID, v)
	require.NoError(t, err)
	b, err := enc.Encrypt(context.Background(), "password", Context{}, keyID, v)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Equal(t, wrappedKeyOf(t, a), wrappedKeyOf(t, b), "one data key")
	assert.NotContains(t, a, "AAAAAAAA")
}

func TestEncryptRefusesBadInput(t *testing.T) {
	kr, keyID := testKeyring(t)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	v := pcommon.NewValueStr("x")
	for _, tc := range []struct {
		name, field, keyID, want string
	}{
		{"no field", "", keyID, "field name of 0 bytes"},
		{"field not UTF-8", "a\xff", keyID, "not valid UTF-8"},
		{"field too long", strings.Repeat("f", 1025), keyID, "field name of 1025 bytes"},
		{"ARN as key id", "password", "arn:aws:kms:eu-west-1:111122223333:alias/x", "key id: only letters"},
		{"no key id", "password", "", "key id: want 1 to 64"},
		{"unknown key", "password", "k-000000", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := enc.Encrypt(context.Background(), tc.field, Context{}, tc.keyID, v)
			require.ErrorContains(t, err, tc.want)
			assert.Empty(t, s)
		})
	}
}

func TestNewContext(t *testing.T) {
	c, err := NewContext(map[string]string{"tenant.id": "acme", "service.name": "checkout"})
	require.NoError(t, err)
	assert.Equal(t, []Pair{{"service.name", "checkout"}, {"tenant.id", "acme"}}, c.Pairs(), "sorted by key")
	assert.Equal(t, map[string]string{"service.name": "checkout", "tenant.id": "acme"}, c.Map())
	v, ok := c.Get("tenant.id")
	assert.True(t, ok)
	assert.Equal(t, "acme", v)
	assert.Equal(t, `{service.name="checkout", tenant.id="acme"}`, c.String())
	assert.Equal(t, map[string]string{FieldKey: "password", "service.name": "checkout", "tenant.id": "acme"}, c.withField("password").Map())

	same, err := NewContext(map[string]string{"service.name": "checkout", "tenant.id": "acme"})
	require.NoError(t, err)
	assert.Equal(t, c, same, "canonical")

	tooMany, tooLarge := map[string]string{}, map[string]string{}
	for i := range 17 {
		tooMany[string(rune('a'+i))] = "v"
	}
	for i := range 16 {
		tooLarge[string(rune('a'+i))] = strings.Repeat("v", 200)
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		want  string
	}{
		{"reserved warden.", map[string]string{FieldKey: "x"}, "reserved"},
		{"reserved aws:", map[string]string{"aws:x": "x"}, "reserved"},
		{"empty value", map[string]string{"tenant.id": ""}, "leave out an absent attribute"},
		{"long value", map[string]string{"tenant.id": strings.Repeat("v", 1025)}, "want 1 to 1024"},
		{"long key", map[string]string{strings.Repeat("k", 256): "v"}, "want 1 to 255 bytes"},
		{"empty key", map[string]string{"": "v"}, "want 1 to 255 bytes"},
		{"value not UTF-8", map[string]string{"tenant.id": "\xff"}, "not valid UTF-8"},
		{"too many", tooMany, "17 attributes, at most 16"},
		{"too large", tooLarge, "3264 bytes encoded, at most 2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewContext(tc.attrs)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
