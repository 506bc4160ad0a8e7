package fieldencryptionprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigContract(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.Fields = []FieldConfig{{Key: "password"}, {Key: "*.api_key"}, {Key: "http.request.header.authorization"}, {Key: "body.card.number"}}
	want.Provider.Local = configoptional.Some(LocalConfig{Keyring: "./data/keyring.json"})
	want.Tenant = TenantConfig{Attribute: "tenant.id", Keys: map[string]string{"acme": "acme-1"}}
	assert.Equal(t, want, cfg)
}

func TestConfigKMS(t *testing.T) {
	cfg, err := loadConfig(t, "kms")
	require.NoError(t, err)
	ledger := component.MustNewID("audit_ledger")
	assert.Equal(t, &Config{
		Fields: []FieldConfig{
			{Key: "user.password"},
			{Key: "http.request.header.*", Levels: []string{"span", "log_record"}},
			{Key: "body"},
		},
		Provider: ProviderConfig{AWSKMS: configoptional.Some(awskms.Config{KeyID: "alias/warden", Region: "eu-west-1", Endpoint: "http://127.0.0.1:4599"})},
		Tenant: TenantConfig{Attribute: "tenant.id", Keys: map[string]string{
			"acme": "alias/acme", "globex": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		}},
		ContextAttributes: []string{"service.name", "deployment.environment.name"},
		Cache:             CacheConfig{MaxAge: time.Minute, MaxMessages: 1_000_000, MaxBytes: 1 << 30},
		OnKeyError:        OnKeyErrorDropField,
		Ledger:            &ledger,
		SummaryInterval:   30 * time.Second,
	}, cfg)
}

func TestConfigInvalidReportsEverything(t *testing.T) {
	_, err := loadConfig(t, "invalid")
	require.Error(t, err)
	for _, want := range []string{
		"fields[0].key: required",
		`fields[1].levels: "body.x" is a log body path`,
		`fields[2].levels: unknown level "nowhere"`,
		`fields[3].key: "a" is listed twice`,
		"provider: set either local or aws_kms, not both",
		"provider.local.keyring: required",
		"provider.aws_kms.key_id",
		"tenant.keys: needs tenant.attribute",
		`context_attributes[1]: "service.name" is listed twice`,
		"cache.max_age: must be positive",
		"cache.max_messages: must be 1 to 2^32",
		"cache.max_bytes: must be 1 to 2^63-1",
		"summary_interval: must be at least 1s",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigRefusals(t *testing.T) {
	_, err := loadConfig(t, "bad_on_key_error")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown on_key_error "pass_through" (want refuse or drop_field): plaintext never passes`)
	_, err = loadConfig(t, "no_provider")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "provider: required")
	_, err = loadConfig(t, "typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cahce")
}
