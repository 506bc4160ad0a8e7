package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

// exitUnrecorded: the action could not be recorded in the audit ledger.
const exitUnrecorded = 4

// Bounds of a command's use of the ledger.
var (
	// ledgerSetupTimeout bounds opening the ledger (and reaching PostgreSQL) before the action.
	ledgerSetupTimeout = 30 * time.Second
	// ledgerCloseTimeout bounds recording the event, the final checkpoint and the delivery to
	// PostgreSQL after the action.
	ledgerCloseTimeout = 30 * time.Second
)

// ledgerOptions are the flags that record a command's action in the audit ledger.
type ledgerOptions struct {
	dir, dsn, table, signingKey, stream string
}

func (o *ledgerOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.dir, "ledger-dir", "", "record the action in the audit ledger journal in `DIR`, under wardenctl's own stream")
	fs.StringVar(&o.dsn, "ledger-postgres", "", "also deliver the ledger entries to PostgreSQL at `DSN`; without --ledger-dir the journal is kept in "+defaultJournalHint)
	fs.StringVar(&o.table, "ledger-table", "", "ledger table `NAME` ([schema.]name) with --ledger-postgres (default audit_log)")
	fs.StringVar(&o.signingKey, "ledger-signing-key", "", "sign the stream's checkpoints with this private key `FILE` (made by wardenctl keys signing)")
	fs.StringVar(&o.stream, "ledger-stream", "", "stream `ID` (default wardenctl-<host>-<user>): one writer per stream, never the collector's")
}

// enabled reports whether the action is to be recorded.
func (o *ledgerOptions) enabled() bool { return o.dir != "" || o.dsn != "" }

// check reports flags that go with a ledger given without one.
func (o *ledgerOptions) check() error {
	switch {
	case o.table != "" && o.dsn == "":
		return errors.New("--ledger-table goes with --ledger-postgres")
	case !o.enabled() && (o.signingKey != "" || o.stream != ""):
		return errors.New("--ledger-signing-key and --ledger-stream go with --ledger-dir or --ledger-postgres")
	case o.stream != "" && !ledger.ValidStreamID(o.stream):
		return fmt.Errorf("--ledger-stream %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", o.stream)
	}
	return nil
}

const defaultJournalHint = "$XDG_STATE_HOME/warden/ledger (~/.local/state/warden/ledger)"

// defaultJournalDir is where the journal is kept when only --ledger-postgres is given: the
// user's state directory, since the journal is where entries become durable before they are
// delivered, and must outlive the command.
func defaultJournalDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "warden", "ledger"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no journal directory: give --ledger-dir (%w)", err)
	}
	return filepath.Join(home, ".local", "state", "warden", "ledger"), nil
}

var streamChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultStream is wardenctl-<host>-<user>: one stream per host and user, since each user
// keeps a journal of their own by default and a stream has exactly one writer.
func defaultStream(who operator) string {
	part := func(s string) string { return strings.Trim(streamChars.ReplaceAllString(s, "-"), "-._") }
	id := "wardenctl"
	for _, p := range []string{part(who.host), part(who.user)} {
		if p != "" {
			id += "-" + p
		}
	}
	if len(id) > 64 {
		id = strings.TrimRight(id[:64], "-._")
	}
	return id
}

// operator is who runs the command.
type operator struct{ user, host string }

func currentOperator() operator {
	var who operator
	if u, err := user.Current(); err == nil && u.Username != "" {
		who.user = u.Username
	} else if name := os.Getenv("USER"); name != "" {
		who.user = name
	} else {
		who.user = "uid-" + strconv.Itoa(os.Getuid())
	}
	who.host, _ = os.Hostname()
	if who.host == "" {
		who.host = "unknown-host"
	}
	return who
}

// actor is the operator as the ledger's actor: a user, user@host.
func (who operator) actor() audit.Actor {
	return audit.Actor{Type: audit.ActorUser, ID: clip(who.user+"@"+who.host, 255), UserAgent: "wardenctl"}
}

func (who operator) attributes() map[string]string {
	return map[string]string{"os_user": who.user, "hostname": who.host}
}

// actionLedger is the audit_ledger extension running inside the command, writing its own
// stream. The stream is locked for the command's run: two commands never write one stream.
type actionLedger struct {
	stderr io.Writer
	opts   ledgerOptions
	dir    string
	stream string
	ext    extension.Extension
	rec    audit.Recorder
	unlock func()
}

