package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/apikeys"
)

// createKey runs apikeys create and returns the key it printed.
func createKey(t *testing.T, file string, args ...string) string {
	t.Helper()
	code, out, errOut := runKeys(append([]string{"apikeys", "create", "--file", file}, args...)...)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, 1, strings.Count(out, "\n"), "one line on stdout: %q", out)
	return strings.TrimSuffix(out, "\n")
}

func verifyKey(t *testing.T, file, key string, at time.Time) (apikeys.Record, apikeys.Result) {
	t.Helper()
	set, err := apikeys.Load(file)
	require.NoError(t, err)
	return set.Verify(key, at)
}

func readRecords(t *testing.T, file string) []apikeys.Record {
	t.Helper()
	f, err := apikeys.ReadFile(file)
	require.NoError(t, err)
	return f.Keys
}

func TestAPIKeysCreate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	before := time.Now().UTC()
	key := createKey(t, file, "--tenant", "acme", "--scopes", "traces,logs,metrics", "--expires", "90d")

	rec, res := verifyKey(t, file, key, time.Now())
	require.Equal(t, apikeys.OK, res)
	assert.Equal(t, "acme", rec.Tenant)
	assert.Equal(t, []apikeys.Scope{apikeys.ScopeTraces, apikeys.ScopeLogs, apikeys.ScopeMetrics}, rec.Scopes)
	assert.WithinRange(t, rec.Expires, before.Add(90*24*time.Hour-time.Second), time.Now().Add(90*24*time.Hour))

	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), key)
	assert.NotContains(t, string(raw), secretOf(key), "not even the secret part")
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// A second key is added to the file, never expiring without --expires.
	other := createKey(t, file, "--tenant", "globex", "--scopes", "audit")
	recs := readRecords(t, file)
	require.Len(t, recs, 2)
	assert.True(t, recs[1].Expires.IsZero())
	_, res = verifyKey(t, file, other, time.Now().Add(10*365*24*time.Hour))
	assert.Equal(t, apikeys.OK, res)
	_, res = verifyKey(t, file, key, time.Now().Add(91*24*time.Hour))
	assert.Equal(t, apikeys.Expired, res)
}

// TestAPIKeysCreateMakesTheDirectory: the README's `create --file /etc/warden/apikeys.yaml`
// on a host without /etc/warden.
func TestAPIKeysCreateMakesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "warden")
	file := filepath.Join(dir, "apikeys.yaml")
	key := createKey(t, file, "--tenant", "acme", "--scopes", "traces")
	_, res := verifyKey(t, file, key, time.Now())
	assert.Equal(t, apikeys.OK, res)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	// Other commands do not make directories: the file must be there.
	code, _, errOut := runKeys("apikeys", "list", "--file", filepath.Join(t.TempDir(), "none", "apikeys.yaml"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "no such file")
}

func TestAPIKeysCreateMessages(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	code, out, errOut := runKeys("apikeys", "create", "--file", file, "--tenant", "acme", "--scopes", "logs")
	require.Equal(t, exitOK, code, errOut)
	id := readRecords(t, file)[0].ID
	assert.Contains(t, errOut, "key "+id+" for tenant acme (logs, expires never) added to "+file)
	assert.Contains(t, errOut, "not recorded in an audit ledger")
	assert.NotContains(t, errOut, strings.TrimSpace(out), "the key goes to stdout only")
}

