package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

func wardenctl(args ...string) (int, string) {
	var out bytes.Buffer
	code := run(args, &out, &out)
	return code, out.String()
}

// writeLedger runs the real audit_ledger extension and records n events into it.
func writeLedger(t *testing.T, dir, key string, n int, pg func(*auditledgerextension.Config)) {
	t.Helper()
	f := auditledgerextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditledgerextension.Config)
	cfg.StreamID = "ctl-test"
	cfg.File.Directory = dir
	cfg.Checkpoint.SigningKeyFile = key
	cfg.Checkpoint.Entries = 10
	if pg != nil {
		pg(cfg)
	}
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	rec := ext.(audit.Recorder)
	for i := range n {
		require.NoError(t, rec.Record(context.Background(), audit.Event{
			Actor: audit.Actor{Type: audit.ActorUser, ID: "alice"}, Action: "login.success",
			Resource: audit.Resource{Type: "session", ID: string(rune('a' + i%26))}, Outcome: audit.OutcomeSuccess,
		}))
	}
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestKeysAndVerifyDir(t *testing.T) {
	tmp := t.TempDir()
	key := filepath.Join(tmp, "signing.key")
	code, out := wardenctl("keys", "signing", "--out", key)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "key id:")
	st, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	code, _ = wardenctl("keys", "signing", "--out", key)
	assert.Equal(t, exitUsage, code, "an existing key is never overwritten")

	dir := filepath.Join(tmp, "audit")
	writeLedger(t, dir, key, 25, nil)

	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub")
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "stream ctl-test: 27 entries")
	assert.Contains(t, out, "OK ")

	code, out = wardenctl("audit", "verify", "--dir", dir)
	assert.Equal(t, exitUnverifiable, code, out)
	assert.Contains(t, out, "no trust root was given")

	pub, err := ledger.LoadPublicKey(key + ".pub")
	require.NoError(t, err)
	code, out = wardenctl("audit", "verify", "--dir", dir, "--key-id", pub.Fingerprint())
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "trusted key "+pub.Fingerprint())
	code, out = wardenctl("audit", "verify", "--dir", dir, "--key-id", pub.ID())
	assert.Equal(t, exitUsage, code, "a short key id is not a pin")
	assert.Contains(t, out, "full fingerprint")
	other := filepath.Join(tmp, "other.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", other)))
	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", other+".pub")
	assert.Equal(t, exitTampered, code, "a ledger signed by a key that is not trusted is tampered: %s", out)

	code, out = wardenctl("audit", "verify", "--dir", dir, "--no-signatures")
	assert.Equal(t, exitOK, code, out)

	// Flip one byte of one entry.
	segs, err := ledger.Segments(filepath.Join(dir, "ctl-test"))
	require.NoError(t, err)
	raw, err := os.ReadFile(segs[0].Path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(raw), "\n")
	lines[6] = strings.Replace(lines[6], "alice", "alicf", 1)
	require.NoError(t, os.WriteFile(segs[0].Path, []byte(strings.Join(lines, "")), 0o600))
	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub")
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "FAILED tampered: stream ctl-test entry 7 (")
	assert.Contains(t, out, "line 7): stored hash does not match")
}

func TestVerifyPostgres(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	tmp := t.TempDir()
	key := filepath.Join(tmp, "signing.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", key)))
	writeLedger(t, filepath.Join(tmp, "audit"), key, 15, func(c *auditledgerextension.Config) {
		c.Postgres = configoptional.Some(auditledgerextension.PostgresConfig{
			DSN: configopaque.String(pgtest.DSN()), Table: table, CreateSchema: true, BatchSize: 7,
			MaxBacklog: 1000, RetryInterval: 1e8, MaxRetryInterval: 1e9,
		})
	})
	code, out := wardenctl("audit", "verify", "--postgres", pgtest.DSN(), "--table", table, "--public-key", key+".pub")
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "17 entries")

	_, err := conn.Exec(context.Background(), `ALTER TABLE `+table+` DISABLE TRIGGER USER`)
	require.NoError(t, err)
	_, err = conn.Exec(context.Background(), `UPDATE `+table+` SET actor_id = 'mallory' WHERE seq = 9`)
	require.NoError(t, err)
	code, out = wardenctl("audit", "verify", "--postgres", pgtest.DSN(), "--table", table, "--public-key", key+".pub")
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "entry 9 (table "+table+", seq 9): stored hash does not match")
}

