package auditledgerextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/awskms"
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

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.False(t, cfg.Postgres.HasValue(), "PostgreSQL is off unless configured")
}

func TestConfigFull(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		StreamID: "gateway-eu-1",
		File:     FileConfig{Directory: "/var/lib/warden/audit", MaxSegmentMiB: 128, MaxSegmentAge: 12 * time.Hour},
		Postgres: configoptional.Some(PostgresConfig{
			DSN:              "postgres://warden_writer@db.internal:5432/audit?sslmode=verify-full",
			Table:            "audit.audit_log",
			BatchSize:        500,
			MaxBacklog:       200000,
			RetryInterval:    2 * time.Second,
			MaxRetryInterval: time.Minute,
		}),
		Checkpoint: CheckpointConfig{
			Interval: 30 * time.Second,
			Entries:  5000,
			Signer: SignerConfig{AWSKMS: configoptional.Some(awskms.Config{
				KeyID: "alias/warden-ledger", Region: "eu-west-1",
			})},
			PreviousSigner: SignerConfig{SigningKeyFile: "/etc/warden/audit-signing.key"},
			Witness: WitnessConfig{Postgres: configoptional.Some(WitnessPostgresConfig{
				DSN:   "postgres://warden_witness@witness.internal:5432/witness?sslmode=verify-full",
				Table: "witness.audit_witness",
			})},
		},
		DedupWindow: 5000,
		MaxBatch:    1024,
		OnDamage:    OnDamageNewStream,
		Alerts:      fullAlerts(),
	}, cfg)
}

func fullAlerts() alerting.Config {
	security := alerting.NewDefaultWebhookConfig()
	security.Endpoint = "https://hooks.example.com/warden"
	security.Headers = map[string]configopaque.String{"Authorization": "Bearer s3cret"}
	security.Timeout = 5 * time.Second
	security.RetryOnFailure.MaxElapsedTime = 10 * time.Minute
	chat := alerting.NewDefaultWebhookConfig()
	chat.Endpoint = "https://hooks.slack.com/services/T000/B000/XXXX"
	chat.Format = alerting.FormatSlack
	chat.RetryOnFailure.Enabled = false
	return alerting.Config{
		QueueSize: 50,
		Webhooks:  map[string]alerting.WebhookConfig{"security": security, "chat": chat},
		Rules: []alerting.RuleConfig{
			{Name: "sensitive-actions", Actions: []string{"action.executed", "user.deleted", "retention.changed", "api_key.*"}, Webhook: "security"},
			{
				Name: "brute-force", Actions: []string{"login.failure"}, Outcomes: []audit.Outcome{audit.OutcomeFailure},
				Threshold: &alerting.ThresholdConfig{Count: 10, Window: time.Minute, By: alerting.GroupByActorIP, MaxGroups: 1000},
				Webhook:   "chat",
			},
		},
	}
}

func TestConfigAlertsReportsEverything(t *testing.T) {
	_, err := loadConfig(t, "alerts_invalid")
	require.Error(t, err)
	for _, want := range []string{
		"alerts: queue_size: must be positive",
		`webhooks::bad::endpoint: "ftp://hooks.example.com" is not an http or https URL`,
		`webhooks::bad::format: unknown "xml" (want json or slack)`,
		"webhooks::bad::timeout: must be positive",
		"rules[0]::name: required",
		"rules[0]::actions: required",
		`rules[0]::webhook: "nowhere" is not one of webhooks (bad)`,
		`rules[1] (twice)::actions: "user.*.x" is not an action`,
		`rules[1] (twice)::outcomes: unknown outcome "maybe"`,
		"rules[2] (twice)::name: used by an earlier rule",
		"rules[2] (twice)::threshold::count: must be at least 1",
		"rules[2] (twice)::threshold::window: must be positive",
		`rules[2] (twice)::threshold::by: unknown "tenant"`,
		"rules[2] (twice)::threshold::max_groups: must not be negative",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), `"ok.action"`)

	_, err = loadConfig(t, "alerts_typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `alerts: webhooks.security: unknown key "fromat"`)
	assert.Contains(t, err.Error(), `"format"`)
}

func TestConfigPostgresDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "postgres")
	require.NoError(t, err)
	require.True(t, cfg.Postgres.HasValue())
	pg := cfg.Postgres.Get()
	assert.Equal(t, "audit_log", pg.Table)
	assert.True(t, pg.CreateSchema)
	assert.Equal(t, 1000, pg.BatchSize)
	assert.Equal(t, 1_000_000, pg.MaxBacklog)
}

func TestConfigInvalidReportsEverything(t *testing.T) {
	_, err := loadConfig(t, "invalid")
	require.Error(t, err)
	for _, want := range []string{
		`stream_id "has spaces"`,
		"file.directory: required",
		"file.max_segment_mib: must be positive",
		"checkpoint: set interval, entries or both",
		"checkpoint.create_key: needs checkpoint.signing_key_file",
		"max_batch: must be positive",
		"postgres.dsn: required",
		`postgres.table "drop table;"`,
		"postgres.batch_size: must be positive",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigKeyRules(t *testing.T) {
	_, err := loadConfig(t, "key_beside_ledger")
	require.Error(t, err)
	for _, want := range []string{
		"checkpoint: set either signing_key_file or signer.aws_kms, not both",
		"checkpoint.signer.aws_kms.key_id",
		"checkpoint.signing_key_file: /var/lib/warden/audit/signing.key is inside file.directory /var/lib/warden/audit",
		"checkpoint.previous_signer: set either signing_key_file or aws_kms, not both",
		"checkpoint.witness.postgres.dsn: required",
		`checkpoint.witness.postgres.table "x y"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = loadConfig(t, "bad_on_damage")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown on_damage "ignore" (want refuse or new_stream)`)
}

func TestKeyInsideLedgerDirectory(t *testing.T) {
	for _, tc := range []struct {
		key, dir string
		inside   bool
	}{
		{"/data/audit/k.key", "/data/audit", true},
		{"/data/audit/x/../k.key", "/data/audit/", true},
		{"/data/audit-keys/k.key", "/data/audit", false},
		{"/data/k.key", "/data/audit", false},
		{"data/audit/k", "./data/audit", true},
		{"keys/k", "data/audit", false},
	} {
		assert.Equal(t, tc.inside, within(tc.key, tc.dir), "%s in %s", tc.key, tc.dir)
	}
}

func TestConfigTypo(t *testing.T) {
	_, err := loadConfig(t, "typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "directroy")
}