func TestAPIKeysBadArguments(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "apikeys.yaml")
	broken := filepath.Join(dir, "broken.yaml")
	require.NoError(t, os.WriteFile(broken, []byte("format: other\nversion: 1\n"), 0o600))
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"create", "--tenant", "acme", "--scopes", "logs"}, []string{"--file FILE is required"}},
		{[]string{"create", "--file", file, "--scopes", "logs"}, []string{"--tenant is required"}},
		{[]string{"create", "--file", file, "--tenant", "acme"}, []string{"--scopes is required"}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs,profiles"}, []string{`--scopes: unknown scope "profiles" (want traces, logs, metrics or audit)`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs,logs"}, []string{`--scopes: "logs" is given twice`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", ""}, []string{"--scopes is required"}},
		{[]string{"create", "--file", file, "--tenant", "ac me", "--scopes", "logs"}, []string{`--tenant "ac me"`, "is not a tenant"}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--expires", "soon"}, []string{`--expires "soon": want days (90d), hours (720h) or an RFC 3339 time`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--expires", "2020-01-01T00:00:00Z"}, []string{`--expires "2020-01-01T00:00:00Z": in the past`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--expires", "-1h"}, []string{"in the past"}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--ledger-stream", "s"}, []string{"--ledger-stream go with --ledger-dir"}},
		{[]string{"create", "--file", broken, "--tenant", "acme", "--scopes", "logs"}, []string{"api keys file " + broken, `format: got "other"`}},
		{[]string{"create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--nope"}, []string{"unknown flag: --nope"}},
		{[]string{"list"}, []string{"--file FILE is required"}},
		{[]string{"list", "--file", file, "--format", "yaml"}, []string{`--format "yaml": want text or json`}},
		{[]string{"list", "--file", file}, []string{"api keys file:", "no such file"}},
		{[]string{"list", "--file", broken}, []string{`format: got "other"`}},
		{[]string{"revoke", "--file", file}, []string{"--id is required"}},
		{[]string{"revoke", "--id", "k-1"}, []string{"--file FILE is required"}},
		{[]string{"revoke", "--file", file, "--id", "k-1"}, []string{"no such file"}},
		{[]string{"rotate", "--file", file, "--id", "k-1", "--grace", "-1h"}, []string{"--grace -1h0m0s: want 0 or more"}},
		{[]string{"rotate", "--file", file, "--id", "k-1", "--grace", "a day"}, []string{`invalid argument "a day" for "--grace"`}},
		{[]string{"rotate", "--file", file}, []string{"--id is required"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runKeys(append([]string{"apikeys"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			for _, w := range tt.want {
				assert.Contains(t, errOut, w)
			}
		})
	}
	_, err := os.Stat(file)
	assert.ErrorIs(t, err, os.ErrNotExist, "no file made by a refused command")
	raw, err := os.ReadFile(broken)
	require.NoError(t, err)
	assert.Equal(t, "format: other\nversion: 1\n", string(raw), "a broken file is left as it is")
}

func TestAPIKeysUnknownID(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	createKey(t, file, "--tenant", "acme", "--scopes", "logs")
	before, err := os.ReadFile(file)
	require.NoError(t, err)
	for _, cmd := range []string{"revoke", "rotate"} {
		code, out, errOut := runKeys("apikeys", cmd, "--file", file, "--id", "k-00000000")
		assert.Equal(t, exitUsage, code)
		assert.Empty(t, out)
		assert.Contains(t, errOut, `wardenctl apikeys `+cmd+`: api keys file `+file+`: no key with id "k-00000000" (wardenctl apikeys list --file `+file+` shows the ids)`)
	}
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestAPIKeysParseExpires(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"90d", now.Add(90 * 24 * time.Hour), ""},
		{"1d", now.Add(24 * time.Hour), ""},
		{"720h", now.Add(720 * time.Hour), ""},
		{"1h30m", now.Add(90 * time.Minute), ""},
		{"2027-03-01T00:00:00Z", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2027-03-01T02:00:00+02:00", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"0d", time.Time{}, "in the past"},
		{"0s", time.Time{}, "in the past"},
		{"2026-12-01T10:00:00Z", time.Time{}, "in the past"},
		{"99999999999999999999d", time.Time{}, "too far ahead"},
		{"90 days", time.Time{}, "want days (90d)"},
		{"2027-03-01", time.Time{}, "want days (90d)"},
		{"", time.Time{}, "want days (90d)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseExpires(tt.in, now)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "%s, want %s", got, tt.want)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestAPIKeysListAndRevoke(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	active := createKey(t, file, "--tenant", "acme", "--scopes", "traces,logs")
	revoked := createKey(t, file, "--tenant", "acme", "--scopes", "metrics", "--expires", "720h")
	expiring := createKey(t, file, "--tenant", "globex", "--scopes", "audit", "--expires", "1s")
	recs := readRecords(t, file)
	require.Len(t, recs, 3)

	code, _, errOut := runKeys("apikeys", "revoke", "--file", file, "--id", recs[1].ID)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "key "+recs[1].ID+" (tenant acme) revoked in "+file)
	rec, res := verifyKey(t, file, revoked, time.Now())
	assert.Equal(t, apikeys.Revoked, res)
	assert.WithinDuration(t, time.Now(), rec.Revoked, 2*time.Second)
	_, res = verifyKey(t, file, active, time.Now())
	assert.Equal(t, apikeys.OK, res, "the other keys are untouched")

	// Revoking twice changes nothing and says so.
	before, err := os.ReadFile(file)
	require.NoError(t, err)
	code, out, errOut := runKeys("apikeys", "revoke", "--file", file, "--id", recs[1].ID)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "key "+recs[1].ID+" (tenant acme) was already revoked on "+rec.Revoked.Format(time.RFC3339)+"; nothing changed")
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	require.Eventually(t, func() bool {
		_, res := verifyKey(t, file, expiring, time.Now())
		return res == apikeys.Expired
	}, 5*time.Second, 50*time.Millisecond)

	code, out, errOut = runKeys("apikeys", "list", "--file", file)
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4, out)
	assert.Regexp(t, `^ID +TENANT +SCOPES +CREATED +EXPIRES +STATE$`, lines[0])
	assert.Regexp(t, `^`+recs[0].ID+` +acme +traces,logs +\S+Z +never +active$`, lines[1])
	assert.Regexp(t, `^`+recs[1].ID+` +acme +metrics +\S+Z +\S+Z +revoked$`, lines[2])
	assert.Regexp(t, `^`+recs[2].ID+` +globex +audit +\S+Z +\S+Z +expired$`, lines[3])
	assertNoSecrets(t, out, file, active, revoked, expiring)

	code, out, errOut = runKeys("apikeys", "list", "--file", file, "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 3)
	assert.Equal(t, map[string]any{
		"id": recs[0].ID, "tenant": "acme", "scopes": []any{"traces", "logs"},
		"created": recs[0].Created.Format(time.RFC3339), "expires": nil, "state": "active",
	}, listed[0])
	assert.Equal(t, "revoked", listed[1]["state"])
	assert.Equal(t, rec.Revoked.Format(time.RFC3339), listed[1]["revoked"])
	assert.Equal(t, "expired", listed[2]["state"])
	assert.Equal(t, recs[2].Expires.Format(time.RFC3339), listed[2]["expires"])
	assertNoSecrets(t, out, file, active, revoked, expiring)

	// An empty file lists the header alone, or [].
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	require.NoError(t, apikeys.NewFile().Save(empty))
	_, out, _ = runKeys("apikeys", "list", "--file", empty, "--format", "json")
	assert.Equal(t, "[]\n", out)
}

// secretOf returns the secret part of a key, wk_<id>_<secret>: its last 43 characters
// (base64url, which may itself hold '_').
func secretOf(key string) string { return key[len(key)-43:] }

// assertNoSecrets checks that out holds neither a key nor a hash of the file.
func assertNoSecrets(t *testing.T, out, file string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		assert.NotContains(t, out, k)
		assert.NotContains(t, out, secretOf(k))
	}
	for _, r := range readRecords(t, file) {
		assert.NotContains(t, out, r.SHA256)
	}
}

