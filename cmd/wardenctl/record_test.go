package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// ledgerEvents reads the events of an action from a stream's journal.
func ledgerEvents(t *testing.T, dir, stream, action string) []ledger.Event {
	t.Helper()
	segs, err := ledger.Segments(filepath.Join(dir, stream))
	require.NoError(t, err)
	var out []ledger.Event
	for _, seg := range segs {
		f, err := os.Open(seg.Path)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, ledger.MaxEntryLine+1)
		for sc.Scan() {
			e, err := ledger.ParseEntry(sc.Bytes())
			require.NoError(t, err)
			if e.Event.Action == action {
				out = append(out, e.Event)
			}
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
	}
	return out
}

// journalText is every file of a journal directory, for checking what never goes into it.
func journalText(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		b.Write(raw)
		return err
	}))
	return b.String()
}

// details decodes an event's details.
func details(t *testing.T, ev ledger.Event) map[string][]map[string]any {
	t.Helper()
	var d map[string][]map[string]any
	require.NoError(t, json.Unmarshal(ev.Details, &d))
	return d
}

// TestDecryptAndShredAreRecorded: with --ledger-dir, a decrypt and a shred are recorded in the
// real audit_ledger extension under wardenctl's own stream, signed, and verify with `audit
// verify`: who (the OS user at the host), what input, how many fields by key and field and
// reason; the tenant and its shredded key ids. Never a value, a ciphertext or key material.
func TestDecryptAndShredAreRecorded(t *testing.T) {
	keyring := newKeyring(t)
	code, out, errOut := runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "acme")
	require.Equal(t, exitOK, code, errOut)
	acmeKey := keyIDLine.FindStringSubmatch(out)[1]
	enc := startEncryption(t, keyringConfig(keyring))
	all := []exported{enc.encrypt(t, logsBatch("acme")), enc.encrypt(t, tracesBatch(""))}
	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), all...)
	signing := filepath.Join(t.TempDir(), "signing.key")
	require.Equal(t, exitOK, first3(runKeys("keys", "signing", "--out", signing)))
	ledgerDir := filepath.Join(t.TempDir(), "audit")
	who := currentOperator()
	stream := defaultStream(who)
	assert.True(t, ledger.ValidStreamID(stream), stream)
	assert.True(t, strings.HasPrefix(stream, "wardenctl-"), stream)
	ledgerFlags := []string{"--ledger-dir", ledgerDir, "--ledger-signing-key", signing}

	out1 := filepath.Join(dir, "clear.jsonl")
	code, _, errOut = runKeys(append([]string{"decrypt", "--keyring", keyring, "--in", in, "--out", out1}, ledgerFlags...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "wardenctl decrypt: recorded as telemetry.decrypt in the audit ledger (stream "+stream+" in "+ledgerDir+")\n")
	got, err := os.ReadFile(out1)
	require.NoError(t, err)
	assert.Equal(t, plainLines(all...), string(got))

	evs := ledgerEvents(t, ledgerDir, stream, actionDecrypt)
	require.Len(t, evs, 1)
	ev := evs[0]
	total := int64(ciphertexts(all[0].encrypted) + ciphertexts(all[1].encrypted))
	assert.Equal(t, "user", ev.ActorType)
	assert.Equal(t, who.user+"@"+who.host, ev.ActorID)
	assert.Equal(t, "wardenctl", ev.ActorUserAgent)
	assert.Equal(t, "telemetry_file", ev.ResourceType)
	assert.Equal(t, in, ev.ResourceID)
	assert.Equal(t, "export.jsonl", ev.ResourceName)
	assert.Equal(t, "success", ev.Status)
	assert.Equal(t, "restricted", ev.DataClassification)
	assert.Equal(t, map[string]int64{"lines": 2, "records": 5, "fields_decrypted": total, "fields_left_encrypted": 0}, ev.Counts)
	assert.Equal(t, in, ev.Attributes["input"])
	assert.Equal(t, out1, ev.Attributes["output"])
	assert.Equal(t, "keyring", ev.Attributes["key_provider"])
	assert.Equal(t, keyring, ev.Attributes["keyring"])
	assert.Equal(t, who.user, ev.Attributes["os_user"])
	assert.Equal(t, who.host, ev.Attributes["hostname"])
	d := details(t, ev)
	assert.Contains(t, d["decrypted"], map[string]any{"key_id": acmeKey, "field": "password", "count": float64(2)})
	assert.Contains(t, d["decrypted"], map[string]any{"key_id": acmeKey, "field": "body.card.number", "count": float64(2)})
	var sum float64
	for _, row := range d["decrypted"] {
		sum += row["count"].(float64)
	}
	assert.Equal(t, float64(total), sum)
	assert.Empty(t, d["left_encrypted"])

	// Shred acme, recorded; then a decrypt that leaves acme's fields encrypted, recorded too.
	keyringBefore, err := os.ReadFile(keyring)
	require.NoError(t, err)
	code, out, errOut = runKeys(append([]string{"keys", "shred", "--keyring", keyring, "--tenant", "acme"}, ledgerFlags...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "recorded: gdpr.erasure_completed in the audit ledger (stream "+stream+" in "+ledgerDir+")\n")
	erasure := ledgerEvents(t, ledgerDir, stream, actionErasure)
	require.Len(t, erasure, 1)
	assert.Equal(t, "tenant", erasure[0].ResourceType)
	assert.Equal(t, "acme", erasure[0].ResourceID)
	assert.Equal(t, "success", erasure[0].Status)
	assert.Equal(t, acmeKey, erasure[0].Attributes[attrShreddedKeyIDs])
	assert.Equal(t, map[string]int64{"keys_shredded": 1}, erasure[0].Counts)
	assert.Equal(t, who.user+"@"+who.host, erasure[0].ActorID)

	out2 := filepath.Join(dir, "after-shred.jsonl")
	code, _, errOut = runKeys(append([]string{"decrypt", "--keyring", keyring, "--in", in, "--out", out2}, ledgerFlags...)...)
	require.Equal(t, exitLeftEncrypted, code, errOut)
	evs = ledgerEvents(t, ledgerDir, stream, actionDecrypt)
	require.Len(t, evs, 2)
	acme := int64(ciphertexts(all[0].encrypted))
	assert.Equal(t, "failure", evs[1].Status)
	assert.Equal(t, fields(acme)+" left encrypted: shredded "+strconv.FormatInt(acme, 10), evs[1].ErrorMessage)
	assert.Equal(t, acme, evs[1].Counts["left_encrypted.shredded"])
	assert.Equal(t, total-acme, evs[1].Counts["fields_decrypted"])
	assert.Contains(t, details(t, evs[1])["left_encrypted"], map[string]any{"reason": "shredded", "key_id": acmeKey, "field": "password", "count": float64(2)})

	// The stream verifies, signed; nothing secret went into it.
	pub := loadPublicKey(t, signing+".pub")
	code, out, errOut = runKeys("audit", "verify", "--dir", ledgerDir, "--key-id", pub.Fingerprint(), "--stream", stream, "--require-signatures")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "stream "+stream+": ")
	text := journalText(t, ledgerDir)
	assertNoPlaintext(t, text)
	assert.NotContains(t, text, fieldcrypt.Prefix, "no ciphertext either")
	var kf struct {
		Keys []struct {
			Material []byte `json:"material"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(keyringBefore, &kf))
	for _, k := range kf.Keys {
		require.Len(t, k.Material, 32)
		assert.NotContains(t, text, jsonBase64(t, k.Material), "no key material")
	}

	// Without a signing key the checkpoints are chained, not signed: verify without signatures.
	unsigned := filepath.Join(t.TempDir(), "audit")
	code, _, errOut = runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", filepath.Join(dir, "third.jsonl"), "--ledger-dir", unsigned)
	require.Equal(t, exitLeftEncrypted, code, errOut)
	code, out, errOut = runKeys("audit", "verify", "--dir", unsigned, "--no-signatures", "--stream", stream)
	require.Equal(t, exitOK, code, out+errOut)
}

func jsonBase64(t *testing.T, b []byte) string {
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	return strings.Trim(string(raw), `"`)
}

// TestDecryptRecordedInPostgres: with --ledger-postgres the entries reach the table before
// the output is released; alone, the journal goes to the user's state directory.
func TestDecryptRecordedInPostgres(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	keyring := newKeyring(t)
	enc := startEncryption(t, keyringConfig(keyring))
	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), enc.encrypt(t, logsBatch("")))
	ledgerDir := filepath.Join(t.TempDir(), "audit")

	code, _, errOut := runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", filepath.Join(dir, "1.jsonl"),
		"--ledger-dir", ledgerDir, "--ledger-postgres", pgtest.DSN(), "--ledger-table", table, "--ledger-stream", "wardenctl-pg")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "(stream wardenctl-pg in "+ledgerDir+" and table "+table+")")
	code, out, errOut := runKeys("audit", "verify", "--dir", ledgerDir, "--postgres", pgtest.DSN(), "--table", table, "--no-signatures", "--stream", "wardenctl-pg")
	require.Equal(t, exitOK, code, out+errOut)
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` WHERE action = 'telemetry.decrypt' AND stream_id = 'wardenctl-pg'`).Scan(&n))
	assert.Equal(t, 1, n)

	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	code, _, errOut = runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", filepath.Join(dir, "2.jsonl"),
		"--ledger-postgres", pgtest.DSN(), "--ledger-table", table, "--ledger-stream", "wardenctl-pg-default")
	require.Equal(t, exitOK, code, errOut)
	journal := filepath.Join(state, "warden", "ledger")
	assert.Contains(t, errOut, "(stream wardenctl-pg-default in "+journal+" and table "+table+")")
	assert.Len(t, ledgerEvents(t, journal, "wardenctl-pg-default", actionDecrypt), 1)
}

