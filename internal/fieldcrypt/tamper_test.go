package fieldcrypt

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// tamperFixture is a value of field "card.number" under a tenant key, with the keyring to
// decrypt it.
type tamperFixture struct {
	path     string
	kr       *Keyring
	keyID    string // the tenant's key
	otherKey string // the default key
	value    string
}

func newTamperFixture(t *testing.T) tamperFixture {
	t.Helper()
	path, def := newKeyringFile(t)
	acme, err := Rotate(path, "acme")
	require.NoError(t, err)
	kr, err := Load(path)
	require.NoError(t, err)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	ec := mustContext(t, map[string]string{"tenant.id": "acme"})
	s, err := enc.Encrypt(context.Background(), "card.number", ec, acme.ID, pcommon.NewValueStr("4111111111111111"))
	require.NoError(t, err)
	return tamperFixture{path: path, kr: kr, keyID: acme.ID, otherKey: def.ID, value: s}
}

func (f tamperFixture) payload(t *testing.T) []byte {
	t.Helper()
	raw, err := b64.DecodeString(f.value[len(Prefix)+len(f.keyID)+1:])
	require.NoError(t, err)
	return raw
}

func (f tamperFixture) withPayload(raw []byte) string {
	return Prefix + f.keyID + ":" + b64.EncodeToString(raw)
}

// Every single-bit change of the payload fails authentication (or, in the version byte, is an
// unknown version): none decrypts.
func TestTamperEveryBitOfThePayload(t *testing.T) {
	f := newTamperFixture(t)
	dec := newDecryptor(t, f.kr)
	ctx := context.Background()
	_, err := dec.Decrypt(ctx, "card.number", f.value)
	require.NoError(t, err)

	raw := f.payload(t)
	for i := range raw {
		for bit := range 8 {
			changed := append([]byte(nil), raw...)
			changed[i] ^= 1 << bit
			v, err := dec.Decrypt(ctx, "card.number", f.withPayload(changed))
			require.Error(t, err, "byte %d bit %d decrypted", i, bit)
			assert.Equal(t, pcommon.Value{}, v)
			if i == 0 {
				require.ErrorIs(t, err, ErrUnsupported, "byte %d bit %d", i, bit)
			} else {
				require.ErrorIs(t, err, ErrTampered, "byte %d bit %d", i, bit)
			}
		}
	}
}

// Every truncation of the value's text, and of its payload bytes, fails.
func TestTamperTruncated(t *testing.T) {
	f := newTamperFixture(t)
	dec := newDecryptor(t, f.kr)
	ctx := context.Background()
	for n := range len(f.value) {
		_, err := dec.Decrypt(ctx, "card.number", f.value[:n])
		require.Error(t, err, "text cut at %d", n)
		assert.True(t, errors.Is(err, ErrTampered) || errors.Is(err, ErrNotCiphertext), "text cut at %d: %v", n, err)
	}
	raw := f.payload(t)
	for n := range len(raw) {
		_, err := dec.Decrypt(ctx, "card.number", f.withPayload(raw[:n]))
		require.ErrorIs(t, err, ErrTampered, "payload cut at %d", n)
	}
	_, err := dec.Decrypt(ctx, "card.number", f.withPayload(append(raw, 0)))
	require.ErrorIs(t, err, ErrTampered, "a byte appended")
}