func TestAPIKeysRotate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	old := createKey(t, file, "--tenant", "acme", "--scopes", "traces,audit", "--expires", "90d")
	oldID := readRecords(t, file)[0].ID

	before := time.Now().UTC()
	code, out, errOut := runKeys("apikeys", "rotate", "--file", file, "--id", oldID, "--grace", "2h")
	require.Equal(t, exitOK, code, errOut)
	after := time.Now().UTC()
	require.Equal(t, 1, strings.Count(out, "\n"), out)
	made := strings.TrimSuffix(out, "\n")
	assert.NotEqual(t, old, made)

	rec, res := verifyKey(t, file, made, time.Now())
	require.Equal(t, apikeys.OK, res)
	assert.Equal(t, "acme", rec.Tenant)
	assert.Equal(t, []apikeys.Scope{apikeys.ScopeTraces, apikeys.ScopeAudit}, rec.Scopes)
	assert.Equal(t, 90*24*time.Hour, rec.Expires.Sub(rec.Created).Round(time.Second), "the new key lives as long as the old one was made to")
	oldRec, res := verifyKey(t, file, old, time.Now())
	require.Equal(t, apikeys.OK, res, "the old key still works during the grace period")
	assert.WithinRange(t, oldRec.Expires, before.Add(2*time.Hour).Truncate(time.Second), after.Add(2*time.Hour))
	_, res = verifyKey(t, file, old, after.Add(2*time.Hour+time.Second))
	assert.Equal(t, apikeys.Expired, res)
	assert.Contains(t, errOut, "new key "+rec.ID+" for tenant acme (traces,audit) added to "+file)
	assert.Contains(t, errOut, "The old key "+oldID+" now expires "+oldRec.Expires.Format(time.RFC3339))
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), made)

	// Rotated again with a longer grace, the old key's expiry is not extended.
	code, _, errOut = runKeys("apikeys", "rotate", "--file", file, "--id", oldID, "--grace", "48h")
	require.Equal(t, exitOK, code, errOut)
	again, _ := verifyKey(t, file, old, time.Now())
	assert.Equal(t, oldRec.Expires, again.Expires)
	assert.Contains(t, errOut, "The old key "+oldID+" keeps its sooner expiry, "+oldRec.Expires.Format(time.RFC3339))
	assert.Len(t, readRecords(t, file), 3)

	// A key without expiry gets one; the new key has none. --grace 0s ends the old key now.
	forever := createKey(t, file, "--tenant", "globex", "--scopes", "logs")
	foreverID := readRecords(t, file)[3].ID
	code, out, errOut = runKeys("apikeys", "rotate", "--file", file, "--id", foreverID, "--grace", "0s")
	require.Equal(t, exitOK, code, errOut)
	newRec, res := verifyKey(t, file, strings.TrimSpace(out), time.Now())
	require.Equal(t, apikeys.OK, res)
	assert.True(t, newRec.Expires.IsZero())
	_, res = verifyKey(t, file, forever, time.Now().Add(time.Second))
	assert.Equal(t, apikeys.Expired, res)

	// A revoked key is not rotated.
	require.Equal(t, exitOK, first3(runKeys("apikeys", "revoke", "--file", file, "--id", newRec.ID)))
	code, out, errOut = runKeys("apikeys", "rotate", "--file", file, "--id", newRec.ID)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "key "+newRec.ID+" is revoked")
	assert.Len(t, readRecords(t, file), 5)
}

