package auditledgerextension

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/confkeys"
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
	// OnDamage is what happens when the journal is found damaged at start (entries or
	// checkpoints missing or rewritten): refuse (the default) keeps the collector from
	// starting; new_stream leaves the damaged stream as it is, for investigation, and starts a
	// new stream whose first entry names the old stream's last good checkpoint.
	OnDamage OnDamage `mapstructure:"on_damage"`
	// Alerts posts the entries that match its rules to webhooks as they become durable.
	Alerts alerting.Config `mapstructure:"alerts"`

	_ struct{}
}

// OnDamage is the answer to a damaged journal at start.
type OnDamage string

const (
	// OnDamageRefuse keeps the collector from starting.
	OnDamageRefuse OnDamage = "refuse"
	// OnDamageNewStream starts a new stream linked to the old one's last good checkpoint.
	OnDamageNewStream OnDamage = "new_stream"
)

// UnmarshalText rejects unknown values when the configuration is read.
func (o *OnDamage) UnmarshalText(text []byte) error {
	switch v := OnDamage(text); v {
	case OnDamageRefuse, OnDamageNewStream:
		*o = v
		return nil
	default:
		return fmt.Errorf("unknown on_damage %q (want refuse or new_stream)", v)
	}
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
	// SigningKeyFile is a private key file (PKCS#8 PEM, Ed25519 from `wardenctl keys signing`,
	// or ECDSA P-256). Keep it off the disk that holds the ledger, or use Signer.AWSKMS, which
	// keeps the key out of the collector altogether. Empty, and no signer: checkpoints are
	// chained but not signed.
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// CreateKey generates the signing key (and FILE.pub) when the file does not exist and the
	// stream has no checkpoint signed yet. It never replaces a key the ledger was signed with.
	CreateKey bool `mapstructure:"create_key"`
	// Signer signs with a key held outside the collector instead of SigningKeyFile.
	Signer SignerConfig `mapstructure:"signer"`
	// PreviousSigner is the key the stream's checkpoints were signed with so far, when the
	// signing key changes: it signs the checkpoint that covers the entry announcing the new key,
	// once, at start; after that start it is no longer needed.
	PreviousSigner SignerConfig `mapstructure:"previous_signer"`
	// Witness publishes every checkpoint to a sink outside the ledger's reach, so that a
	// ledger rolled back or rewritten by whoever controls the collector's host is caught by
	// `wardenctl audit verify --witness-...`. (The audit_checkpoints receiver is the other
	// kind of witness: it emits each checkpoint into a logs pipeline.)
	Witness WitnessConfig `mapstructure:"witness"`
}

// SignerConfig names a key that signs checkpoints.
type SignerConfig struct {
	// SigningKeyFile is a private key file (previous_signer only; the current key file is
	// checkpoint.signing_key_file).
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// AWSKMS signs with an asymmetric AWS KMS key (ECC_NIST_P256, SIGN_VERIFY): the private
	// key never leaves KMS.
	AWSKMS configoptional.Optional[awskms.Config] `mapstructure:"aws_kms"`
}

func (s *SignerConfig) kms() *awskms.Config {
	if s.AWSKMS.HasValue() {
		return s.AWSKMS.Get()
	}
	return nil
}

// WitnessConfig configures the witnesses of the checkpoints.
type WitnessConfig struct {
	// Postgres inserts every checkpoint into an append-only table, ideally in another
	// database and always under other credentials than the ledger's own PostgreSQL sink.
	Postgres configoptional.Optional[WitnessPostgresConfig] `mapstructure:"postgres"`
}

// WitnessPostgresConfig configures a PostgreSQL witness.
type WitnessPostgresConfig struct {
	// DSN is the connection string; the role needs INSERT and SELECT on the table.
	DSN configopaque.String `mapstructure:"dsn"`
	// Table is the witness table ([schema.]name).
	Table string `mapstructure:"table"`
	// CreateSchema creates the table and its append-only triggers when it does not exist.
	CreateSchema bool `mapstructure:"create_schema"`
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
	errs = append(errs, c.Checkpoint.validate(c.File.Directory)...)
	switch c.OnDamage {
	case OnDamageRefuse, OnDamageNewStream:
	default:
		errs = append(errs, fmt.Errorf("on_damage: unknown value %q (want refuse or new_stream)", c.OnDamage))
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

func (c *CheckpointConfig) validate(ledgerDir string) []error {
	var errs []error
	if c.CreateKey && c.SigningKeyFile == "" {
		errs = append(errs, errors.New("checkpoint.create_key: needs checkpoint.signing_key_file"))
	}
	current := c.Signer.kms()
	if c.Signer.SigningKeyFile != "" {
		errs = append(errs, errors.New("checkpoint.signer.signing_key_file: set checkpoint.signing_key_file instead"))
	}
	if current != nil {
		if c.SigningKeyFile != "" {
			errs = append(errs, errors.New("checkpoint: set either signing_key_file or signer.aws_kms, not both"))
		}
		if err := current.Validate(); err != nil {
			errs = append(errs, prefixed("checkpoint.signer.aws_kms.", err)...)
		}
	}
	if c.SigningKeyFile != "" && ledgerDir != "" && within(c.SigningKeyFile, ledgerDir) {
		errs = append(errs, fmt.Errorf("checkpoint.signing_key_file: %s is inside file.directory %s: whoever can rewrite the ledger could re-sign it; keep the key elsewhere, or use signer.aws_kms", c.SigningKeyFile, ledgerDir))
	}
	prev := c.PreviousSigner.kms()
	if prev != nil && c.PreviousSigner.SigningKeyFile != "" {
		errs = append(errs, errors.New("checkpoint.previous_signer: set either signing_key_file or aws_kms, not both"))
	}
	if prev != nil {
		if err := prev.Validate(); err != nil {
			errs = append(errs, prefixed("checkpoint.previous_signer.aws_kms.", err)...)
		}
	}
	if (prev != nil || c.PreviousSigner.SigningKeyFile != "") && current == nil && c.SigningKeyFile == "" {
		errs = append(errs, errors.New("checkpoint.previous_signer: needs a current key (signing_key_file or signer.aws_kms) to hand over to"))
	}
	if w := c.Witness.Postgres.Get(); c.Witness.Postgres.HasValue() && w != nil {
		if w.DSN == "" {
			errs = append(errs, errors.New("checkpoint.witness.postgres.dsn: required"))
		}
		if !ledger.ValidTableName(w.Table) {
			errs = append(errs, fmt.Errorf("checkpoint.witness.postgres.table %q: want [schema.]name of letters, digits and _", w.Table))
		}
	}
	return errs
}

// within reports whether path is dir or lies under it, judged from the names alone.
func within(path, dir string) bool {
	p, d := filepath.Clean(path), filepath.Clean(dir)
	if filepath.IsAbs(p) != filepath.IsAbs(d) {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// prefixed splits a joined error and prefixes each part with the key it is under.
func prefixed(prefix string, err error) []error {
	var parts []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		parts = joined.Unwrap()
	} else {
		parts = []error{err}
	}
	out := make([]error, len(parts))
	for i, p := range parts {
		out[i] = fmt.Errorf("%s%w", prefix, p)
	}
	return out
}

// Unmarshal reports every key the configuration does not have, with the nearest valid one,
// before decoding it.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, cfg); err != nil {
		return err
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	return conf.Unmarshal((*plain)(cfg))
}
