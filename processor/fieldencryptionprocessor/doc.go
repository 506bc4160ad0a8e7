//go:generate mdatagen metadata.yaml

// Package fieldencryptionprocessor implements the `field_encryption` processor. It encrypts
// the values of configured fields (attribute keys and globs per level, paths into log bodies)
// with AES-256-GCM under data keys from AWS KMS or a local keyring (envelope encryption), so
// that they stay recoverable for whoever may decrypt them (`wardenctl decrypt`) and are
// ciphertext for everyone else. Keys can be chosen per tenant, so that destroying a tenant's
// key erases that tenant's encrypted fields everywhere. When no key can be had, plaintext
// never leaves the processor.
package fieldencryptionprocessor // import "github.com/otelwarden/warden/processor/fieldencryptionprocessor"
