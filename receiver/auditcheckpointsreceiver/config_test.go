package auditcheckpointsreceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/receiver/auditcheckpointsreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id component.ID
		// want is the whole decoded configuration.
		want *Config
		// wantUnmarshalErr is a part of the decoding error, for configurations that do not decode.
		wantUnmarshalErr string
		// wantValidateErr is a part of the validation error; empty means valid.
		wantValidateErr string
	}{
		{
			id:   component.NewID(metadata.Type),
			want: &Config{Ledger: component.MustNewID("audit_ledger")},
		},
		{
			id:   component.NewIDWithName(metadata.Type, "backup"),
			want: &Config{Ledger: component.MustNewIDWithName("audit_ledger", "main")},
		},
		{
			id:              component.NewIDWithName(metadata.Type, "no_ledger"),
			want:            &Config{},
			wantValidateErr: `ledger: required: the component ID of the audit_ledger extension whose checkpoints to emit (e.g. "ledger: audit_ledger")`,
		},
		{
			id:               component.NewIDWithName(metadata.Type, "bad_ledger"),
			wantUnmarshalErr: `'ledger' in "audit ledger" id: invalid character(s)`,
		},
		{
			id:               component.NewIDWithName(metadata.Type, "typo"),
			wantUnmarshalErr: `unknown key "ledgr" (did you mean "ledger"?)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			err = sub.Unmarshal(&cfg)
			if tt.wantUnmarshalErr != "" {
				require.ErrorContains(t, err, tt.wantUnmarshalErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
			err = confmap.Validate(cfg)
			if tt.wantValidateErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantValidateErr)
		})
	}
}
