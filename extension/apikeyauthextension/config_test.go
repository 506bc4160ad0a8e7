package apikeyauthextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
)

var securityLedger = component.MustNewIDWithName("audit_ledger", "security")

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{
			id: component.NewID(metadata.Type),
			want: &Config{
				KeysFile: "./keys.yaml", Header: "X-API-Key", TenantAttribute: "tenant.id", ReloadInterval: 5 * time.Second, SummaryInterval: 10 * time.Second,
				Lockout: LockoutConfig{Failures: 10, Window: time.Minute, Duration: 5 * time.Minute, MaxTracked: 100_000},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			want: &Config{
				KeysFile: "/etc/warden/keys.yaml", Header: "X-Warden-Key", TenantAttribute: "warden.tenant", ReloadInterval: 30 * time.Second,
				Lockout: LockoutConfig{Failures: 5, Window: 30 * time.Second, Duration: 10 * time.Minute, MaxTracked: 5000},
				Ledger:  &securityLedger, SummaryInterval: time.Minute,
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "relaxed"),
			want: &Config{
				KeysFile: "./keys.yaml", Header: "X-API-Key", TenantAttribute: "tenant.id", SummaryInterval: 10 * time.Second,
				Lockout: LockoutConfig{Window: time.Minute, Duration: 5 * time.Minute, MaxTracked: 100_000},
			},
		},
		{id: component.NewIDWithName(metadata.Type, "no_file"), wantErr: []string{"keys_file: required"}},
		{
			id: component.NewIDWithName(metadata.Type, "invalid"),
			wantErr: []string{
				`header: "X API Key" is not a header name`, "tenant_attribute: required", "reload_interval: must not be negative", "summary_interval: must be at least 1s",
				"lockout.window: must be positive", "lockout.duration: must be positive", "lockout.max_tracked: must be positive",
			},
		},
		{id: component.NewIDWithName(metadata.Type, "typo"), wantErr: []string{`lockout: unknown key "failurs"`, `"failures"`}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = cfg.(*Config).Validate()
			}
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}
