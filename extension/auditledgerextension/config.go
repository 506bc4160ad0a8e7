package auditledgerextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/otelwarden/warden/internal/ledger"
)

// Config configures the audit ledger.
type Config struct {
	// StreamID names this collector's chain. Empty: an id is generated on first start and kept
	// in the file directory, so restarts continue the same chain.
	StreamID string `mapstructure:"stream_id"`
	// File is the append-only journal on local disk. It is always on: an entry counts as
	// recorded once it is durable here, and it is the buffer that other sinks drain from.
	File FileConfig `mapstructure:"file"`
	// Postgres ships the journal to a PostgreSQL table (the security design's audit_log
	// columns plus the chain columns). Off unless configured.
	Postgres configoptional.Optional[PostgresConfig] `mapstructure:"postgres"`
	// Checkpoint controls signed checkpoints.
	Checkpoint CheckpointConfig `mapstructure:"checkpoint"`
	// DedupWindow is how many recent record ids are remembered, so that an event recorded
	// again with the same record id (a retry) is stored once.
	DedupWindow int `mapstructure:"dedup_window"`
	// MaxBatch bounds how many entries are appended with one fsync.
	MaxBatch int `mapstructure:"max_batch"`

	_ struct{}
}

// FileConfig configures the journal files.
type FileConfig struct {
	// Directory holds one sub-directory per stream with the entry segments and checkpoints.
	Directory string `mapstructure:"directory"`
	// MaxSegmentMiB starts a new segment file when the current one would grow past it.
	MaxSegmentMiB int `mapstructure:"max_segment_mib"`
	// MaxSegmentAge starts a new segment file when the current one is this old (0: never).
	MaxSegmentAge time.Duration `mapstructure:"max_segment_age"`
}

// PostgresConfig configures the PostgreSQL sink.
type PostgresConfig struct {
	// DSN is the connection string, e.g. postgres://warden@db:5432/audit?sslmode=verify-full.
	// The role needs only INSERT and SELECT once the tables exist.
	DSN configopaque.String `mapstructure:"dsn"`
	// Table is the ledger table ([schema.]name); checkpoints go to <table>_checkpoints.
	Table string `mapstructure:"table"`
	// CreateSchema creates the tables and their append-only triggers when they do not exist.
	CreateSchema bool `mapstructure:"create_schema"`
	// BatchSize is the number of entries per INSERT.
	BatchSize int `mapstructure:"batch_size"`
	// MaxBacklog is how many entries may wait on local disk for PostgreSQL. Beyond it, new
	// events are refused with an error (the callers see it) until the database catches up.
	MaxBacklog int `mapstructure:"max_backlog"`
	// RetryInterval is the first wait after a failed delivery; it doubles up to MaxRetryInterval.
	RetryInterval    time.Duration `mapstructure:"retry_interval"`
	MaxRetryInterval time.Duration `mapstructure:"max_retry_interval"`
}

// CheckpointConfig configures checkpoints.
type CheckpointConfig struct {
	// Interval writes a checkpoint this often when new entries arrived (0: only by count).
	Interval time.Duration `mapstructure:"interval"`
	// Entries writes a checkpoint after this many new entries (0: only by time).
	Entries int `mapstructure:"entries"`
	// SigningKeyFile is an Ed25519 private key (PKCS#8 PEM, `wardenctl keys signing`).
	// Empty: checkpoints are chained but not signed.
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// CreateKey generates the signing key (and FILE.pub) when the file does not exist.
	CreateKey bool `mapstructure:"create_key"`
}

var _ component.Config = (*Config)(nil)

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.StreamID != "" && !ledger.ValidStreamID(c.StreamID) {
		errs = append(errs, fmt.Errorf("stream_id %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", c.StreamID))
	}
	if c.File.Directory == "" {
		errs = append(errs, errors.New("file.directory: required (the journal is where entries become durable)"))
	}
	if c.File.MaxSegmentMiB <= 0 {
		errs = append(errs, fmt.Errorf("file.max_segment_mib: must be positive, got %d", c.File.MaxSegmentMiB))
	}
	if c.File.MaxSegmentAge < 0 {
		errs = append(errs, errors.New("file.max_segment_age: must not be negative"))
	}
	if c.Checkpoint.Interval < 0 || c.Checkpoint.Entries < 0 {
		errs = append(errs, errors.New("checkpoint.interval and checkpoint.entries must not be negative"))
	}
	if c.Checkpoint.Interval == 0 && c.Checkpoint.Entries == 0 {
		errs = append(errs, errors.New("checkpoint: set interval, entries or both (checkpoints are also written at shutdown)"))
	}
	if c.Checkpoint.CreateKey && c.Checkpoint.SigningKeyFile == "" {
		errs = append(errs, errors.New("checkpoint.create_key: needs checkpoint.signing_key_file"))
	}
	if c.DedupWindow < 0 {
		errs = append(errs, errors.New("dedup_window: must not be negative"))
	}
	if c.MaxBatch <= 0 {
		errs = append(errs, fmt.Errorf("max_batch: must be positive, got %d", c.MaxBatch))
	}
	if pg := c.Postgres.Get(); c.Postgres.HasValue() && pg != nil {
		if pg.DSN == "" {
			errs = append(errs, errors.New("postgres.dsn: required"))
		}
		if !ledger.ValidTableName(pg.Table) {
			errs = append(errs, fmt.Errorf("postgres.table %q: want [schema.]name of letters, digits and _", pg.Table))
		}
		if pg.BatchSize <= 0 {
			errs = append(errs, fmt.Errorf("postgres.batch_size: must be positive, got %d", pg.BatchSize))
		}
		if pg.MaxBacklog <= 0 {
			errs = append(errs, fmt.Errorf("postgres.max_backlog: must be positive, got %d", pg.MaxBacklog))
		}
		if pg.RetryInterval <= 0 || pg.MaxRetryInterval < pg.RetryInterval {
			errs = append(errs, errors.New("postgres.retry_interval must be positive and at most postgres.max_retry_interval"))
		}
	}
	return errors.Join(errs...)
}
