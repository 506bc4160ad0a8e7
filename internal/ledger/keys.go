package ledger

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Signature algorithms of checkpoints.
const (
	// AlgEd25519 is pure Ed25519 over the checkpoint's signed message.
	AlgEd25519 = "ed25519"
	// AlgECDSAP256 is ECDSA on NIST P-256 over the SHA-256 of the signed message, the
	// signature ASN.1 DER encoded (what AWS KMS returns for ECC_NIST_P256 and ECDSA_SHA_256).
	AlgECDSAP256 = "ecdsa-p256-sha256"
)

// FingerprintPrefix starts every key fingerprint.
const FingerprintPrefix = "sha256:"

// PublicKey is a checkpoint verification key: Ed25519 or ECDSA P-256.
type PublicKey struct {
	alg string
	der []byte // PKIX SubjectPublicKeyInfo
	key crypto.PublicKey
	sum [sha256.Size]byte
}

// ParsePublicKeyDER reads a PKIX (SubjectPublicKeyInfo) DER public key.
func ParsePublicKeyDER(der []byte) (*PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pk := &PublicKey{der: append([]byte(nil), der...), key: k, sum: sha256.Sum256(der)}
	switch k := k.(type) {
	case ed25519.PublicKey:
		pk.alg = AlgEd25519
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on %s: only P-256 is supported", k.Curve.Params().Name)
		}
		pk.alg = AlgECDSAP256
	default:
		return nil, fmt.Errorf("%T keys are not supported (want Ed25519 or ECDSA P-256)", k)
	}
	// A DER that parses but is not in its one canonical encoding would give the same key two
	// fingerprints.
	canonical, err := x509.MarshalPKIXPublicKey(k)
	if err != nil || string(canonical) != string(der) {
		return nil, errors.New("public key is not in canonical PKIX DER form")
	}
	return pk, nil
}

func newPublicKey(k crypto.PublicKey) (*PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return ParsePublicKeyDER(der)
}

// LoadPublicKey reads a PEM "PUBLIC KEY" (PKIX) file, Ed25519 or ECDSA P-256.
func LoadPublicKey(path string) (*PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("public key %s: not a PEM \"PUBLIC KEY\" block", path)
	}
	pk, err := ParsePublicKeyDER(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return pk, nil
}

// Alg is the signature algorithm the key verifies.
func (k *PublicKey) Alg() string { return k.alg }

// DER is the key's PKIX DER encoding.
func (k *PublicKey) DER() []byte { return k.der }

// PEM is the key as a PEM "PUBLIC KEY" block.
func (k *PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.der})
}

// ID is the key id that checkpoints name: the first 8 bytes of the SHA-256 of the key's PKIX
// DER, in hex. It tells keys apart; it is too short to pin a key by (use Fingerprint).
func (k *PublicKey) ID() string { return hex.EncodeToString(k.sum[:8]) }

// Fingerprint is "sha256:" and the hex SHA-256 of the key's PKIX DER: what an operator pins a
// key by (`wardenctl audit verify --key-id`).
func (k *PublicKey) Fingerprint() string { return FingerprintPrefix + hex.EncodeToString(k.sum[:]) }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool { return o != nil && k.sum == o.sum }

// Verify checks sig over msg with the key's algorithm.
func (k *PublicKey) Verify(msg, sig []byte) bool {
	switch pub := k.key.(type) {
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig)
	case *ecdsa.PublicKey:
		digest := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(pub, digest[:], sig)
	}
	return false
}

// ValidFingerprint reports whether s is a full key fingerprint ("sha256:" and 64 hex digits).
func ValidFingerprint(s string) bool {
	h, ok := strings.CutPrefix(s, FingerprintPrefix)
	if !ok || len(h) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// Signer signs checkpoints. Implementations: a key file (FileSigner) and AWS KMS.
type Signer interface {
	// Public is the verification key; its ID names the signer in checkpoints.
	Public() *PublicKey
	// Sign signs msg with the algorithm of Public().Alg().
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// FileSigner signs with a private key held in memory, read from a PEM file.
type FileSigner struct {
	priv crypto.Signer
	pub  *PublicKey
}

var _ Signer = (*FileSigner)(nil)

// Public is the signer's verification key.
func (s *FileSigner) Public() *PublicKey { return s.pub }

// Sign signs msg.
func (s *FileSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	switch priv := s.priv.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, msg), nil
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(msg)
		return ecdsa.SignASN1(rand.Reader, priv, digest[:])
	}
	return nil, fmt.Errorf("unsupported private key %T", s.priv)
}

func newFileSigner(priv crypto.Signer) (*FileSigner, error) {
	pub, err := newPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	return &FileSigner{priv: priv, pub: pub}, nil
}

// GenerateSigningKey writes a new Ed25519 private key to path (PKCS#8 PEM, mode 0600) and its
// public key to path+".pub" (PKIX PEM). It refuses to overwrite an existing key.
func GenerateSigningKey(path string) (*FileSigner, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	s, err := newFileSigner(priv)
	if err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: privDER}); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", s.pub.PEM(), 0o644); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadSigningKey reads a PKCS#8 PEM private key: Ed25519 (`wardenctl keys signing`, or
// `openssl genpkey -algorithm ed25519`) or ECDSA P-256.
func LoadSigningKey(path string) (*FileSigner, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM \"PRIVATE KEY\" (PKCS#8) block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T cannot sign", path, k)
	}
	s, err := newFileSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}
