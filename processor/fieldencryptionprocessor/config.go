package fieldencryptionprocessor // import "github.com/otelwarden/warden/processor/fieldencryptionprocessor"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/confkeys"
	"github.com/otelwarden/warden/internal/walk"
)

// Config is the configuration of the field_encryption processor.
type Config struct {
	// Fields are the fields whose values are encrypted: attribute keys (exact, or globs such as
	// "*.api_key" and "http.request.header.*") at every attribute level unless levels narrow
	// them, and paths into log bodies ("body.card.number"). A value is encrypted whole,
	// whatever its type.
	Fields []FieldConfig `mapstructure:"fields"`

	// Provider is where data keys come from: a local keyring file (development) or AWS KMS.
	Provider ProviderConfig `mapstructure:"provider"`

	// Tenant chooses the key per tenant, so that one tenant's fields can be made
	// unrecoverable (crypto-shredding) without touching the others'.
	Tenant TenantConfig `mapstructure:"tenant"`

	// ContextAttributes are resource attributes bound into the encryption context of every
	// value (besides the field name and the tenant), e.g. service.name: a value decrypts only
	// under the same ones, and a KMS key policy can grant decryption per service. Never values.
	ContextAttributes []string `mapstructure:"context_attributes"`

	// Cache bounds how long and for how much one data key is used before a new one is asked
	// for: KMS is called once per data key, never per record.
	Cache CacheConfig `mapstructure:"cache"`

	// OnKeyError is what happens when no data key can be had for a value: refuse (the
	// default) refuses the whole batch with a retryable error; drop_field replaces the value
	// with the marker "[ENCRYPTION_FAILED]". Either way the plaintext never leaves the processor.
	OnKeyError OnKeyError `mapstructure:"on_key_error"`

	// Ledger is the audit_ledger extension that receives summaries (values encrypted and key
	// errors per service and signal, per interval). Optional.
	Ledger *component.ID `mapstructure:"ledger"`

	// SummaryInterval is how long counts are merged before a summary is recorded.
	SummaryInterval time.Duration `mapstructure:"summary_interval"`

	_ struct{}
}

// FieldConfig selects the values of one field.
type FieldConfig struct {
	// Key is an attribute key, a glob over attribute keys ("*" matches any run of characters,
	// dots included), or a path into log bodies starting with "body" ("body.card.number").
	Key string `mapstructure:"key"`
	// Levels narrows an attribute key to some levels (resource, scope, span, span_event,
	// span_link, log_record, datapoint, exemplar). Empty: every level.
	Levels []string `mapstructure:"levels"`
}

// ProviderConfig chooses the key provider: exactly one of local and aws_kms.
type ProviderConfig struct {
	// Local wraps data keys with master keys from a keyring file (`wardenctl keys generate`).
	Local configoptional.Optional[LocalConfig] `mapstructure:"local"`
	// AWSKMS asks AWS KMS for data keys (GenerateDataKey) under its key_id, the default key.
	AWSKMS configoptional.Optional[awskms.Config] `mapstructure:"aws_kms"`
}

// LocalConfig configures the local keyring.
type LocalConfig struct {
	// Keyring is the keyring file.
	Keyring string `mapstructure:"keyring"`
	// Create makes a keyring with one key when the file does not exist, and says at start that
	// it is a development key. Never replaces an existing keyring.
	Create bool `mapstructure:"create"`
}

// TenantConfig chooses keys per tenant.
type TenantConfig struct {
	// Attribute is the resource attribute that names the tenant, e.g. tenant.id. Empty: one
	// key for everything.
	Attribute string `mapstructure:"attribute"`
	// Keys maps a tenant to its key: a keyring key id (local) or a KMS key id, ARN or alias
	// (aws_kms). A tenant not listed uses the keyring's key for that tenant if it has one, else
	// the default key.
	Keys map[string]string `mapstructure:"keys"`
}

