package apikeyscopeprocessor // import "github.com/otelwarden/warden/processor/apikeyscopeprocessor"

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/confkeys"
)

// Config is the configuration of the api_key_scope processor.
type Config struct {
	// TenantAttribute is the resource attribute set to the authenticated tenant on every
	// resource, replacing whatever the sender put there. Keep it equal to api_key_auth's
	// tenant_attribute.
	TenantAttribute string `mapstructure:"tenant_attribute"`

	// KeyIDAttribute, when set, is a resource attribute set to the id of the API key the batch
	// was sent with (never the key itself). Empty: not written.
	KeyIDAttribute string `mapstructure:"key_id_attribute"`

	// RequireAuth refuses batches that were not authenticated with an API key (no client.Info
	// auth, or one without scopes). Off: such batches pass unchanged.
	RequireAuth bool `mapstructure:"require_auth"`

	// AuditScope requires the audit scope as well as the pipeline's signal, for pipelines that
	// feed the audit exporter's records mode.
	AuditScope bool `mapstructure:"audit_scope"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once, each under its key.
func (c *Config) Validate() error {
	var errs []error
	if c.TenantAttribute == "" {
		errs = append(errs, errors.New("tenant_attribute: must not be empty (the default is tenant.id)"))
	}
	if c.KeyIDAttribute != "" && c.KeyIDAttribute == c.TenantAttribute {
		errs = append(errs, fmt.Errorf("key_id_attribute: %q is tenant_attribute as well; use another attribute or leave it empty", c.KeyIDAttribute))
	}
	return errors.Join(errs...)
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
