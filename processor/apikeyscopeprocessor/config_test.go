package apikeyscopeprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/processor/apikeyscopeprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string // every part of the error, from unmarshalling or validation
	}{
		{
			id:   component.NewID(metadata.Type),
			want: &Config{TenantAttribute: "tenant.id"},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			want: &Config{
				TenantAttribute: "warden.tenant",
				KeyIDAttribute:  "warden.api_key.id",
				RequireAuth:     true,
				AuditScope:      true,
			},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "empty_tenant"),
			wantErr: []string{"tenant_attribute: must not be empty"},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "clash"),
			wantErr: []string{`key_id_attribute: "tenant.id" is tenant_attribute as well`},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "typo"),
			wantErr: []string{`require_authentication`, `require_auth`},
		},
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
				for _, part := range tt.wantErr {
					assert.ErrorContains(t, err, part)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := &Config{TenantAttribute: "", KeyIDAttribute: ""}
	require.EqualError(t, cfg.Validate(), "tenant_attribute: must not be empty (the default is tenant.id)")
	cfg = &Config{TenantAttribute: "t", KeyIDAttribute: "t"}
	require.ErrorContains(t, cfg.Validate(), "key_id_attribute")
	require.NoError(t, (&Config{TenantAttribute: "t", KeyIDAttribute: "k"}).Validate())
}
