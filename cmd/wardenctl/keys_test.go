package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/ledger"
)

// runKeys runs wardenctl and returns its exit code, standard output and standard error.
func runKeys(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestKeysSigningPrintsFingerprint(t *testing.T) {
	key := filepath.Join(t.TempDir(), "signing.key")
	code, out, errOut := runKeys("keys", "signing", "--out", key)
	require.Equal(t, exitOK, code, errOut)
	pub, err := ledger.LoadPublicKey(key + ".pub")
	require.NoError(t, err)
	assert.Contains(t, out, "key id:      "+pub.ID()+"\n")
	assert.Contains(t, out, "fingerprint: "+pub.Fingerprint()+"\n")
	assert.Contains(t, out, "The fingerprint is what `wardenctl audit verify --key-id` pins")
	assert.Contains(t, out, "wardenctl audit verify --key-id "+pub.Fingerprint())
}

func TestKeysFingerprint(t *testing.T) {
	dir := t.TempDir()
	edKey := filepath.Join(dir, "ed25519.key")
	code, _, errOut := runKeys("keys", "signing", "--out", edKey)
	require.Equal(t, exitOK, code, errOut)
	ecPub := writeECDSAPublicKey(t, filepath.Join(dir, "p256.pub"))
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a key\n"), 0o600))

	srv := kmstest.Start(t)
	kmsKey := srv.CreateSigningKey(t)
	srv.CreateAlias(t, "alias/wardenctl-test", kmsKey)
	symmetric := srv.CreateSymmetricKey(t)
	p384 := srv.CreateKey(t, types.KeySpecEccNistP384, types.KeyUsageTypeSignVerify)
	signer, err := ledger.NewKMSSigner(context.Background(), srv.Client(t), kmsKey)
	require.NoError(t, err)
	kmsPub := signer.Public()
	srv.Setenv(t)

	tests := []struct {
		name     string
		args     []string
		noKMSEnv bool // only the flags tell where KMS is
		want     *ledger.PublicKey
		wantARN  string
		wantErr  []string
	}{
		{name: "Ed25519 public key file", args: []string{"--public-key", edKey + ".pub"}, want: loadPublicKey(t, edKey+".pub")},
		{name: "ECDSA P-256 public key file", args: []string{"--public-key", ecPub}, want: loadPublicKey(t, ecPub)},
		{name: "KMS key from the flags", args: []string{"--aws-kms-key-id", kmsKey, "--aws-region", srv.Region(), "--aws-endpoint", srv.Endpoint()},
			noKMSEnv: true, want: kmsPub, wantARN: srv.KeyARN(kmsKey)},
		{name: "KMS alias from the environment", args: []string{"--aws-kms-key-id", "alias/wardenctl-test"}, want: kmsPub, wantARN: srv.KeyARN(kmsKey)},
		{name: "KMS key ARN", args: []string{"--aws-kms-key-id", srv.KeyARN(kmsKey)}, want: kmsPub, wantARN: srv.KeyARN(kmsKey)},

		{name: "no key", args: nil, wantErr: []string{"give either --public-key FILE or --aws-kms-key-id ID"}},
		{name: "two keys", args: []string{"--public-key", ecPub, "--aws-kms-key-id", kmsKey}, wantErr: []string{"give either --public-key FILE or --aws-kms-key-id ID"}},
		{name: "region with a file", args: []string{"--public-key", ecPub, "--aws-region", "eu-west-2"}, wantErr: []string{"--aws-region and --aws-endpoint go with --aws-kms-key-id"}},
		{name: "stray argument", args: []string{"--public-key", ecPub, "extra"}, wantErr: []string{`unexpected argument "extra"`}},
		{name: "unknown flag", args: []string{"--key", ecPub}, wantErr: []string{"unknown flag: --key"}},
		{name: "missing file", args: []string{"--public-key", filepath.Join(dir, "missing.pub")}, wantErr: []string{"missing.pub: no such file"}},
		{name: "not PEM", args: []string{"--public-key", notPEM}, wantErr: []string{`public key ` + notPEM + `: not a PEM "PUBLIC KEY" block`}},
		{name: "private key given", args: []string{"--public-key", edKey}, wantErr: []string{`not a PEM "PUBLIC KEY" block`}},
		{name: "invalid KMS flags", args: []string{"--aws-kms-key-id", "wardenctl-test", "--aws-region", "Mars", "--aws-endpoint", "localhost:4566"}, wantErr: []string{
			`--aws-kms-key-id: "wardenctl-test" is not a KMS key id`, `for an alias write "alias/wardenctl-test"`,
			`--aws-region: "Mars" is not an AWS region name`, `--aws-endpoint: "localhost:4566": want an http:// or https:// URL`}},
		{name: "symmetric KMS key", args: []string{"--aws-kms-key-id", symmetric}, wantErr: []string{
			"KMS key " + symmetric + " is not an asymmetric key", "create an ECC_NIST_P256 SIGN_VERIFY key"}},
		{name: "P-384 KMS key", args: []string{"--aws-kms-key-id", p384}, wantErr: []string{
			"KMS key " + p384 + " is ECC_NIST_P384 / SIGN_VERIFY: create an ECC_NIST_P256 SIGN_VERIFY key"}},
		{name: "KMS key that does not exist", args: []string{"--aws-kms-key-id", "alias/no-such-key"}, wantErr: []string{
			"KMS key alias/no-such-key: reading its public key", "NotFoundException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noKMSEnv {
				t.Setenv("AWS_REGION", "")
				t.Setenv("AWS_DEFAULT_REGION", "")
				t.Setenv("AWS_ENDPOINT_URL_KMS", "")
			}
			code, out, errOut := runKeys(append([]string{"keys", "fingerprint"}, tt.args...)...)
			if tt.wantErr != nil {
				assert.Equal(t, exitUsage, code)
				assert.Empty(t, out)
				for _, w := range tt.wantErr {
					assert.Contains(t, errOut, w)
				}
				return
			}
			require.Equal(t, exitOK, code, errOut)
			assert.Empty(t, errOut)
			assert.Contains(t, out, "algorithm:   "+tt.want.Alg()+"\n")
			assert.Contains(t, out, "key id:      "+tt.want.ID()+"\n")
			assert.Contains(t, out, "fingerprint: "+tt.want.Fingerprint()+"\n")
			assert.Contains(t, out, "wardenctl audit verify --key-id "+tt.want.Fingerprint())
			if tt.wantARN != "" {
				assert.Contains(t, out, "aws kms key: "+tt.wantARN+"\n")
			} else {
				assert.NotContains(t, out, "aws kms key:")
			}

			// The PEM printed is the key itself: it parses back to the same fingerprint.
			block, _ := pem.Decode([]byte(out[bytes.Index([]byte(out), []byte("-----BEGIN")):]))
			require.NotNil(t, block)
			back, err := ledger.ParsePublicKeyDER(block.Bytes)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Fingerprint(), back.Fingerprint())
		})
	}
}

func loadPublicKey(t *testing.T, path string) *ledger.PublicKey {
	t.Helper()
	pub, err := ledger.LoadPublicKey(path)
	require.NoError(t, err)
	return pub
}

// writeECDSAPublicKey writes the PEM public key of a new P-256 key, as openssl ec -pubout
// would.
func writeECDSAPublicKey(t *testing.T, path string) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	return path
}
