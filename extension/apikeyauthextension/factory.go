package apikeyauthextension

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
)

// NewFactory returns the api_key_auth extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Header:          "X-API-Key",
		TenantAttribute: "tenant.id",
		ReloadInterval:  5 * time.Second,
		SummaryInterval: 10 * time.Second,
		Lockout: LockoutConfig{
			Failures:   10,
			Window:     time.Minute,
			Duration:   5 * time.Minute,
			MaxTracked: 100_000,
		},
	}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newAuthenticator(cfg.(*Config), set)
}