// TestLedgerThatCannotRecordFailsTheCommand: a ledger that cannot be opened stops the command
// before it acts (nothing decrypted, nothing shredded); one that cannot take the event after
// the decrypt withholds the output. Either way the command says so and exits 4.
func TestLedgerThatCannotRecordFailsTheCommand(t *testing.T) {
	keyring := newKeyring(t)
	require.Equal(t, exitOK, first3(runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "acme")))
	enc := startEncryption(t, keyringConfig(keyring))
	batch := enc.encrypt(t, logsBatch("acme"))
	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), batch)
	notADir := filepath.Join(dir, "not-a-dir")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o600))
	locked := filepath.Join(t.TempDir(), "audit")
	require.NoError(t, os.MkdirAll(locked, 0o750))
	unlock, err := lockFile(filepath.Join(locked, ".wardenctl-busy.lock"))
	require.NoError(t, err)
	defer unlock()
	keyDir := t.TempDir()
	keyA, keyB := filepath.Join(keyDir, "a.key"), filepath.Join(keyDir, "b.key")
	require.Equal(t, exitOK, first3(runKeys("keys", "signing", "--out", keyA)))
	require.Equal(t, exitOK, first3(runKeys("keys", "signing", "--out", keyB)))
	signedWithA := filepath.Join(t.TempDir(), "audit")
	code, _, errOut := runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", filepath.Join(dir, "a.jsonl"), "--ledger-dir", signedWithA, "--ledger-signing-key", keyA)
	require.Equal(t, exitOK, code, errOut)

	tests := []struct {
		name    string
		ledger  []string
		wantErr string
	}{
		{"journal directory is a file", []string{"--ledger-dir", notADir}, "not a directory"},
		{"signing key inside the journal", []string{"--ledger-dir", keyDir, "--ledger-signing-key", keyA}, "--ledger-signing-key: " + keyA + " is inside --ledger-dir"},
		{"stream busy", []string{"--ledger-dir", locked, "--ledger-stream", "wardenctl-busy"}, "another wardenctl is recording into this stream"},
		{"another signing key", []string{"--ledger-dir", signedWithA, "--ledger-signing-key", keyB}, "audit_ledger"},
		{"database unreachable", []string{"--ledger-dir", t.TempDir(), "--ledger-postgres", "postgres://warden@127.0.0.1:1/audit?sslmode=disable&connect_timeout=2"}, "--ledger-postgres: cannot reach the database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tt.name, " ", "-")+".jsonl")
			code, stdout, errOut := runKeys(append([]string{"decrypt", "--keyring", keyring, "--in", in, "--out", out}, tt.ledger...)...)
			assert.Equal(t, exitUnrecorded, code, errOut)
			assert.Empty(t, stdout)
			assert.Contains(t, errOut, "wardenctl decrypt: the audit ledger cannot record the decrypt, so nothing was decrypted: ")
			assert.Contains(t, errOut, tt.wantErr)
			assert.NoFileExists(t, out)

			code, _, errOut = runKeys(append([]string{"keys", "shred", "--keyring", keyring, "--tenant", "acme"}, tt.ledger...)...)
			assert.Equal(t, exitUnrecorded, code, errOut)
			assert.Contains(t, errOut, "wardenctl keys shred: the audit ledger cannot record the erasure, so nothing was shredded: ")
			kr, err := fieldcrypt.Load(keyring)
			require.NoError(t, err)
			assert.Len(t, keyIDs(kr.Keys(), "acme", fieldcrypt.KeyActive), 1, "acme's key is untouched")
		})
	}

	// A table the role may read but not write: the event is in the journal, but not delivered
	// to PostgreSQL, so the decrypted output is withheld.
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	store, err := ledger.OpenPG(context.Background(), pgtest.DSN(), table)
	require.NoError(t, err)
	require.NoError(t, store.EnsureSchema(context.Background()))
	store.Close()
	readOnly := pgtest.Role(t, conn, "GRANT SELECT ON "+table+", "+table+"_checkpoints")
	defer func(d time.Duration) { ledgerCloseTimeout = d }(ledgerCloseTimeout)
	ledgerCloseTimeout = 2 * time.Second
	journal := filepath.Join(t.TempDir(), "audit")
	pgFlags := []string{"--ledger-dir", journal, "--ledger-postgres", readOnly, "--ledger-table", table, "--ledger-stream", "wardenctl-ro"}
	out := filepath.Join(dir, "withheld.jsonl")
	code, _, errOut = runKeys(append([]string{"decrypt", "--keyring", keyring, "--in", in, "--out", out}, pgFlags...)...)
	assert.Equal(t, exitUnrecorded, code, errOut)
	assert.Contains(t, errOut, "wardenctl decrypt: nothing was written: the audit ledger could not record it: recorded in the journal "+journal+", but table "+table+" holds stream wardenctl-ro up to entry 0 of ")
	assert.NoFileExists(t, out)
	code, stdout, errOut := wardenctlIn(strings.NewReader(batch.encrypted+"\n"), append([]string{"decrypt", "--keyring", keyring}, pgFlags...)...)
	assert.Equal(t, exitUnrecorded, code, errOut)
	assert.Empty(t, stdout, "stdout is held until recorded, and then dropped")
	assert.Len(t, ledgerEvents(t, journal, "wardenctl-ro", actionDecrypt), 2, "durable in the journal, delivered at a later run")
}

