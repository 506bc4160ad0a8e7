package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/ledger"
)

var checkpointMsg = []byte(`{"stream":"kms-test","seq":42,"tip":"sha256:00"}`)

func TestKMSSignerSignsAndVerifies(t *testing.T) {
	srv := kmstest.Start(t)
	c := srv.Client(t)
	keyID := srv.CreateSigningKey(t)
	srv.CreateAlias(t, "alias/ledger-kms-test", keyID)

	// The key's ID and fingerprint are those of the DER that KMS hands out.
	der, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	require.NoError(t, err)
	sum := sha256.Sum256(der.PublicKey)

	for _, id := range []string{keyID, srv.KeyARN(keyID), "alias/ledger-kms-test", "arn:aws:kms:" + kmstest.Region + ":" + kmstest.AccountID + ":alias/ledger-kms-test"} {
		t.Run(id, func(t *testing.T) {
			s, err := ledger.NewKMSSigner(context.Background(), c, id)
			require.NoError(t, err)
			pub := s.Public()
			assert.Equal(t, ledger.AlgECDSAP256, pub.Alg())
			assert.Equal(t, der.PublicKey, pub.DER())
			assert.Equal(t, hex.EncodeToString(sum[:8]), pub.ID())
			assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), pub.Fingerprint())
			assert.Equal(t, srv.KeyARN(keyID), s.KeyARN())

			sig, err := s.Sign(context.Background(), checkpointMsg)
			require.NoError(t, err)
			assert.True(t, pub.Verify(checkpointMsg, sig))
			assert.False(t, pub.Verify([]byte(`{"stream":"kms-test","seq":43,"tip":"sha256:00"}`), sig))

			// Public keys read back from the PEM a verifier is given verify the same way.
			back, err := ledger.ParsePublicKeyDER(pub.DER())
			require.NoError(t, err)
			assert.True(t, back.Equal(pub))
			assert.True(t, back.Verify(checkpointMsg, sig))
		})
	}
}

func TestKMSSignatureAlteredByOneBitDoesNotVerify(t *testing.T) {
	srv := kmstest.Start(t)
	s, err := ledger.NewKMSSigner(context.Background(), srv.Client(t), srv.CreateSigningKey(t))
	require.NoError(t, err)
	sig, err := s.Sign(context.Background(), checkpointMsg)
	require.NoError(t, err)
	require.True(t, s.Public().Verify(checkpointMsg, sig))

	for bit := range 8 * len(sig) {
		altered := append([]byte(nil), sig...)
		altered[bit/8] ^= 1 << (bit % 8)
		assert.False(t, s.Public().Verify(checkpointMsg, altered), "bit %d flipped", bit)
	}
}

