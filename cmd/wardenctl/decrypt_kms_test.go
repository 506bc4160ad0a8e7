package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor"
)

// TestDecryptAndShredWithKMS runs against a real local-kms: the processor encrypts under
// GenerateDataKey data keys (a default key and a tenant's key behind an alias), decrypt
// restores every field with the same keys given by flag, KMS is called per data key, a
// tenant's key missing from the flags leaves its fields as unknown_key, `keys shred`
// schedules the tenant's key for deletion (refusing keys that are not field keys), after
// which its fields stay ciphertext as shredded while the others decrypt; a KMS outage stops
// the decrypt with nothing written.
func TestDecryptAndShredWithKMS(t *testing.T) {
	srv := kmstest.Start(t)
	srv.Setenv(t)
	defaultKey, acmeKey := srv.CreateSymmetricKey(t), srv.CreateSymmetricKey(t)
	srv.CreateAlias(t, "alias/warden-acme", acmeKey)
	signingKey := srv.CreateSigningKey(t)

	cfg := keyringConfig("")
	cfg.Provider.Local = configoptional.None[fieldencryptionprocessor.LocalConfig]()
	cfg.Provider.AWSKMS = configoptional.Some(awskms.Config{KeyID: defaultKey, Region: srv.Region(), Endpoint: srv.Endpoint()})
	cfg.Tenant.Keys = map[string]string{"acme": "alias/warden-acme"}
	enc := startEncryption(t, cfg)
	all := []exported{
		enc.encrypt(t, logsBatch("acme")),
		enc.encrypt(t, tracesBatch("globex")),
		enc.encrypt(t, metricsBatch("acme")),
		enc.encrypt(t, logsBatch("")),
	}
	assert.Equal(t, ciphertexts(all[0].encrypted), strings.Count(all[0].encrypted, fieldcrypt.Prefix+"acme:"))
	assert.Equal(t, ciphertexts(all[1].encrypted), strings.Count(all[1].encrypted, fieldcrypt.Prefix+fieldcrypt.DefaultLabel+":"))
	total := 0
	for _, e := range all {
		total += ciphertexts(e.encrypted)
	}

	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), all...)
	kmsFlags := []string{"--aws-kms-key-id", defaultKey, "--aws-kms-tenant-key", "acme=alias/warden-acme",
		"--aws-region", srv.Region(), "--aws-endpoint", srv.Endpoint()}
	decryptTo := func(name string, flags ...string) (int, string, string) {
		out := filepath.Join(dir, name)
		code, _, errOut := runKeys(append([]string{"decrypt", "--in", in, "--out", out}, flags...)...)
		got, _ := os.ReadFile(out)
		return code, string(got), errOut
	}

	calls := srv.Calls("Decrypt")
	code, got, errOut := decryptTo("clear.jsonl", kmsFlags...)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, plainLines(all...), got)
	kmsCalls := srv.Calls("Decrypt") - calls
	assert.Positive(t, kmsCalls)
	assert.Less(t, kmsCalls, int64(total)/2, "KMS is called per data key, not per value")

	// Without acme's key, acme's fields have no key; the others decrypt.
	code, got, errOut = decryptTo("no-acme.jsonl", "--aws-kms-key-id", defaultKey, "--aws-endpoint", srv.Endpoint())
	assert.Equal(t, exitLeftEncrypted, code, errOut)
	acme := ciphertexts(all[0].encrypted) + ciphertexts(all[2].encrypted)
	assert.Contains(t, errOut, "wardenctl decrypt: "+fields(int64(acme))+" left encrypted, unknown_key: ")
	assert.Contains(t, errOut, "  key acme, field password: ")
	assertLines(t, got, all, 0, 2)

	// A key that does not protect fields is never scheduled for deletion.
	code, out, errOut := runKeys("keys", "shred", "--aws-kms-key-id", signingKey, "--tenant", "acme", "--aws-endpoint", srv.Endpoint())
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "is ECC_NIST_P256 / SIGN_VERIFY, not a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key: it does not protect fields; nothing was scheduled")
	assert.Equal(t, types.KeyStateEnabled, keyState(t, srv, signingKey))

	// Shred acme: its key, named by its alias, is scheduled for deletion and refused at once.
	ledgerDir := filepath.Join(t.TempDir(), "audit")
	code, out, errOut = runKeys("keys", "shred", "--aws-kms-key-id", "alias/warden-acme", "--tenant", "acme",
		"--aws-endpoint", srv.Endpoint(), "--ledger-dir", ledgerDir, "--ledger-stream", "wardenctl-test")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "tenant acme: KMS key "+srv.KeyARN(acmeKey)+" (values labelled acme) scheduled for deletion on ")
	assert.Contains(t, out, "(7 days)")
	assert.Contains(t, out, "recorded: gdpr.erasure_completed in the audit ledger (stream wardenctl-test in "+ledgerDir+")")
	assert.Equal(t, types.KeyStatePendingDeletion, keyState(t, srv, acmeKey))
	erasure := ledgerEvents(t, ledgerDir, "wardenctl-test", actionErasure)
	require.Len(t, erasure, 1)
	assert.Equal(t, "tenant", erasure[0].ResourceType)
	assert.Equal(t, "acme", erasure[0].ResourceID)
	assert.Equal(t, srv.KeyARN(acmeKey), erasure[0].Attributes[attrShreddedKeyIDs])
	assert.Equal(t, "aws_kms", erasure[0].Attributes["key_provider"])
	assert.Equal(t, "7", erasure[0].Attributes["pending_window_days"])
	assert.Equal(t, []string{"gdpr"}, erasure[0].ComplianceTags)

	code, got, errOut = decryptTo("after-shred.jsonl", kmsFlags...)
	assert.Equal(t, exitLeftEncrypted, code, errOut)
	assert.Contains(t, errOut, "wardenctl decrypt: "+fields(int64(acme))+" left encrypted, shredded: ")
	assert.Contains(t, errOut, "  key acme, field body.card.number: 2\n")
	assert.Contains(t, errOut, "left encrypted (shredded "+strconv.Itoa(acme)+")")
	assertLines(t, got, all, 0, 2)
	assertNoPlaintext(t, errOut)

	code, out, errOut = runKeys("keys", "shred", "--aws-kms-key-id", acmeKey, "--tenant", "acme", "--aws-endpoint", srv.Endpoint())
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "tenant acme: KMS key "+srv.KeyARN(acmeKey)+" was already scheduled for deletion on ")

	// KMS unreachable: the decrypt stops, nothing is written.
	srv.SetDown(true)
	defer srv.SetDown(false)
	code, got, errOut = decryptTo("outage.jsonl", kmsFlags...)
	assert.Equal(t, exitUsage, code, errOut)
	assert.Empty(t, got)
	assert.Contains(t, errOut, "the key provider cannot answer, nothing more is decrypted")
	assert.Contains(t, errOut, "nothing was written to "+filepath.Join(dir, "outage.jsonl"))
	assert.NoFileExists(t, filepath.Join(dir, "outage.jsonl"))
}

// assertLines checks that the lines of got are the plaintext of all, but for those of the
// indexes kept, which stay as they were encrypted.
func assertLines(t *testing.T, got string, all []exported, kept ...int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	require.Len(t, lines, len(all))
	for i, e := range all {
		want := e.plain
		for _, k := range kept {
			if k == i {
				want = e.encrypted
			}
		}
		assert.Equal(t, want, lines[i], "line %d", i+1)
	}
}

func keyState(t *testing.T, srv *kmstest.Server, keyID string) types.KeyState {
	t.Helper()
	out, err := srv.Client(t).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	require.NoError(t, err)
	return out.KeyMetadata.KeyState
}
