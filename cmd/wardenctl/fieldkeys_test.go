package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

var keyIDLine = regexp.MustCompile(`(?m)^(?:key id|new key):\s+(\S+)`)

func TestKeysGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	code, out, errOut := runKeys("keys", "generate", "--out", path)
	require.Equal(t, exitOK, code, errOut)
	kr, err := fieldcrypt.Load(path)
	require.NoError(t, err)
	keys := kr.Keys()
	require.Len(t, keys, 1)
	assert.Equal(t, fieldcrypt.KeyActive, keys[0].State)
	assert.Empty(t, keys[0].Tenant)
	assert.Equal(t, keys[0].ID, keyIDLine.FindStringSubmatch(out)[1])
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	before, err := os.ReadFile(path)
	require.NoError(t, err)
	code, _, errOut = runKeys("keys", "generate", "--out", path)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "refusing to replace a keyring")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "an existing keyring is never replaced")

	for _, args := range [][]string{{}, {"--out", path, "extra"}, {"--keyring", path}} {
		code, _, errOut = runKeys(append([]string{"keys", "generate"}, args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
}

// TestKeyringRotateAndShredRoundTrip: fields the real processor encrypted under a keyring
// decrypt after rotations (old keys still decrypt, new data goes under the new keys); after
// one tenant is shredded its fields stay ciphertext and are reported as shredded, while the
// other tenants' and the untenanted data decrypt exactly.
func TestKeyringRotateAndShredRoundTrip(t *testing.T) {
	keyring := newKeyring(t)
	code, out, errOut := runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, exitOK, code, errOut)
	acmeKey := keyIDLine.FindStringSubmatch(out)[1]
	assert.True(t, strings.HasPrefix(acmeKey, "acme-"), out)
	assert.NotContains(t, out, "retired:", "acme had no key before")
	code, _, errOut = runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "globex")
	require.Equal(t, exitOK, code, errOut)

	cfg := keyringConfig(keyring)
	enc := startEncryption(t, cfg)
	before := []exported{
		enc.encrypt(t, logsBatch("acme")),
		enc.encrypt(t, tracesBatch("globex")),
		enc.encrypt(t, metricsBatch("")),
		enc.encrypt(t, logsBatch("initech")), // no key of its own: the default key
	}
	acmeFields := ciphertexts(before[0].encrypted)
	require.Positive(t, acmeFields)
	assert.Contains(t, before[0].encrypted, fieldcrypt.Prefix+acmeKey+":")

	// New keys for the default and for acme: new data goes under them, old data still decrypts.
	kr, err := fieldcrypt.Load(keyring)
	require.NoError(t, err)
	oldDefault := keyIDs(kr.Keys(), "", fieldcrypt.KeyActive)[0]
	code, out, errOut = runKeys("keys", "rotate", "--keyring", keyring)
	require.Equal(t, exitOK, code, errOut)
	newDefault := keyIDLine.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "tenant:  (none: the default key)")
	assert.Contains(t, out, "retired: "+oldDefault+" (still decrypts")
	code, out, errOut = runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, exitOK, code, errOut)
	newAcme := keyIDLine.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "retired: "+acmeKey)

	// The running processor takes the new keys within a second (for its next data keys).
	enc2 := startEncryption(t, keyringConfig(keyring))
	after := []exported{enc2.encrypt(t, metricsBatch("acme")), enc2.encrypt(t, logsBatch(""))}
	assert.Contains(t, after[0].encrypted, fieldcrypt.Prefix+newAcme+":")
	assert.Contains(t, after[1].encrypted, fieldcrypt.Prefix+newDefault+":")
	all := append(append([]exported{}, before...), after...)

	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), all...)
	clear := filepath.Join(dir, "clear.jsonl")
	code, out, errOut = runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", clear)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	got, err := os.ReadFile(clear)
	require.NoError(t, err)
	assert.Equal(t, plainLines(all...), string(got))
	assert.Contains(t, errOut, "wardenctl decrypt: 6 lines, ")
	assert.Contains(t, errOut, ", 0 left encrypted\n")

	// Shred acme: both of its keys.
	code, out, errOut = runKeys("keys", "shred", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "tenant acme: shredded 2 keys in "+keyring+": "+acmeKey+", "+newAcme+"\n")
	assert.Contains(t, errOut, "not recorded in an audit ledger")
	kr, err = fieldcrypt.Load(keyring)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{acmeKey, newAcme}, keyIDs(kr.Keys(), "acme", fieldcrypt.KeyShredded))
	raw, err := os.ReadFile(keyring)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(raw), `"material"`), "two default keys and globex's keep their material, acme's none")

	clear2 := filepath.Join(dir, "clear-after-shred.jsonl")
	code, _, errOut = runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", clear2)
	assert.Equal(t, exitLeftEncrypted, code, errOut)
	got, err = os.ReadFile(clear2)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	require.Len(t, lines, len(all))
	for i, e := range all {
		if i == 0 || i == 4 { // acme's batches: ciphertext, as they were
			assert.Equal(t, e.encrypted, lines[i], "line %d", i+1)
			continue
		}
		assert.Equal(t, e.plain, lines[i], "line %d", i+1)
	}
	shredded := ciphertexts(all[0].encrypted) + ciphertexts(all[4].encrypted)
	assert.Contains(t, errOut, "wardenctl decrypt: "+fields(int64(shredded))+" left encrypted, shredded: ")
	assert.Contains(t, errOut, `key `+acmeKey+`, field password: `)
	assert.Contains(t, errOut, `key `+newAcme+`, field password: `)
	assert.Contains(t, errOut, " left encrypted (shredded "+strconv.Itoa(shredded)+")\n")
	assert.Contains(t, errOut, "wardenctl decrypt: some fields stay encrypted: shredded "+strconv.Itoa(shredded)+"\n")
	assertNoPlaintext(t, errOut)

	// Shredding again finds nothing left; a tenant without keys is an error.
	code, out, errOut = runKeys("keys", "shred", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "tenant acme: already shredded before: "+acmeKey+", "+newAcme)
	assert.NotContains(t, out, "shredded 0")
	code, _, errOut = runKeys("keys", "shred", "--keyring", keyring, "--tenant", "nobody")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `the keyring has no key for tenant "nobody"`)
}