// TestHeldOutputIsBounded: with a ledger, stdout is held in memory until the decrypt is
// recorded, up to a bound; past it the decrypt stops, writes nothing, and says to use --out.
func TestHeldOutputIsBounded(t *testing.T) {
	keyring := newKeyring(t)
	enc := startEncryption(t, keyringConfig(keyring))
	batch := enc.encrypt(t, logsBatch(""))
	defer func(n int) { maxHeldOutput = n }(maxHeldOutput)
	maxHeldOutput = len(batch.plain) + 1 // one line and its newline, not two
	ledgerDir := filepath.Join(t.TempDir(), "audit")
	code, stdout, errOut := wardenctlIn(strings.NewReader(batch.encrypted+"\n"+batch.encrypted+"\n"),
		"decrypt", "--keyring", keyring, "--ledger-dir", ledgerDir, "--ledger-stream", "wardenctl-held")
	assert.Equal(t, exitUsage, code, errOut)
	assert.Empty(t, stdout)
	assert.Contains(t, errOut, "the decrypted output is too large to hold in memory until it is recorded (over "+strconv.Itoa(maxHeldOutput)+" bytes): write it to a file with --out FILE")
	evs := ledgerEvents(t, ledgerDir, "wardenctl-held", actionDecrypt)
	require.Len(t, evs, 1)
	assert.Equal(t, "stopped, nothing written: "+errHeldTooLarge.Error(), evs[0].ErrorMessage)

	code, stdout, errOut = wardenctlIn(strings.NewReader(batch.encrypted+"\n"),
		"decrypt", "--keyring", keyring, "--ledger-dir", ledgerDir, "--ledger-stream", "wardenctl-held")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, batch.plain+"\n", stdout)
}
