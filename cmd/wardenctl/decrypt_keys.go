package main

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// kmsLocation are the flags that say where KMS is.
type kmsLocation struct{ region, endpoint string }

func (k *kmsLocation) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.region, "aws-region", "", "AWS `REGION` of the KMS keys (default: a key ARN's, else AWS_REGION)")
	fs.StringVar(&k.endpoint, "aws-endpoint", "", "KMS endpoint `URL` (default: the region's)")
}

// config is the connection to KMS for the key keyID.
func (k *kmsLocation) config(keyID string) awskms.Config {
	return awskms.Config{KeyID: keyID, Region: k.region, Endpoint: k.endpoint}
}

// clientKey is the key whose region the KMS client takes: the default key, else the first
// tenant's.
func (o *decryptOptions) clientKey(tenants map[string]string) string {
	if o.kmsKey != "" || len(tenants) == 0 {
		return o.kmsKey
	}
	return tenants[slices.Min(slices.Collect(maps.Keys(tenants)))]
}

// decrypter builds the key provider and the line decrypter, and describes the provider for
// the ledger.
func (o *decryptOptions) decrypter(ctx context.Context, tenants map[string]string) (*lineDecrypter, map[string]string, error) {
	var (
		provider fieldcrypt.Provider
		describe map[string]string
		pending  func(context.Context, string) bool
	)
	if o.keyring != "" {
		lp, err := fieldcrypt.NewLocalProvider(o.keyring)
		if err != nil {
			return nil, nil, err
		}
		provider, describe = lp, map[string]string{"key_provider": providerKeyring, "keyring": absPath(o.keyring)}
	} else {
		client, err := awskms.NewClient(ctx, o.kmsAt.config(o.clientKey(tenants)))
		if err != nil {
			return nil, nil, err
		}
		kp, err := fieldcrypt.NewKMSProvider(client, fieldcrypt.KMSKeys{Default: o.kmsKey, Tenants: tenants})
		if err != nil {
			return nil, nil, err
		}
		keys := []string{}
		if o.kmsKey != "" {
			keys = append(keys, fieldcrypt.DefaultLabel+"="+o.kmsKey)
		}
		for _, t := range slices.Sorted(maps.Keys(tenants)) {
			keys = append(keys, fieldcrypt.TenantLabel(t)+"="+tenants[t])
		}
		provider, pending = kp, pendingDeletion(client, kp)
		describe = map[string]string{"key_provider": providerAWSKMS, "aws_kms_keys": clip(strings.Join(keys, ","), 1024)}
	}
	dec, err := fieldcrypt.NewDecryptor(provider, fieldcrypt.DecryptorConfig{})
	if err != nil {
		return nil, nil, err
	}
	ld := newLineDecrypter(dec, newTally())
	ld.pendingDeletion = pending
	return ld, describe, nil
}

// kmsDescriber describes KMS keys; *kms.Client is one.
type kmsDescriber interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// pendingDeletion tells, once per label, whether its KMS key is pending deletion: a tenant
// shredded with `keys shred`, whose values KMS refuses as disabled.
func pendingDeletion(api kmsDescriber, p *fieldcrypt.KMSProvider) func(context.Context, string) bool {
	known := map[string]bool{}
	return func(ctx context.Context, label string) bool {
		pending, ok := known[label]
		if ok {
			return pending
		}
		if keyID, ok := p.KeyID(label); ok {
			out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
			pending = err == nil && out.KeyMetadata != nil && out.KeyMetadata.KeyState == types.KeyStatePendingDeletion
		}
		known[label] = pending
		return pending
	}
}