func TestTamperTextAndKeyID(t *testing.T) {
	f := newTamperFixture(t)
	dec := newDecryptor(t, f.kr)
	payload := f.value[len(Prefix)+len(f.keyID)+1:]
	ctx := context.Background()
	for _, tc := range []struct {
		name, value string
		want        error
	}{
		{"another key's id", Prefix + f.otherKey + ":" + payload, ErrTampered},
		{"unknown key id", Prefix + "k-ffffff:" + payload, ErrUnknownKey},
		{"no key id", Prefix + ":" + payload, ErrNotCiphertext},
		{"other version", "wenc:v2:" + f.keyID + ":" + payload, ErrNotCiphertext},
		{"padding", f.value + "=", ErrTampered},
		{"standard base64 alphabet", Prefix + f.keyID + ":+" + payload[1:], ErrTampered},
		{"space", f.value + " ", ErrTampered},
		{"line break", f.value[:40] + "\n" + f.value[40:], ErrTampered},
		{"carriage return", f.value + "\r", ErrTampered},
		{"plaintext", "4111111111111111", ErrNotCiphertext},
		{"empty", "", ErrNotCiphertext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.value == f.value {
				t.Fatal("the case changes nothing")
			}
			_, err := dec.Decrypt(ctx, "card.number", tc.value)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// Non-canonical base64: the last character's unused bits set.
	last := strings.IndexByte(b64Alphabet, f.value[len(f.value)-1])
	if unused := (len(payload) * 6) % 8; unused > 0 {
		alt := f.value[:len(f.value)-1] + string(b64Alphabet[last|1])
		if alt != f.value {
			_, err := dec.Decrypt(ctx, "card.number", alt)
			require.ErrorIs(t, err, ErrTampered, "non-canonical base64")
		}
	}
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// A value moved to another field does not decrypt; neither does one whose carried context
// was rewritten (another tenant), even with the header otherwise intact.
func TestFieldAndContextSwap(t *testing.T) {
	f := newTamperFixture(t)
	dec := newDecryptor(t, f.kr)
	ctx := context.Background()
	for _, field := range []string{"card.cvv", "card.number ", "body.card.number", "Card.Number"} {
		_, err := dec.Decrypt(ctx, field, f.value)
		require.ErrorIs(t, err, ErrTampered, field)
	}
	got, err := dec.Decrypt(ctx, "card.number", f.value)
	require.NoError(t, err, "the right field still decrypts")
	assert.Equal(t, "4111111111111111", got.Str())

	// Rewrite the carried tenant "acme" as "acmf": same lengths, canonical order.
	raw := f.payload(t)
	w := int(binary.BigEndian.Uint16(raw[2:]))
	pairs := raw[5+w:]
	i := strings.Index(string(pairs), "acme")
	require.Positive(t, i)
	changed := append([]byte(nil), raw...)
	changed[5+w+i+3] = 'f'
	env, err := Parse(f.withPayload(changed))
	require.NoError(t, err, "still well-formed")
	assert.Equal(t, "acmf", env.Context.Map()["tenant.id"])
	_, err = dec.Decrypt(ctx, "card.number", f.withPayload(changed))
	require.ErrorIs(t, err, ErrTampered)
}

// A value whose wrapped key and header come from another value of the same data key, but
// whose sealed part is from a value of another type, does not decrypt (the type is bound).
func TestTypeTagBound(t *testing.T) {
	kr, keyID := testKeyring(t)
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	dec := newDecryptor(t, kr)
	ctx := context.Background()
	s, err := enc.Encrypt(ctx, "n", Context{}, keyID, pcommon.NewValueInt(42))
	require.NoError(t, err)
	raw, err := b64.DecodeString(s[len(Prefix)+len(keyID)+1:])
	require.NoError(t, err)
	require.Equal(t, tagInt, raw[1])
	raw[1] = tagDouble
	_, err = dec.Decrypt(ctx, "n", Prefix+keyID+":"+b64.EncodeToString(raw))
	require.ErrorIs(t, err, ErrTampered)
}

func TestParse(t *testing.T) {
	f := newTamperFixture(t)
	env, err := Parse(f.value)
	require.NoError(t, err)
	assert.Equal(t, f.keyID, env.KeyID)
	assert.Equal(t, pcommon.ValueTypeStr, env.Type)
	assert.Equal(t, map[string]string{"tenant.id": "acme"}, env.Context.Map())
	assert.Len(t, env.WrappedKey, localWrappedSize)

	_, err = Parse("hello")
	require.ErrorIs(t, err, ErrNotCiphertext)
	raw := f.payload(t)
	raw[0] = 2
	_, err = Parse(f.withPayload(raw))
	require.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, "payload version 2")
}
