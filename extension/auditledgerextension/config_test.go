package auditledgerextension

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

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
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
		Checkpoint:  CheckpointConfig{Interval: 30 * time.Second, Entries: 5000, SigningKeyFile: "/etc/warden/audit-signing.key"},
		DedupWindow: 5000,
		MaxBatch:    1024,
	}, cfg)
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

func TestConfigTypo(t *testing.T) {
	_, err := loadConfig(t, "typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "directroy")
}
