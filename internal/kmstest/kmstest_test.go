package kmstest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelwarden/warden/internal/awskms"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestListensOnLoopbackOnly(t *testing.T) {
	s := Start(t)
	u, err := url.Parse(s.Endpoint())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", u.Hostname())
	assert.Equal(t, Region, s.Region())
}

// The ledger signs SHA-256 digests (MessageType DIGEST) with ECC_NIST_P256 keys and verifies
// them with the PKIX DER that GetPublicKey returns: local-kms must do both as AWS KMS does.
func TestSignDigestAndPublicKeyDER(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()
	keyID := s.CreateSigningKey(t)
	s.CreateAlias(t, "alias/kmstest-signing", keyID)

	for _, id := range []string{keyID, s.KeyARN(keyID), "alias/kmstest-signing"} {
		t.Run(id, func(t *testing.T) {
			pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(id)})
			require.NoError(t, err)
			assert.Equal(t, types.KeySpecEccNistP256, pub.KeySpec)
			assert.Equal(t, types.KeyUsageTypeSignVerify, pub.KeyUsage)
			assert.Equal(t, s.KeyARN(keyID), aws.ToString(pub.KeyId))
			assert.Contains(t, pub.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256)

			k, err := x509.ParsePKIXPublicKey(pub.PublicKey)
			require.NoError(t, err)
			ec, ok := k.(*ecdsa.PublicKey)
			require.True(t, ok, "%T", k)
			assert.Equal(t, elliptic.P256(), ec.Curve)
			canonical, err := x509.MarshalPKIXPublicKey(ec)
			require.NoError(t, err)
			assert.Equal(t, canonical, pub.PublicKey, "PKIX DER in canonical form")

			digest := sha256.Sum256([]byte("checkpoint"))
			sig, err := c.Sign(ctx, &kms.SignInput{
				KeyId: aws.String(id), Message: digest[:],
				MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
			})
			require.NoError(t, err)
			assert.True(t, ecdsa.VerifyASN1(ec, digest[:], sig.Signature))
			other := sha256.Sum256([]byte("another checkpoint"))
			assert.False(t, ecdsa.VerifyASN1(ec, other[:], sig.Signature))
		})
	}
}

func TestSymmetricDataKeys(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()
	keyID := s.CreateSymmetricKey(t)

	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256})
	require.NoError(t, err)
	require.Len(t, dk.Plaintext, 32)
	plain, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	require.NoError(t, err)
	assert.Equal(t, dk.Plaintext, plain.Plaintext)
	assert.Equal(t, s.KeyARN(keyID), aws.ToString(plain.KeyId))

	_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	var unsupported *types.UnsupportedOperationException
	assert.ErrorAs(t, err, &unsupported, "a symmetric key has no public key, as in AWS KMS")
}

func TestDispatch(t *testing.T) {
	s := Start(t)
	tests := []struct {
		name, method, path, contentType, target string
		want                                    int
	}{
		{"operation", http.MethodPost, "/", "application/x-amz-json-1.1", "TrentService.ListKeys", http.StatusOK},
		{"unknown operation", http.MethodPost, "/", "application/x-amz-json-1.1", "TrentService.Shred", http.StatusNotImplemented},
		{"unexported method", http.MethodPost, "/", "application/x-amz-json-1.1", "TrentService.decodeBodyInto", http.StatusNotImplemented},
		{"no target", http.MethodPost, "/", "application/x-amz-json-1.1", "", http.StatusNotImplemented},
		{"not JSON", http.MethodPost, "/", "text/plain", "TrentService.ListKeys", http.StatusUnsupportedMediaType},
		{"GET", http.MethodGet, "/", "application/x-amz-json-1.1", "TrentService.ListKeys", http.StatusMethodNotAllowed},
		{"other path", http.MethodPost, "/keys", "application/x-amz-json-1.1", "TrentService.ListKeys", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.Endpoint()+tt.path, strings.NewReader("{}"))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("X-Amz-Target", tt.target)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			assert.Equal(t, tt.want, resp.StatusCode)
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestKeyErrors(t *testing.T) {
	s := Start(t)
	_, err := s.Client(t).GetKeyRotationStatus(context.Background(), &kms.GetKeyRotationStatusInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	var notFound *types.NotFoundException
	assert.ErrorAs(t, err, &notFound)
}

// Servers of parallel tests are independent: each sees only its own keys.
func TestParallelServers(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			keyID := s.CreateSigningKey(t)
			keys, err := s.Client(t).ListKeys(context.Background(), &kms.ListKeysInput{})
			require.NoError(t, err)
			require.Len(t, keys.Keys, 1)
			assert.Equal(t, keyID, aws.ToString(keys.Keys[0].KeyId))
		})
	}
}

// Env is enough for a client built from the default chain, as a collector builds it.
func TestEnvReachesServer(t *testing.T) {
	s := Start(t)
	keyID := s.CreateSigningKey(t)
	s.Setenv(t)

	c, err := awskms.NewClient(context.Background(), awskms.Config{KeyID: keyID})
	require.NoError(t, err)
	pub, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	require.NoError(t, err)
	assert.Equal(t, s.KeyARN(keyID), aws.ToString(pub.KeyId))
}
