package fieldcrypt

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// As the README's `wardenctl keys generate --out keys/field-keyring.json` runs in a fresh
// checkout: the directory is made, for the owner only.
func TestGenerateKeyringMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys", "fields")
	_, err := GenerateKeyring(filepath.Join(dir, "keyring.json"))
	require.NoError(t, err)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), info.Mode().Perm())
	_, err = Load(filepath.Join(dir, "keyring.json"))
	require.NoError(t, err)
}

func TestGenerateKeyring(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	k, err := GenerateKeyring(path)
	require.NoError(t, err)
	assert.Regexp(t, `^k-[0-9a-f]{6}$`, k.ID)
	assert.Equal(t, KeyActive, k.State)
	assert.Empty(t, k.Tenant)
	assert.WithinDuration(t, time.Now(), k.Created, time.Minute)

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")

	kr, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, []KeyInfo{k}, kr.Keys())
	id, err := kr.KeyFor("")
	require.NoError(t, err)
	assert.Equal(t, k.ID, id)
	id, err = kr.KeyFor("tenant-without-key")
	require.NoError(t, err)
	assert.Equal(t, k.ID, id, "a tenant without a key of its own uses the default key")

	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = GenerateKeyring(path)
	require.ErrorIs(t, err, fs.ErrExist)
	assert.ErrorContains(t, err, "refusing to replace a keyring")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the existing keyring is untouched")

	_, err = GenerateKeyring(filepath.Join(path, "keyring.json"))
	require.Error(t, err, "under a file, not a directory")
}

func TestRotate(t *testing.T) {
	path, def := newKeyringFile(t)
	kr, err := Load(path)
	require.NoError(t, err)
	ctx := context.Background()
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	old, err := enc.Encrypt(ctx, "password", Context{}, def.ID, pcommon.NewValueStr("old secret"))
	require.NoError(t, err)

	require.NoError(t, os.Chmod(path, 0o644))
	next, err := Rotate(path, "")
	require.NoError(t, err)
	assert.NotEqual(t, def.ID, next.ID)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), "rewritten owner-only")

	kr, err = Load(path)
	require.NoError(t, err)
	keys := kr.Keys()
	require.Len(t, keys, 2)
	assert.Equal(t, KeyRetired, keys[0].State)
	assert.False(t, keys[0].Retired.IsZero())
	assert.Equal(t, KeyActive, keys[1].State)
	id, err := kr.KeyFor("")
	require.NoError(t, err)
	assert.Equal(t, next.ID, id, "new data under the new key")

	_, _, err = kr.GenerateDataKey(ctx, def.ID, Context{}.withField("password"))
	require.ErrorIs(t, err, ErrKeyDisabled, "a retired key makes no new data keys")

	dec := newDecryptor(t, kr)
	got, err := dec.Decrypt(ctx, "password", old)
	require.NoError(t, err, "a retired key still decrypts")
	assert.Equal(t, "old secret", got.Str())

	enc2 := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	fresh, err := enc2.Encrypt(ctx, "password", Context{}, id, pcommon.NewValueStr("new secret"))
	require.NoError(t, err)
	got, err = dec.Decrypt(ctx, "password", fresh)
	require.NoError(t, err)
	assert.Equal(t, "new secret", got.Str())

	acme, err := Rotate(path, "acme corp")
	require.NoError(t, err)
	assert.Regexp(t, `^acme_corp-[0-9a-f]{6}$`, acme.ID, "a tenant's first key")
	assert.Equal(t, "acme corp", acme.Tenant)
	kr, err = Load(path)
	require.NoError(t, err)
	id, err = kr.KeyFor("acme corp")
	require.NoError(t, err)
	assert.Equal(t, acme.ID, id)
}