// TestVerifyStateCatchesRollback: a ledger verified once with --state must extend what was
// verified; cut back to an earlier, consistent state it fails.
func TestVerifyStateCatchesRollback(t *testing.T) {
	tmp := t.TempDir()
	key := filepath.Join(tmp, "signing.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", key)))
	dir := filepath.Join(tmp, "audit")
	writeLedger(t, dir, key, 25, nil)
	stream := filepath.Join(dir, "ctl-test")
	snapshot := copyDir(t, stream)
	writeLedger(t, dir, key, 25, nil)
	state := filepath.Join(tmp, "verify.state")

	code, out := wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--state", state, "--stream", "ctl-test")
	require.Equal(t, exitOK, code, out)
	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--state", state)
	require.Equal(t, exitOK, code, "verifies again: %s", out)

	// Roll the stream back to its first run.
	require.NoError(t, os.RemoveAll(stream))
	restoreDir(t, snapshot, stream)
	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub")
	require.Equal(t, exitOK, code, "alone, the earlier state verifies: %s", out)
	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--state", state)
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "does not extend the checkpoint verified before")

	code, out = wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--stream", "gateway-2")
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "stream gateway-2: the stream is required")
}

func copyDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, de := range des {
		raw, err := os.ReadFile(filepath.Join(dir, de.Name()))
		require.NoError(t, err)
		out[de.Name()] = raw
	}
	return out
}

func restoreDir(t *testing.T, files map[string][]byte, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o750))
	for name, raw := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), raw, 0o640))
	}
}

// TestVerifyJournalAgainstTable: a tail deleted from both PostgreSQL tables behind the
// triggers' back verifies on its own, but not against the journal or a witness.
func TestVerifyJournalAgainstTable(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	witness := pgtest.Table(t, conn)
	tmp := t.TempDir()
	key := filepath.Join(tmp, "signing.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", key)))
	dir := filepath.Join(tmp, "audit")
	withPG := func(c *auditledgerextension.Config) {
		c.Postgres = configoptional.Some(auditledgerextension.PostgresConfig{
			DSN: configopaque.String(pgtest.DSN()), Table: table, CreateSchema: true, BatchSize: 7,
			MaxBacklog: 1000, RetryInterval: 1e8, MaxRetryInterval: 1e9,
		})
		c.Checkpoint.Witness.Postgres = configoptional.Some(auditledgerextension.WitnessPostgresConfig{
			DSN: configopaque.String(pgtest.DSN()), Table: witness, CreateSchema: true,
		})
	}
	writeLedger(t, dir, key, 15, withPG)
	writeLedger(t, dir, key, 15, withPG)
	args := []string{"audit", "verify", "--postgres", pgtest.DSN(), "--table", table, "--public-key", key + ".pub"}
	code, out := wardenctl(append(args, "--dir", dir, "--witness-postgres", pgtest.DSN(), "--witness-table", witness)...)
	require.Equal(t, exitOK, code, out)

	ctx := context.Background()
	for _, stmt := range []string{
		`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`,
		`ALTER TABLE ` + table + `_checkpoints DISABLE TRIGGER USER`,
		`DELETE FROM ` + table + ` WHERE seq > 17`,
		`DELETE FROM ` + table + `_checkpoints WHERE seq > 17`,
		`ALTER TABLE ` + table + ` ENABLE TRIGGER USER`,
		`ALTER TABLE ` + table + `_checkpoints ENABLE TRIGGER USER`,
	} {
		_, err := conn.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	code, out = wardenctl(args...)
	require.Equal(t, exitOK, code, "alone, the cut table verifies: %s", out)
	code, out = wardenctl(append(args, "--dir", dir)...)
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "rows were removed from the table")
	code, out = wardenctl(append(args, "--witness-postgres", pgtest.DSN(), "--witness-table", witness)...)
	assert.Equal(t, exitTampered, code, out)
	assert.Contains(t, out, "rolled back")
}

func TestUsage(t *testing.T) {
	code, out := wardenctl("audit")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, out, "Usage:")
	code, _ = wardenctl("audit", "verify")
	assert.Equal(t, exitUsage, code)
	code, out = wardenctl("audit", "schema", "--table", "bad name")
	assert.Equal(t, exitUsage, code, out)
	code, out = wardenctl("audit", "schema")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "BEFORE TRUNCATE")
}

func first(code int, _ string) int { return code }
