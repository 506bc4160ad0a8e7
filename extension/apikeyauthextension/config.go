package apikeyauthextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/confkeys"
)

// Config configures the API key authenticator.
type Config struct {
	// KeysFile is the keys file (format warden-apikeys, version 1). It holds hashes only, but
	// whoever can write it can add keys: keep it writable by the operator alone.
	KeysFile string `mapstructure:"keys_file"`
	// Header is the request header (gRPC metadata key) that carries the key. A key in
	// "Authorization: ApiKey <key>" is accepted as well.
	Header string `mapstructure:"header"`
	// TenantAttribute is the resource attribute a later stage stamps the key's tenant into.
	TenantAttribute string `mapstructure:"tenant_attribute"`
	// ReloadInterval is how often the keys file's modification time and size are looked at;
	// when either changed, the file is read again. A file that does not load keeps the last
	// good keys in use. 0 turns reloading off.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
	// Lockout refuses addresses that keep presenting bad keys.
	Lockout LockoutConfig `mapstructure:"lockout"`
	// Ledger is the audit_ledger extension that records the refused requests as login.failure
	// security events: one per source address and key id per SummaryInterval, with counts by
	// reason, never one per request. Unset: refusals are counted in metrics only.
	Ledger *component.ID `mapstructure:"ledger"`
	// SummaryInterval is how long refusals are merged before their summaries are recorded.
	SummaryInterval time.Duration `mapstructure:"summary_interval"`

	_ struct{}
}

// LockoutConfig configures the refusal of addresses that keep failing.
type LockoutConfig struct {
	// Failures is how many failed attempts from one address within Window lock it out
	// (0 turns the lockout off).
	Failures int `mapstructure:"failures"`
	// Window is the span over which failures are counted.
	Window time.Duration `mapstructure:"window"`
	// Duration is how long a locked-out address is refused.
	Duration time.Duration `mapstructure:"duration"`
	// MaxTracked bounds the addresses and key ids whose failures are remembered; the least
	// recently failing are forgotten first.
	MaxTracked int `mapstructure:"max_tracked"`
}

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.KeysFile == "" {
		errs = append(errs, errors.New("keys_file: required (the warden-apikeys file that lists the accepted keys)"))
	}
	if !validHeaderName(c.Header) {
		errs = append(errs, fmt.Errorf("header: %q is not a header name (want letters, digits and '-')", c.Header))
	}
	if c.TenantAttribute == "" {
		errs = append(errs, errors.New("tenant_attribute: required"))
	}
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative (0 turns reloading off)"))
	}
	if c.SummaryInterval < time.Second {
		errs = append(errs, fmt.Errorf("summary_interval: must be at least 1s, got %s", c.SummaryInterval))
	}
	l := c.Lockout
	if l.Failures < 0 {
		errs = append(errs, errors.New("lockout.failures: must not be negative (0 turns the lockout off)"))
	}
	if l.Failures > 0 {
		if l.Window <= 0 {
			errs = append(errs, errors.New("lockout.window: must be positive"))
		}
		if l.Duration <= 0 {
			errs = append(errs, errors.New("lockout.duration: must be positive"))
		}
		if l.MaxTracked <= 0 {
			errs = append(errs, errors.New("lockout.max_tracked: must be positive"))
		}
	}
	return errors.Join(errs...)
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Unmarshal reports every key the configuration does not have, with the nearest valid one,
// before decoding it.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, c); err != nil {
		return err
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	return conf.Unmarshal((*plain)(c))
}