func TestShred(t *testing.T) {
	path, def := newKeyringFile(t)
	acme1, err := Rotate(path, "acme")
	require.NoError(t, err)
	acme2, err := Rotate(path, "acme")
	require.NoError(t, err)
	globex, err := Rotate(path, "globex")
	require.NoError(t, err)
	kr, err := Load(path)
	require.NoError(t, err)

	ctx := context.Background()
	enc := newEncryptor(t, kr, CacheConfig{MaxAge: time.Hour})
	encrypt := func(tenant, keyID string) string {
		s, err := enc.Encrypt(ctx, "email", mustContext(t, map[string]string{"tenant.id": tenant}), keyID, pcommon.NewValueStr(tenant+"@example.com"))
		require.NoError(t, err)
		return s
	}
	// acme1 is retired: its values were made before the rotation.
	acmeOld := encrypt("acme", acme2.ID)
	acmeNew := encrypt("acme", acme2.ID)
	globexValue := encrypt("globex", globex.ID)
	defaultValue, err := enc.Encrypt(ctx, "email", Context{}, def.ID, pcommon.NewValueStr("ops@example.com"))
	require.NoError(t, err)

	shredded, err := Shred(path, "acme")
	require.NoError(t, err)
	require.Len(t, shredded, 2)
	assert.Equal(t, []string{acme1.ID, acme2.ID}, []string{shredded[0].ID, shredded[1].ID})

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var file map[string]any
	require.NoError(t, json.Unmarshal(raw, &file))
	for _, k := range file["keys"].([]any) {
		k := k.(map[string]any)
		if k["tenant"] == "acme" {
			assert.Equal(t, "shredded", k["state"])
			assert.NotContains(t, k, "material", "the material is gone from the file")
			assert.Contains(t, k, "shredded")
		} else {
			assert.Contains(t, k, "material")
		}
	}

	kr, err = Load(path)
	require.NoError(t, err)
	dec := newDecryptor(t, kr)
	for _, s := range []string{acmeOld, acmeNew} {
		_, err := dec.Decrypt(ctx, "email", s)
		require.ErrorIs(t, err, ErrShredded)
		assert.ErrorContains(t, err, `tenant "acme"`)
	}
	got, err := dec.Decrypt(ctx, "email", globexValue)
	require.NoError(t, err, "another tenant decrypts")
	assert.Equal(t, "globex@example.com", got.Str())
	got, err = dec.Decrypt(ctx, "email", defaultValue)
	require.NoError(t, err)
	assert.Equal(t, "ops@example.com", got.Str())

	_, err = kr.KeyFor("acme")
	require.ErrorIs(t, err, ErrShredded, "a shredded tenant's data never falls back to the default key")
	_, _, err = kr.GenerateDataKey(ctx, acme2.ID, Context{}.withField("email"))
	require.ErrorIs(t, err, ErrShredded)

	again, err := Shred(path, "acme")
	require.NoError(t, err)
	assert.Empty(t, again, "already shredded")

	_, err = Shred(path, "initech")
	require.ErrorIs(t, err, ErrUnknownKey)
	_, err = Shred(path, "")
	require.ErrorContains(t, err, "shred needs a tenant")

	resumed, err := Rotate(path, "acme")
	require.NoError(t, err)
	kr, err = Load(path)
	require.NoError(t, err)
	id, err := kr.KeyFor("acme")
	require.NoError(t, err)
	assert.Equal(t, resumed.ID, id, "a new key resumes the tenant")
}

func TestKeyringLockAndAtomicity(t *testing.T) {
	path, _ := newKeyringFile(t)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".lock", nil, 0o600))
	_, err = Rotate(path, "acme")
	require.ErrorContains(t, err, "locked by another change")
	_, err = Shred(path, "acme")
	require.ErrorContains(t, err, "locked by another change")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	require.NoError(t, os.Remove(path+".lock"))

	_, err = Rotate(path, "acme")
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"keyring.json"}, names, "no lock or temporary file left")
}

