package fieldcrypt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the AWS KMS client that KMSProvider uses; *kms.Client (from
// awskms.NewClient, with its bounded retries and timeouts) implements it.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// DefaultLabel is the key id that values under the default KMS key carry.
const DefaultLabel = "default"

// KMSKeys are the KMS keys of a KMSProvider: a key id, key ARN, alias or alias ARN each.
type KMSKeys struct {
	// Default is the key of data without a tenant or of a tenant not listed; its values
	// carry the key id DefaultLabel. Empty: such data has no key (ErrUnknownKey).
	Default string
	// Tenants maps a tenant to its key; its values carry the key id TenantLabel(tenant).
	Tenants map[string]string
}

// KMSProvider makes data keys with AWS KMS GenerateDataKey (AES_256) and unwraps them with
// Decrypt, both under the encryption context, so that a key policy can grant decryption by
// field and tenant and CloudTrail records both. Values carry a short label for their KMS key,
// never an ARN; Decrypt always names the key the label is configured to (KMS's best practice:
// a value cannot pick its own key).
type KMSProvider struct {
	api     KMSAPI
	keys    map[string]string // label → KMS key
	tenants map[string]string // tenant → label
}

var _ interface {
	Provider
	KeySelector
} = (*KMSProvider)(nil)

// NewKMSProvider is a provider of the keys through api. It makes no call to KMS.
func NewKMSProvider(api KMSAPI, keys KMSKeys) (*KMSProvider, error) {
	p := &KMSProvider{api: api, keys: map[string]string{}, tenants: map[string]string{}}
	if keys.Default != "" {
		p.keys[DefaultLabel] = keys.Default
	}
	var errs []error
	for _, tenant := range slices.Sorted(maps.Keys(keys.Tenants)) {
		key := keys.Tenants[tenant]
		if tenant == "" || key == "" {
			errs = append(errs, fmt.Errorf("aws kms: tenant %q: both the tenant and its key are required", tenant))
			continue
		}
		label := TenantLabel(tenant)
		if _, taken := p.keys[label]; taken {
			errs = append(errs, fmt.Errorf("aws kms: tenant %q: its label %q is taken by another tenant", tenant, label))
			continue
		}
		p.keys[label] = key
		p.tenants[tenant] = label
	}
	if len(p.keys) == 0 {
		errs = append(errs, errors.New("aws kms: no key: give a default key or tenant keys"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// TenantLabel is the key id that the values of tenant's KMS key carry: the tenant itself when
// it is a valid key id other than DefaultLabel, else "t-" and 16 hex digits of its SHA-256.
func TenantLabel(tenant string) string {
	if tenant != DefaultLabel && ValidKeyID(tenant) == nil && !isHashLabel(tenant) {
		return tenant
	}
	sum := sha256.Sum256([]byte(tenant))
	return "t-" + hex.EncodeToString(sum[:8])
}

// isHashLabel reports whether s has the form of a derived label, which a tenant name may not
// take as is (it could be another tenant's).
func isHashLabel(s string) bool {
	if len(s) != 18 || s[:2] != "t-" {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

// KeyFor is the label of tenant's key, or DefaultLabel for a tenant not listed.
func (p *KMSProvider) KeyFor(tenant string) (string, error) {
	if label, ok := p.tenants[tenant]; ok {
		return label, nil
	}
	if _, ok := p.keys[DefaultLabel]; ok {
		return DefaultLabel, nil
	}
	return "", fmt.Errorf("aws kms: tenant %q: %w: no key for the tenant and no default key", tenant, ErrUnknownKey)
}

// KeyID is the KMS key a label names.
func (p *KMSProvider) KeyID(label string) (string, bool) {
	k, ok := p.keys[label]
	return k, ok
}

// GenerateDataKey asks KMS for an AES_256 data key under the key label names, bound to ec.
func (p *KMSProvider) GenerateDataKey(ctx context.Context, label string, ec Context) ([]byte, []byte, error) {
	keyID, ok := p.keys[label]
	if !ok {
		return nil, nil, fmt.Errorf("aws kms: key %s: %w: no KMS key configured under this label", label, ErrUnknownKey)
	}
	out, err := p.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: ec.Map(),
	})
	if err != nil {
		return nil, nil, kmsError("GenerateDataKey", label+" = "+keyID, err)
	}
	if len(out.Plaintext) != dataKeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxWrappedKey {
		clear(out.Plaintext)
		return nil, nil, fmt.Errorf("aws kms GenerateDataKey (key %s = %s): %w: answered a %d-byte key and a %d-byte blob, want %d and 1 to %d",
			label, keyID, errPermanentKMS, len(out.Plaintext), len(out.CiphertextBlob), dataKeySize, maxWrappedKey)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// Decrypt has KMS unwrap a data key under the key label names (KeyId pinned) and ec.
func (p *KMSProvider) Decrypt(ctx context.Context, label string, wrapped []byte, ec Context) ([]byte, error) {
	keyID, ok := p.keys[label]
	if !ok {
		return nil, fmt.Errorf("aws kms: key %s: %w: no KMS key configured under this label", label, ErrUnknownKey)
	}
	out, err := p.api.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		KeyId:             aws.String(keyID),
		EncryptionContext: ec.Map(),
	})
	if err != nil {
		return nil, kmsError("Decrypt", label+" = "+keyID, err)
	}
	if len(out.Plaintext) != dataKeySize {
		clear(out.Plaintext)
		return nil, fmt.Errorf("aws kms Decrypt (key %s = %s): %w: unwrapped %d bytes, want a %d-byte data key", label, keyID, ErrTampered, len(out.Plaintext), dataKeySize)
	}
	return out.Plaintext, nil
}