// open starts the ledger before the action, so that an action that could not be
// recorded is not taken: the journal is checked, the signing key loaded, PostgreSQL reached.
func (o *ledgerOptions) open(who operator, stderr io.Writer) (*actionLedger, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerSetupTimeout)
	defer cancel()
	l := &actionLedger{stderr: stderr, opts: *o, dir: o.dir, stream: o.stream}
	if l.dir == "" {
		var err error
		if l.dir, err = defaultJournalDir(); err != nil {
			return nil, err
		}
	}
	if l.stream == "" {
		l.stream = defaultStream(who)
	}
	if l.opts.dsn != "" && l.opts.table == "" {
		l.opts.table = "audit_log"
	}
	f := auditledgerextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditledgerextension.Config)
	cfg.StreamID = l.stream
	cfg.File.Directory = l.dir
	cfg.Checkpoint.SigningKeyFile = o.signingKey
	if l.opts.dsn != "" {
		cfg.Postgres = configoptional.Some(auditledgerextension.PostgresConfig{
			DSN: configopaque.String(l.opts.dsn), Table: l.opts.table, CreateSchema: true, BatchSize: 1000,
			MaxBacklog: 1_000_000, RetryInterval: 200 * time.Millisecond, MaxRetryInterval: 2 * time.Second,
		})
	}
	if err := cfg.Validate(); err != nil {
		return nil, ledgerFlagNames(err)
	}
	if l.opts.dsn != "" {
		if err := l.pingPostgres(ctx); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(l.dir, 0o750); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	unlock, err := lockFile(filepath.Join(l.dir, "."+l.stream+".lock"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", l.stream, err)
	}
	l.unlock = unlock
	set := extension.Settings{
		ID: component.NewIDWithName(f.Type(), "wardenctl"),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         errorLogger(),
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.BuildInfo{Command: "wardenctl", Description: "Warden's companion tool"},
	}
	ext, err := f.Create(ctx, set, cfg)
	if err == nil {
		err = ext.Start(ctx, noHost{})
	}
	if err != nil {
		l.unlock()
		return nil, err
	}
	l.ext, l.rec = ext, ext.(audit.Recorder)
	return l, nil
}

// errorLogger passes the ledger's errors to stderr, as one line each; its routine messages
// would only be noise around a command's output.
func errorLogger() *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey, enc.CallerKey, enc.StacktraceKey = "", "", ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.ErrorLevel)
	return zap.New(core)
}

// noHost is the host of the ledger run by a command: it has no other extensions.
type noHost struct{}

func (noHost) GetExtensions() map[component.ID]component.Component { return nil }

func (l *actionLedger) pingPostgres(ctx context.Context) error {
	store, err := ledger.OpenPG(ctx, l.opts.dsn, l.opts.table)
	if err != nil {
		return fmt.Errorf("--ledger-postgres: %w", err)
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		return fmt.Errorf("--ledger-postgres: cannot reach the database: %w", err)
	}
	return nil
}

// where names the stream and its journal (and table) for messages.
func (l *actionLedger) where() string {
	s := "stream " + l.stream + " in " + l.dir
	if l.opts.dsn != "" {
		s += " and table " + l.opts.table
	}
	return s
}

// recordAndClose records ev, stops the ledger (which writes a final checkpoint) and, with
// PostgreSQL, makes sure the entries reached the table. Only a nil error means the action is
// recorded where the flags asked.
func (l *actionLedger) recordAndClose(ev audit.Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerCloseTimeout)
	defer cancel()
	defer l.unlock()
	recErr := l.rec.Record(ctx, ev)
	stopErr := l.ext.Shutdown(ctx)
	if recErr != nil {
		return recErr
	}
	if l.opts.dsn != "" {
		if err := l.delivered(ctx); err != nil {
			return err
		}
	}
	if stopErr != nil {
		// The event is durable; only the stream's stop entry or checkpoint is missing, which
		// the next start of the stream makes good.
		fmt.Fprintln(l.stderr, "wardenctl: warning: the audit ledger did not stop cleanly:", stopErr)
	}
	return nil
}

// close stops the ledger without recording anything.
func (l *actionLedger) close() {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerCloseTimeout)
	defer cancel()
	_ = l.ext.Shutdown(ctx)
	l.unlock()
}

// delivered checks that the table holds the whole journal of the stream.
func (l *actionLedger) delivered(ctx context.Context) error {
	head, err := ledger.CheckJournal(filepath.Join(l.dir, l.stream), 0)
	if err != nil {
		return err
	}
	store, err := ledger.OpenPG(ctx, l.opts.dsn, l.opts.table)
	if err != nil {
		return fmt.Errorf("recorded in the journal %s, but PostgreSQL: %w", l.dir, err)
	}
	defer store.Close()
	hw, _, err := store.HighWater(ctx, l.stream)
	if err != nil {
		return fmt.Errorf("recorded in the journal %s, but PostgreSQL: %w", l.dir, err)
	}
	if hw < head.Seq {
		return fmt.Errorf("recorded in the journal %s, but table %s holds stream %s up to entry %d of %d: the rest is delivered by the next command that uses this journal",
			l.dir, l.opts.table, l.stream, hw, head.Seq)
	}
	return nil
}

// ledgerFlagNames names the flags behind the ledger configuration's keys in its errors.
func ledgerFlagNames(err error) error {
	flags := strings.NewReplacer(
		"file.directory", "--ledger-dir", "postgres.dsn", "--ledger-postgres", "postgres.table", "--ledger-table",
		"checkpoint.signing_key_file", "--ledger-signing-key", "stream_id", "--ledger-stream")
	return &reworded{msg: flags.Replace(err.Error()), err: err}
}

// reworded is an error told in the command's terms (flags rather than configuration keys),
// still matching what it wraps.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }

// clip shortens s to at most n bytes, keeping its end (the telling part of a path), on a
// UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	start := len(s) - n + len("...")
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return "..." + s[start:]
}

// ledgerFailed says that an action could not be recorded and returns exitUnrecorded.
func ledgerFailed(stderr io.Writer, cmd, what string, err error) int {
	fmt.Fprintf(stderr, "wardenctl %s: %s: the audit ledger could not record it: %v\n", cmd, what, err)
	return exitUnrecorded
}
