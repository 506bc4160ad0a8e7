package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the AWS KMS client that KMSSigner uses; *kms.Client implements it.
type KMSAPI interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// The only kind of KMS key KMSSigner signs with: ECDSA on P-256 over SHA-256 (AlgECDSAP256).
const (
	kmsKeySpec  = types.KeySpecEccNistP256
	kmsKeyUsage = types.KeyUsageTypeSignVerify
	kmsSignAlg  = types.SigningAlgorithmSpecEcdsaSha256
)

// KMSSigner signs checkpoints with an AWS KMS key (ECC_NIST_P256, SIGN_VERIFY), so that the
// private key never leaves KMS.
type KMSSigner struct {
	api  KMSAPI
	name string // the key as configured, for messages
	arn  string // the key the configured name resolved to at construction
	pub  *PublicKey
}

var _ Signer = (*KMSSigner)(nil)

// NewKMSSigner reads the public key of keyID (a key id, key ARN, alias or alias ARN) from KMS
// and checks that the key can sign checkpoints. The signer signs with the key that keyID
// names now: an alias later pointed at another key does not change the signing key, since
// checkpoints may change keys only through a recorded rotation.
func NewKMSSigner(ctx context.Context, api KMSAPI, keyID string) (*KMSSigner, error) {
	if keyID == "" {
		return nil, errors.New("KMS signer: no key id")
	}
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		var unsupported *types.UnsupportedOperationException
		if errors.As(err, &unsupported) {
			// KMS answers so for the keys that have no public key: symmetric and HMAC keys.
			return nil, fmt.Errorf("KMS key %s is not an asymmetric key (it has no public key): create an %s %s key: %w",
				keyID, kmsKeySpec, kmsKeyUsage, err)
		}
		return nil, fmt.Errorf("KMS key %s: reading its public key: %w", keyID, err)
	}
	spec := out.KeySpec
	if spec == "" {
		spec = types.KeySpec(out.CustomerMasterKeySpec) //nolint:staticcheck // older endpoints (local-kms) set only the deprecated field
	}
	if spec != kmsKeySpec || out.KeyUsage != kmsKeyUsage {
		return nil, fmt.Errorf("KMS key %s is %s / %s: create an %s %s key", keyID, orUnknown(string(spec)),
			orUnknown(string(out.KeyUsage)), kmsKeySpec, kmsKeyUsage)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, kmsSignAlg) {
		return nil, fmt.Errorf("KMS key %s does not offer %s (it offers %v)", keyID, kmsSignAlg, out.SigningAlgorithms)
	}
	pub, err := ParsePublicKeyDER(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: its public key: %w", keyID, err)
	}
	if pub.Alg() != AlgECDSAP256 {
		return nil, fmt.Errorf("KMS key %s is said to be %s but its public key is for %s", keyID, kmsKeySpec, pub.Alg())
	}
	s := &KMSSigner{api: api, name: keyID, arn: aws.ToString(out.KeyId), pub: pub}
	if s.arn == "" {
		s.arn = keyID
	}
	if s.arn != keyID {
		s.name = keyID + " (" + s.arn + ")"
	}
	return s, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	return s
}

// Public is the key's verification key.
func (s *KMSSigner) Public() *PublicKey { return s.pub }

// KeyARN is the ARN of the KMS key that signs.
func (s *KMSSigner) KeyARN() string { return s.arn }

// Sign has KMS sign the SHA-256 digest of msg (ECDSA_SHA_256) and returns the signature only
// once it verifies with Public(): a misbehaving endpoint must not yield a checkpoint that
// nobody can verify.
func (s *KMSSigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	out, err := s.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.arn),
		Message:          digest[:],
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: kmsSignAlg,
	})
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: sign: %w", s.name, err)
	}
	if !s.pub.Verify(msg, out.Signature) {
		return nil, fmt.Errorf("KMS key %s: the signature KMS returned does not verify with the key's public key (%s): refused",
			s.name, s.pub.Fingerprint())
	}
	return out.Signature, nil
}