// CacheConfig bounds the use of one data key (the AWS Encryption SDK's caching rules).
type CacheConfig struct {
	// MaxAge is how long a data key is used; a new one is asked for in the background before.
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxMessages is how many values one data key encrypts at most (never more than 2^32,
	// the bound of AES-GCM with random nonces).
	MaxMessages uint64 `mapstructure:"max_messages"`
	// MaxBytes is how many plaintext bytes one data key encrypts at most.
	MaxBytes uint64 `mapstructure:"max_bytes"`
}

// OnKeyError is the answer to a value for which no data key can be had.
type OnKeyError string

const (
	// OnKeyErrorRefuse refuses the batch with a retryable error.
	OnKeyErrorRefuse OnKeyError = "refuse"
	// OnKeyErrorDropField replaces the value with a marker and passes the batch on.
	OnKeyErrorDropField OnKeyError = "drop_field"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (o *OnKeyError) UnmarshalText(text []byte) error {
	switch v := OnKeyError(text); v {
	case OnKeyErrorRefuse, OnKeyErrorDropField:
		*o = v
		return nil
	default:
		return fmt.Errorf("unknown on_key_error %q (want refuse or drop_field): plaintext never passes", v)
	}
}

// maxMessagesPerKey is the AES-GCM bound for random 96-bit nonces.
const maxMessagesPerKey = 1 << 32

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once. It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Fields) == 0 {
		errs = append(errs, errors.New("fields: required: at least one field to encrypt (e.g. {key: password})"))
	}
	seen := map[string]bool{}
	for i, f := range c.Fields {
		switch {
		case strings.TrimSpace(f.Key) == "":
			errs = append(errs, fmt.Errorf("fields[%d].key: required", i))
		case seen[f.Key]:
			errs = append(errs, fmt.Errorf("fields[%d].key: %q is listed twice", i, f.Key))
		}
		seen[f.Key] = true
		if isBodyPath(f.Key) && len(f.Levels) > 0 {
			errs = append(errs, fmt.Errorf("fields[%d].levels: %q is a log body path; levels apply to attribute keys", i, f.Key))
		}
		for _, l := range f.Levels {
			if _, ok := walk.ParseLevel(l); !ok {
				errs = append(errs, fmt.Errorf("fields[%d].levels: unknown level %q (want %s)", i, l, strings.Join(walk.LevelNames(), ", ")))
			}
		}
	}
	local, kms := c.Provider.Local.Get(), c.Provider.AWSKMS.Get()
	hasLocal, hasKMS := c.Provider.Local.HasValue() && local != nil, c.Provider.AWSKMS.HasValue() && kms != nil
	switch {
	case hasLocal && hasKMS:
		errs = append(errs, errors.New("provider: set either local or aws_kms, not both"))
	case !hasLocal && !hasKMS:
		errs = append(errs, errors.New("provider: required: local (a keyring file) or aws_kms"))
	}
	if hasLocal && local.Keyring == "" {
		errs = append(errs, errors.New("provider.local.keyring: required: the keyring file (`wardenctl keys generate --out FILE`)"))
	}
	if hasKMS {
		if err := kms.Validate(); err != nil {
			errs = append(errs, prefixed("provider.aws_kms.", err)...)
		}
	}
	for tenant, key := range c.Tenant.Keys {
		if c.Tenant.Attribute == "" {
			errs = append(errs, errors.New("tenant.keys: needs tenant.attribute (the resource attribute that names the tenant)"))
			break
		}
		if tenant == "" || key == "" {
			errs = append(errs, fmt.Errorf("tenant.keys: tenant %q: both the tenant and its key are required", tenant))
		}
	}
	for i, a := range c.ContextAttributes {
		if a == "" {
			errs = append(errs, fmt.Errorf("context_attributes[%d]: empty", i))
		}
		if slices.Contains(c.ContextAttributes[:i], a) {
			errs = append(errs, fmt.Errorf("context_attributes[%d]: %q is listed twice", i, a))
		}
	}
	if c.Cache.MaxAge <= 0 {
		errs = append(errs, errors.New("cache.max_age: must be positive (how long one data key is used)"))
	}
	if c.Cache.MaxMessages == 0 || c.Cache.MaxMessages > maxMessagesPerKey {
		errs = append(errs, fmt.Errorf("cache.max_messages: must be 1 to 2^32 (AES-GCM with random nonces), got %d", c.Cache.MaxMessages))
	}
	if c.Cache.MaxBytes == 0 || c.Cache.MaxBytes > math.MaxInt64 {
		errs = append(errs, fmt.Errorf("cache.max_bytes: must be 1 to 2^63-1, got %d", c.Cache.MaxBytes))
	}
	switch c.OnKeyError {
	case OnKeyErrorRefuse, OnKeyErrorDropField:
	default:
		errs = append(errs, fmt.Errorf("on_key_error: unknown value %q (want refuse or drop_field)", c.OnKeyError))
	}
	if c.SummaryInterval < time.Second {
		errs = append(errs, fmt.Errorf("summary_interval: must be at least 1s, got %s", c.SummaryInterval))
	}
	return errors.Join(errs...)
}

func isBodyPath(key string) bool { return key == "body" || strings.HasPrefix(key, "body.") }

// prefixed splits a joined error and prefixes each part with the key it is under.
func prefixed(prefix string, err error) []error {
	parts := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		parts = joined.Unwrap()
	}
	out := make([]error, len(parts))
	for i, p := range parts {
		out[i] = fmt.Errorf("%s%w", prefix, p)
	}
	return out
}

// Unmarshal reports every key the configuration does not have, with the nearest valid one,
// before decoding it.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, cfg); err != nil {
		return err
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	return conf.Unmarshal((*plain)(cfg))
}