// TestAPIKeysConcurrentCreates: the lock keeps every record of creates run at once.
func TestAPIKeysConcurrentCreates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	const n = 12
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, out, errOut := runKeys("apikeys", "create", "--file", file, "--tenant", fmt.Sprintf("t%d", i), "--scopes", "logs")
			assert.Equal(t, exitOK, code, errOut)
			keys[i] = strings.TrimSpace(out)
		})
	}
	wg.Wait()
	require.Len(t, readRecords(t, file), n)
	for i, k := range keys {
		rec, res := verifyKey(t, file, k, time.Now())
		assert.Equal(t, apikeys.OK, res)
		assert.Equal(t, fmt.Sprintf("t%d", i), rec.Tenant)
	}
}

// TestAPIKeysLockWaitIsBounded: a held lock is waited for, then reported.
func TestAPIKeysLockWaitIsBounded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	unlock, err := lockKeysFile(file)
	require.NoError(t, err)
	defer unlock()
	wait := apikeysLockWait
	apikeysLockWait = 100 * time.Millisecond
	defer func() { apikeysLockWait = wait }()
	code, out, errOut := runKeys("apikeys", "create", "--file", file, "--tenant", "acme", "--scopes", "logs")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "another wardenctl has been changing it for over 100ms ("+file+".lock is locked)")
}