func TestKMSSignerRefusesKeys(t *testing.T) {
	srv := kmstest.Start(t)
	c := srv.Client(t)
	symmetric := srv.CreateSymmetricKey(t)
	srv.CreateAlias(t, "alias/ledger-symmetric", symmetric)
	rsaEncrypt := srv.CreateKey(t, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	rsaSign := srv.CreateKey(t, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	p384 := srv.CreateKey(t, types.KeySpecEccNistP384, types.KeyUsageTypeSignVerify)
	secp256k1 := srv.CreateKey(t, types.KeySpecEccSecgP256k1, types.KeyUsageTypeSignVerify)
	const missing = "0b3f53a6-6d4c-4c3b-9a65-5f1d1b0e0c2a"

	tests := []struct {
		name  string
		keyID string
		want  []string
		as    any
	}{
		{"symmetric key", symmetric, []string{"KMS key " + symmetric + " is not an asymmetric key", "create an ECC_NIST_P256 SIGN_VERIFY key"}, new(*types.UnsupportedOperationException)},
		{"alias of a symmetric key", "alias/ledger-symmetric", []string{"KMS key alias/ledger-symmetric is not an asymmetric key", "create an ECC_NIST_P256 SIGN_VERIFY key"}, new(*types.UnsupportedOperationException)},
		{"RSA encryption key", rsaEncrypt, []string{"KMS key " + rsaEncrypt + " is RSA_2048 / ENCRYPT_DECRYPT: create an ECC_NIST_P256 SIGN_VERIFY key"}, nil},
		{"RSA signing key", rsaSign, []string{"KMS key " + rsaSign + " is RSA_2048 / SIGN_VERIFY: create an ECC_NIST_P256 SIGN_VERIFY key"}, nil},
		{"P-384 signing key", p384, []string{"KMS key " + p384 + " is ECC_NIST_P384 / SIGN_VERIFY: create an ECC_NIST_P256 SIGN_VERIFY key"}, nil},
		{"secp256k1 signing key", secp256k1, []string{"KMS key " + secp256k1 + " is ECC_SECG_P256K1 / SIGN_VERIFY: create an ECC_NIST_P256 SIGN_VERIFY key"}, nil},
		{"key that does not exist", missing, []string{"KMS key " + missing + ": reading its public key", "NotFoundException"}, new(*types.NotFoundException)},
		{"alias that does not exist", "alias/no-such-key", []string{"KMS key alias/no-such-key: reading its public key", "NotFoundException"}, new(*types.NotFoundException)},
		{"no key id", "", []string{"KMS signer: no key id"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ledger.NewKMSSigner(context.Background(), c, tt.keyID)
			require.Error(t, err)
			assert.Nil(t, s)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			if tt.as != nil {
				assert.ErrorAs(t, err, tt.as, "the KMS error is wrapped")
			}
		})
	}
}

// An unreachable KMS fails construction and signing with an error, within the bounded retries
// of the production client.
func TestKMSSignerUnreachableEndpoint(t *testing.T) {
	srv := kmstest.Start(t)
	keyID := srv.CreateSigningKey(t)
	working, err := ledger.NewKMSSigner(context.Background(), srv.Client(t), keyID)
	require.NoError(t, err)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	setAWSEnv(t)
	unreachable, err := awskms.NewClient(context.Background(), awskms.Config{KeyID: keyID, Region: kmstest.Region, Endpoint: closed})
	require.NoError(t, err)

	t.Run("construction", func(t *testing.T) {
		start := time.Now()
		s, err := ledger.NewKMSSigner(context.Background(), unreachable, keyID)
		require.Error(t, err)
		assert.Nil(t, s)
		assert.Contains(t, err.Error(), "KMS key "+keyID+": reading its public key")
		assert.Contains(t, err.Error(), "connection refused")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("signing", func(t *testing.T) {
		s, err := ledger.NewKMSSigner(context.Background(), splitKMS{publicKeys: srv.Client(t), signatures: unreachable}, keyID)
		require.NoError(t, err)
		require.True(t, s.Public().Equal(working.Public()))
		start := time.Now()
		sig, err := s.Sign(context.Background(), checkpointMsg)
		require.Error(t, err)
		assert.Nil(t, sig)
		assert.Contains(t, err.Error(), "KMS key "+keyID+" ("+srv.KeyARN(keyID)+"): sign")
		assert.Contains(t, err.Error(), "connection refused")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("endpoint that never answers", func(t *testing.T) {
		// The kernel completes connections to a listener that never accepts them.
		hanging, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = hanging.Close() })
		c, err := awskms.NewClient(context.Background(), awskms.Config{KeyID: keyID, Region: kmstest.Region, Endpoint: "http://" + hanging.Addr().String()})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		s, err := ledger.NewKMSSigner(ctx, c, keyID)
		require.Error(t, err)
		assert.Nil(t, s)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}

// A KMS that answers with a signature that does not verify (altered, or made by another key)
// gets no checkpoint signed.
func TestKMSSignerRefusesUnverifiableSignature(t *testing.T) {
	srv := kmstest.Start(t)
	c := srv.Client(t)
	keyID := srv.CreateSigningKey(t)
	otherKey := srv.CreateSigningKey(t)

	tests := []struct {
		name   string
		answer func(*kms.SignOutput)
	}{
		{"one bit altered", func(out *kms.SignOutput) { out.Signature[len(out.Signature)-1] ^= 1 }},
		{"empty", func(out *kms.SignOutput) { out.Signature = nil }},
		{"signed by another key", func(out *kms.SignOutput) {
			digest := sha256.Sum256(checkpointMsg)
			other, err := c.Sign(context.Background(), &kms.SignInput{
				KeyId: aws.String(otherKey), Message: digest[:],
				MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
			})
			require.NoError(t, err)
			out.Signature = other.Signature
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ledger.NewKMSSigner(context.Background(), alteringKMS{KMSAPI: c, alter: tt.answer}, keyID)
			require.NoError(t, err)
			sig, err := s.Sign(context.Background(), checkpointMsg)
			require.Error(t, err)
			assert.Nil(t, sig)
			assert.Contains(t, err.Error(), "KMS key "+keyID)
			assert.Contains(t, err.Error(), "does not verify with the key's public key ("+s.Public().Fingerprint()+"): refused")
		})
	}
}

// The signer keeps signing with the key its alias named at construction; KMS errors at signing
// time are wrapped and name the key.
func TestKMSSignerKeepsItsKey(t *testing.T) {
	srv := kmstest.Start(t)
	c := srv.Client(t)
	first, second := srv.CreateSigningKey(t), srv.CreateSigningKey(t)
	srv.CreateAlias(t, "alias/ledger-rotating", first)
	s, err := ledger.NewKMSSigner(context.Background(), c, "alias/ledger-rotating")
	require.NoError(t, err)

	_, err = c.UpdateAlias(context.Background(), &kms.UpdateAliasInput{AliasName: aws.String("alias/ledger-rotating"), TargetKeyId: aws.String(second)})
	require.NoError(t, err)
	sig, err := s.Sign(context.Background(), checkpointMsg)
	require.NoError(t, err)
	assert.True(t, s.Public().Verify(checkpointMsg, sig))
	assert.Equal(t, srv.KeyARN(first), s.KeyARN())

	_, err = c.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(first)})
	require.NoError(t, err)
	_, err = s.Sign(context.Background(), checkpointMsg)
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)
	assert.True(t, strings.HasPrefix(err.Error(), "KMS key alias/ledger-rotating ("+srv.KeyARN(first)+"): sign: "), err.Error())
}

// splitKMS reads public keys from one KMS client and signs with another.
type splitKMS struct{ publicKeys, signatures ledger.KMSAPI }

func (s splitKMS) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, o ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return s.publicKeys.GetPublicKey(ctx, in, o...)
}

func (s splitKMS) Sign(ctx context.Context, in *kms.SignInput, o ...func(*kms.Options)) (*kms.SignOutput, error) {
	return s.signatures.Sign(ctx, in, o...)
}

// alteringKMS is a KMS endpoint that alters the signatures it returns.
type alteringKMS struct {
	ledger.KMSAPI
	alter func(*kms.SignOutput)
}

func (a alteringKMS) Sign(ctx context.Context, in *kms.SignInput, o ...func(*kms.Options)) (*kms.SignOutput, error) {
	out, err := a.KMSAPI.Sign(ctx, in, o...)
	if err == nil {
		a.alter(out)
	}
	return out, err
}

// setAWSEnv gives clients built from the default chain test credentials and nothing of the
// environment of the user running the tests.
func setAWSEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": kmstest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": kmstest.SecretAccessKey,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_ENDPOINT_URL_KMS": "",
	} {
		t.Setenv(k, v)
	}
}