func TestKeysRotateAndShredUsage(t *testing.T) {
	keyring := newKeyring(t)
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"keys", "rotate"}, "--keyring FILE is required"},
		{[]string{"keys", "rotate", "--keyring", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{[]string{"keys", "shred", "--keyring", keyring}, "--tenant is required"},
		{[]string{"keys", "shred", "--tenant", "acme"}, "give either --keyring FILE or --aws-kms-key-id ID"},
		{[]string{"keys", "shred", "--keyring", keyring, "--aws-kms-key-id", "alias/x", "--tenant", "acme"}, "give either --keyring FILE or --aws-kms-key-id ID"},
		{[]string{"keys", "shred", "--keyring", keyring, "--tenant", "acme", "--pending-window-days", "7"}, "go with --aws-kms-key-id, not --keyring"},
		{[]string{"keys", "shred", "--aws-kms-key-id", "alias/x", "--tenant", "acme", "--pending-window-days", "3"}, "--pending-window-days 3: want 7 to 30"},
		{[]string{"keys", "shred", "--aws-kms-key-id", "warden", "--tenant", "acme"}, `--aws-kms-key-id: "warden" is not a KMS key id`},
		{[]string{"keys", "shred", "--keyring", keyring, "--tenant", "acme", "--ledger-table", "t"}, "--ledger-table goes with --ledger-postgres"},
		{[]string{"keys", "shred", "--keyring", keyring, "--tenant", "acme", "--ledger-stream", "s"}, "go with --ledger-dir or --ledger-postgres"},
	}
	for _, tt := range tests {
		code, _, errOut := runKeys(tt.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tt.args, errOut)
		assert.Contains(t, errOut, tt.wantErr, "%v", tt.args)
	}
	kr, err := fieldcrypt.Load(keyring)
	require.NoError(t, err)
	assert.Len(t, kr.Keys(), 1, "no usage error changed the keyring")
}

// assertNoPlaintext checks that no value of the test batches appears in s.
func assertNoPlaintext(t *testing.T, s string) {
	t.Helper()
	for _, p := range plaintexts {
		assert.NotContains(t, s, p)
	}
}