// TestAPIKeysRecorded: with --ledger-dir, creation, revocation and rotation are recorded as
// api_key.created and api_key.revoked by the OS user, on the key id and tenant; the stream
// verifies and holds neither a key nor a hash.
func TestAPIKeysRecorded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apikeys.yaml")
	ledgerDir := filepath.Join(t.TempDir(), "audit")
	const stream = "wardenctl-apikeys"
	lf := []string{"--ledger-dir", ledgerDir, "--ledger-stream", stream}
	who := currentOperator()

	code, out, errOut := runKeys(append([]string{"apikeys", "create", "--file", file, "--tenant", "acme", "--scopes", "traces,logs", "--expires", "30d"}, lf...)...)
	require.Equal(t, exitOK, code, errOut)
	first := strings.TrimSpace(out)
	assert.Equal(t, 1, strings.Count(out, "\n"), "only the key on stdout, with a ledger too")
	assert.Contains(t, errOut, "recorded as api_key.created in the audit ledger (stream "+stream+" in "+ledgerDir+")")
	id := readRecords(t, file)[0].ID

	code, out, errOut = runKeys(append([]string{"apikeys", "rotate", "--file", file, "--id", id, "--grace", "1h"}, lf...)...)
	require.Equal(t, exitOK, code, errOut)
	second := strings.TrimSpace(out)
	recs := readRecords(t, file)
	require.Len(t, recs, 2)

	code, _, errOut = runKeys(append([]string{"apikeys", "revoke", "--file", file, "--id", recs[1].ID}, lf...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "recorded as api_key.revoked")
	code, _, errOut = runKeys(append([]string{"apikeys", "revoke", "--file", file, "--id", recs[1].ID}, lf...)...)
	require.Equal(t, exitOK, code, errOut)
	recs = readRecords(t, file)

	created := ledgerEvents(t, ledgerDir, stream, actionAPIKeyCreated)
	require.Len(t, created, 2)
	for i, ev := range created {
		assert.Equal(t, "user", ev.ActorType)
		assert.Equal(t, who.user+"@"+who.host, ev.ActorID)
		assert.Equal(t, "wardenctl", ev.ActorUserAgent)
		assert.Equal(t, "api_key", ev.ResourceType)
		assert.Equal(t, recs[i].ID, ev.ResourceID)
		assert.Equal(t, "acme", ev.ResourceName)
		assert.Equal(t, "success", ev.Status)
		assert.Equal(t, "acme", ev.Attributes["tenant"])
		assert.Equal(t, "traces,logs", ev.Attributes["scopes"])
		assert.Equal(t, file, ev.Attributes["keys_file"])
		assert.Equal(t, who.user, ev.Attributes["os_user"])
		// The expiry the key was made with: the first key's is brought forward by the rotation.
		assert.Equal(t, recs[i].Created.Add(30*24*time.Hour).Format(time.RFC3339), ev.Attributes["expires"])
	}
	assert.Empty(t, created[0].Attributes[attrRotatedFrom])
	assert.Equal(t, id, created[1].Attributes[attrRotatedFrom])
	assert.Equal(t, recs[0].Expires.Format(time.RFC3339), created[1].Attributes[attrPreviousExpires])

	revoked := ledgerEvents(t, ledgerDir, stream, actionAPIKeyRevoked)
	require.Len(t, revoked, 2)
	assert.Equal(t, recs[1].ID, revoked[0].ResourceID)
	assert.Equal(t, recs[1].Revoked.Format(time.RFC3339), revoked[0].Attributes["revoked"])
	assert.Empty(t, revoked[0].Attributes[attrAlreadyRevokedAt])
	assert.Equal(t, recs[1].Revoked.Format(time.RFC3339), revoked[1].Attributes[attrAlreadyRevokedAt])

	code, out, errOut = runKeys("audit", "verify", "--dir", ledgerDir, "--no-signatures", "--stream", stream)
	require.Equal(t, exitOK, code, out+errOut)
	assertNoSecrets(t, journalText(t, ledgerDir), file, first, second)
}

// TestAPIKeysLedgerUnavailable: a ledger that cannot be opened stops the change, exit 4.
func TestAPIKeysLedgerUnavailable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "apikeys.yaml")
	notADir := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	code, out, errOut := runKeys("apikeys", "create", "--file", file, "--tenant", "acme", "--scopes", "logs", "--ledger-dir", notADir)
	assert.Equal(t, exitUnrecorded, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "wardenctl apikeys create: the audit ledger cannot record the creation, so no key was created")
	_, err := os.Stat(file)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestAPIKeysHelp(t *testing.T) {
	for _, cmd := range []string{"create", "list", "revoke", "rotate"} {
		code, out, errOut := runKeys("apikeys", cmd, "--help")
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "Usage:\n  wardenctl apikeys "+cmd+" --file F")
		assert.Contains(t, out, "\nExit status:\n  0  ")
		assert.Contains(t, out, "\n  2  ")
		if cmd != "list" {
			assert.Contains(t, out, "\n  4  ")
			assert.Contains(t, out, "--ledger-dir DIR")
		}
	}
	code, out, _ := runKeys("--help")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "\n  apikeys create ")
}