// A failed write leaves the keyring as it was: here the directory refuses new files.
func TestKeyringFailedWrite(t *testing.T) {
	path, _ := newKeyringFile(t)
	dir := filepath.Dir(path)
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		_ = f.Close()
		t.Skip("running as a user that ignores directory permissions")
	}
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = Rotate(path, "globex")
	require.Error(t, err)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestLoadRejectsDamagedKeyrings(t *testing.T) {
	material := strings.Repeat("A", 43) + "=" // 32 zero bytes in base64
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"not JSON", `{`, []string{"not a keyring file"}},
		{"other format", `{"format":"x","version":1,"keys":[]}`, []string{`format "x" version 1`}},
		{"problems listed together", `{"format":"warden-keyring","version":1,"keys":[
			{"id":"k-1","state":"active","created":"2025-01-01T00:00:00Z","material":"AAAA"},
			{"id":"k-1","state":"active","created":"2025-01-01T00:00:00Z","material":"` + material + `"},
			{"id":"bad id","state":"gone","created":"2025-01-01T00:00:00Z"},
			{"id":"x-2","state":"shredded","material":"` + material + `"}]}`,
			[]string{"keys[0] (k-1): active key with 3 bytes of material", "keys[1] (k-1): id used twice",
				`tenant "" has two active keys`, `keys[2] (bad id): key id`, `unknown state "gone"`,
				"keys[3] (x-2): no creation time", "shredded key still holds material"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
			_, err := Load(path)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	_, err := Load(filepath.Join(t.TempDir(), "none.json"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// A running LocalProvider sees a rotation and a shred made by another process within its check
// interval, and fails closed on a file it cannot read.
func TestLocalProviderFollowsTheFile(t *testing.T) {
	path, def := newKeyringFile(t)
	p, err := NewLocalProvider(path)
	require.NoError(t, err)
	clock := newFakeClock()
	p.now = clock.Now
	p.checked.Store(clock.Now().UnixNano())
	ctx := context.Background()
	ec := Context{}.withField("email")

	acme, err := Rotate(path, "acme")
	require.NoError(t, err)
	id, err := p.KeyFor("acme")
	require.NoError(t, err)
	assert.Equal(t, def.ID, id, "not checked again yet")
	clock.Advance(keyringCheckInterval)
	id, err = p.KeyFor("acme")
	require.NoError(t, err)
	assert.Equal(t, acme.ID, id, "the rotation is seen")
	pt, wrapped, err := p.GenerateDataKey(ctx, acme.ID, ec)
	require.NoError(t, err)

	_, err = Shred(path, "acme")
	require.NoError(t, err)
	clock.Advance(keyringCheckInterval)
	_, _, err = p.GenerateDataKey(ctx, acme.ID, ec)
	require.ErrorIs(t, err, ErrShredded)
	_, err = p.Decrypt(ctx, acme.ID, wrapped, ec)
	require.ErrorIs(t, err, ErrShredded)
	clear(pt)

	require.NoError(t, os.WriteFile(path, []byte("{damaged"), 0o600))
	clock.Advance(keyringCheckInterval)
	_, err = p.KeyFor("")
	require.ErrorIs(t, err, ErrUnavailable, "a damaged keyring fails closed, retryably")
	_, _, err = p.GenerateDataKey(ctx, def.ID, ec)
	require.ErrorIs(t, err, ErrUnavailable)

	require.NoError(t, os.Remove(path))
	_, err = GenerateKeyring(path)
	require.NoError(t, err)
	clock.Advance(keyringCheckInterval)
	_, err = p.KeyFor("")
	require.NoError(t, err, "a readable keyring again")
}

func TestKeyringWrapBindsContextAndKey(t *testing.T) {
	path, def := newKeyringFile(t)
	other, err := Rotate(path, "acme")
	require.NoError(t, err)
	kr, err := Load(path)
	require.NoError(t, err)
	ctx := context.Background()
	ec := mustContext(t, map[string]string{"tenant.id": "acme"}).withField("email")

	pt, wrapped, err := kr.GenerateDataKey(ctx, def.ID, ec)
	require.NoError(t, err)
	assert.Len(t, pt, dataKeySize)
	assert.Len(t, wrapped, localWrappedSize)
	got, err := kr.Decrypt(ctx, def.ID, wrapped, ec)
	require.NoError(t, err)
	assert.Equal(t, pt, got)

	for _, tc := range []struct {
		name  string
		keyID string
		ec    Context
		want  error
	}{
		{"other field", def.ID, mustContext(t, map[string]string{"tenant.id": "acme"}).withField("phone"), ErrTampered},
		{"other tenant", def.ID, mustContext(t, map[string]string{"tenant.id": "globex"}).withField("email"), ErrTampered},
		{"no context", def.ID, Context{}.withField("email"), ErrTampered},
		{"other key", other.ID, ec, ErrTampered},
		{"unknown key", "k-zzzzzz", ec, ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kr.Decrypt(ctx, tc.keyID, wrapped, tc.ec)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err = kr.Decrypt(ctx, def.ID, wrapped[:len(wrapped)-1], ec)
	require.ErrorIs(t, err, ErrTampered)
}

func TestIDPrefix(t *testing.T) {
	for tenant, want := range map[string]string{
		"":                                "k",
		"acme":                            "acme",
		"acme corp/eu":                    "acme_corp_eu",
		"-x":                              "t-x",
		"été":                             "t__t__",
		strings.Repeat("long", 10):        strings.Repeat("long", 6),
		"tenant.example.com_under-scored": "tenant.example.com_under",
	} {
		got := idPrefix(tenant)
		assert.Equal(t, want, got, tenant)
		assert.NoError(t, ValidKeyID(got+"-abcdef"))
	}
	assert.Regexp(t, regexp.MustCompile(`^k-[0-9a-f]{6}$`), (&keyringFile{}).addKey("", time.Now()).ID)
}
