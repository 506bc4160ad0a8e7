package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
)

// leafPaths lists every command that does something, as "keys shred".
func leafPaths(t *testing.T) []string {
	t.Helper()
	var paths []string
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if sub.HasSubCommands() {
				walk(sub)
				continue
			}
			paths = append(paths, strings.TrimPrefix(sub.CommandPath(), "wardenctl "))
		}
	}
	walk((&cli{}).root())
	require.Len(t, paths, 14, "%v", paths)
	return paths
}

// exitCodes are the exit codes each command's help must list.
var exitCodes = map[string][]string{
	"audit verify":   {"0", "1", "2", "3"},
	"decrypt":        {"0", "1", "2", "4"},
	"keys shred":     {"0", "2", "4"},
	"apikeys create": {"0", "2", "4"},
	"apikeys revoke": {"0", "2", "4"},
	"apikeys rotate": {"0", "2", "4"},
}

func TestHelpOnStdoutAtEveryLevel(t *testing.T) {
	type helpCase struct {
		args []string
		path string // the command described
	}
	cases := []helpCase{
		{[]string{"--help"}, "wardenctl"},
		{[]string{"-h"}, "wardenctl"},
		{[]string{"help"}, "wardenctl"},
		{[]string{"-help"}, "wardenctl"},
	}
	for _, group := range []string{"keys", "audit", "pii", "apikeys"} {
		cases = append(cases,
			helpCase{[]string{group, "--help"}, "wardenctl " + group},
			helpCase{[]string{group, "-h"}, "wardenctl " + group},
			helpCase{[]string{"help", group}, "wardenctl " + group},
			helpCase{[]string{group, "help"}, "wardenctl " + group})
	}
	for _, p := range leafPaths(t) {
		args := strings.Fields(p)
		cases = append(cases,
			helpCase{append(args[:len(args):len(args)], "--help"), "wardenctl " + p},
			helpCase{append(args[:len(args):len(args)], "-h"), "wardenctl " + p},
			helpCase{append([]string{"help"}, args...), "wardenctl " + p})
		if len(args) == 2 {
			cases = append(cases, helpCase{[]string{args[0], "help", args[1]}, "wardenctl " + p})
		}
	}
	// Help wins over the other flags and arguments: nothing is done.
	cases = append(cases, helpCase{[]string{"audit", "verify", "--dir", "/nonexistent", "--help"}, "wardenctl audit verify"},
		helpCase{[]string{"keys", "signing", "-out", filepath.Join(t.TempDir(), "k"), "-help"}, "wardenctl keys signing"})

	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runKeys(tc.args...)
			assert.Equal(t, exitOK, code, stderr)
			assert.Empty(t, stderr)
			assert.Contains(t, stdout, "Usage:\n  "+tc.path)
			assert.Contains(t, stdout, "\nExit status:\n  0  ")
			assert.Contains(t, stdout, "\n  2  ")
			for _, c := range exitCodes[strings.TrimPrefix(tc.path, "wardenctl ")] {
				assert.Contains(t, stdout, "\n  "+c+"  ", "exit code %s", c)
			}
		})
	}
}

func TestHelpDescribesEveryCommand(t *testing.T) {
	code, root, _ := runKeys("--help")
	require.Equal(t, exitOK, code)
	for _, p := range leafPaths(t) {
		assert.Contains(t, root, "\n  "+p+" ", "the root's help lists %s", p)
		code, help, _ := runKeys(append(strings.Fields(p), "--help")...)
		require.Equal(t, exitOK, code)
		// A long description, then the usage.
		desc, _, found := strings.Cut(help, "\n\nUsage:\n")
		require.True(t, found, p)
		assert.Greater(t, strings.Count(desc, "\n"), 0, "%s has a long description", p)
	}
	for _, code := range []string{"0", "1", "2", "3", "4"} {
		assert.Contains(t, root, "\n  "+code+"  ", "the root lists exit code %s", code)
	}
	// Flags are GNU-style long flags.
	_, help, _ := runKeys("audit", "verify", "--help")
	assert.Contains(t, help, "--dir DIR")
	assert.Contains(t, help, `--table NAME`)
	assert.NotContains(t, help, "  -dir")
}

func TestVersion(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "9.8.7"
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}, {"-version"}} {
		code, stdout, stderr := runKeys(args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, stderr, args)
		assert.Equal(t, "wardenctl version 9.8.7\n", stdout, args)
	}
	code, stdout, stderr := runKeys("version", "extra")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `unexpected argument "extra"`)

	version = ""
	assert.NotEmpty(t, buildVersion(), "a build without the Makefile's version still says something")
}

func TestUnknownCommandOrFlag(t *testing.T) {
	tests := []struct {
		args []string
		want []string
		path string // whose usage follows
	}{
		{[]string{"foo"}, []string{`wardenctl: unknown command "foo" for "wardenctl"`}, "wardenctl COMMAND"},
		{[]string{"keyz", "shred"}, []string{`unknown command "keyz" for "wardenctl" (did you mean "keys"?)`}, "wardenctl COMMAND"},
		{[]string{"audit", "veriffy", "--dir", "x"}, []string{`unknown command "veriffy" for "wardenctl audit" (did you mean "verify"?)`}, "wardenctl audit COMMAND"},
		{[]string{"keys", "shredd", "--tenant", "a"}, []string{`(did you mean "shred"?)`}, "wardenctl keys COMMAND"},
		{[]string{"pii", "scna"}, []string{`unknown command "scna" for "wardenctl pii"`}, "wardenctl pii COMMAND"},
		{[]string{"help", "bogus"}, []string{`unknown command "bogus" for "wardenctl"`}, "wardenctl COMMAND"},
		{[]string{"help", "audit", "bogus"}, []string{`unknown command "bogus" for "wardenctl audit"`}, "wardenctl audit COMMAND"},
		{[]string{"audit", "help", "bogus"}, []string{`unknown command "bogus" for "wardenctl audit"`}, "wardenctl audit COMMAND"},
		{[]string{"help", "audit", "verify", "bogus"}, []string{`"wardenctl audit verify" has no command "bogus"`}, "wardenctl audit verify"},
		{nil, []string{"wardenctl: missing command: want one of apikeys, audit, decrypt, keys, pii, version"}, "wardenctl COMMAND"},
		{[]string{"keys"}, []string{"wardenctl keys: missing command: want one of fingerprint, generate, rotate, shred, signing"}, "wardenctl keys COMMAND"},
		{[]string{"audit"}, []string{"wardenctl audit: missing command: want one of schema, verify"}, "wardenctl audit COMMAND"},
		{[]string{"--bogus"}, []string{"wardenctl: unknown flag: --bogus"}, "wardenctl COMMAND"},
		{[]string{"audit", "--bogus"}, []string{"wardenctl audit: unknown flag: --bogus"}, "wardenctl audit COMMAND"},
		{[]string{"audit", "verify", "--dri", "x"}, []string{"wardenctl audit verify: unknown flag: --dri"}, "wardenctl audit verify"},
		{[]string{"audit", "verify", "-dri", "x"}, []string{"wardenctl audit verify: unknown flag: --dri"}, "wardenctl audit verify"},
		{[]string{"keys", "shred", "--pending-window-days", "seven"}, []string{`invalid argument "seven" for "--pending-window-days"`}, "wardenctl keys shred"},
		{[]string{"keys", "signing", "--out"}, []string{"flag needs an argument: --out"}, "wardenctl keys signing"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runKeys(tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
			assert.Contains(t, stderr, "\n\nUsage:\n  "+tt.path, "the usage follows on stderr")
		})
	}
}

func TestSingleDashLongFlags(t *testing.T) {
	root := (&cli{}).root()
	tests := []struct{ in, want []string }{
		{[]string{"audit", "verify", "-dir", "d", "-no-signatures"}, []string{"audit", "verify", "--dir", "d", "--no-signatures"}},
		{[]string{"audit", "verify", "-dir=d"}, []string{"audit", "verify", "--dir=d"}},
		{[]string{"decrypt", "-in", "-", "--out", "-keep"}, []string{"decrypt", "--in", "-", "--out", "-keep"}},
		{[]string{"keys", "shred", "--pending-window-days", "-5"}, []string{"keys", "shred", "--pending-window-days", "-5"}},
		{[]string{"audit", "verify", "-h"}, []string{"audit", "verify", "-h"}},
		{[]string{"pii", "scan", "--", "-file"}, []string{"pii", "scan", "--", "-file"}},
	}
	for _, tt := range tests {
		cmd, _, err := root.Find(tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, longFlags(cmd, tt.in))
	}

	code, stdout, stderr := runKeys("audit", "schema", "-table", "ledger.events")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"ledger"."events"`)
	code, _, stderr = runKeys("pii", "scan", "--", "-no-such-file")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "-no-such-file", "after --, a dash is part of the file name")
	assert.NotContains(t, stderr, "--no-such-file")
}

func TestCount(t *testing.T) {
	assert.Equal(t, "0 entries", count(uint64(0), "entry", "entries"))
	assert.Equal(t, "1 entry", count(uint64(1), "entry", "entries"))
	assert.Equal(t, "2 entries", count(uint64(2), "entry", "entries"))
	assert.Equal(t, "1 checkpoint", count(1, "checkpoint", "checkpoints"))
	assert.Equal(t, "1 line", count(int64(1), "line", "lines"))
}

func TestPrintReport(t *testing.T) {
	tests := []struct {
		name      string
		rep       ledger.StreamReport
		stoppedBy string
		want      string
	}{
		{"one of each", ledger.StreamReport{Stream: "s", Entries: 1, LastSeq: 1, Checkpoints: 1, SignedCheckpoints: 1, KeyIDs: []string{"k1"}}, "",
			"stream s: 1 entry (last 1), 1 checkpoint (1 signed by k1)\n"},
		{"several", ledger.StreamReport{Stream: "s", Entries: 27, LastSeq: 27, Checkpoints: 3, SignedCheckpoints: 2, KeyIDs: []string{"k1", "k2"}}, "",
			"stream s: 27 entries (last 27), 3 checkpoints (2 signed by k1, k2)\n"},
		{"no checkpoint", ledger.StreamReport{Stream: "s", Entries: 2, LastSeq: 2, Warnings: []string{"unsealed"}}, "",
			"stream s: 2 entries (last 2), no checkpoint\n  warning: unsealed\n"},
		{"stopped at once", ledger.StreamReport{Stream: "s", SignedCheckpoints: 1}, "the failure",
			"stream s: no entry checked before the failure\n"},
		{"stopped after one", ledger.StreamReport{Stream: "s", Entries: 1, LastSeq: 1, Checkpoints: 3}, "the failure",
			"stream s: 1 entry checked before the failure (entry 1)\n"},
		{"stopped later", ledger.StreamReport{Stream: "s", Entries: 10, LastSeq: 10, Checkpoints: 3, SignedCheckpoints: 1}, "the error",
			"stream s: 10 entries checked before the error (entries 1..10)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printReport(&b, tt.rep, tt.stoppedBy)
			assert.Equal(t, tt.want, b.String())
		})
	}
}

// TestVerifySummaries: what a verification reports, counted as it is, and on a failure only
// what was checked before it.
func TestVerifySummaries(t *testing.T) {
	tmp := t.TempDir()
	key := filepath.Join(tmp, "signing.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", key)))
	dir := filepath.Join(tmp, "audit")
	writeLedger(t, dir, key, 25, nil)

	code, stdout, stderr := runKeys("audit", "verify", "--dir", dir, "--public-key", key+".pub")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "stream ctl-test: 27 entries (last 27), 3 checkpoints (3 signed by ")
	assert.Contains(t, stdout, "OK "+dir+": 1 stream, 27 entries verified in ")

	// The first checkpoint, over entries 1..10, is signed by a key that is not trusted.
	other := filepath.Join(tmp, "other.key")
	require.Equal(t, exitOK, first(wardenctl("keys", "signing", "--out", other)))
	code, stdout, _ = runKeys("audit", "verify", "--dir", dir, "--public-key", other+".pub")
	require.Equal(t, exitTampered, code, stdout)
	assert.Contains(t, stdout, "stream ctl-test: 10 entries checked before the failure (entries 1..10)\n")
	assert.NotContains(t, stdout, "checkpoints (", "no count of checkpoints met on the way")
	assert.Contains(t, stdout, "FAILED tampered: ")

	// Rolled back behind --state: the checkpoints fail before any entry is read.
	state := filepath.Join(tmp, "verify.state")
	stream := filepath.Join(dir, "ctl-test")
	snapshot := copyDir(t, stream)
	writeLedger(t, dir, key, 5, nil)
	require.Equal(t, exitOK, first(wardenctl("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--state", state)))
	require.NoError(t, os.RemoveAll(stream))
	restoreDir(t, snapshot, stream)
	code, stdout, _ = runKeys("audit", "verify", "--dir", dir, "--public-key", key+".pub", "--state", state)
	require.Equal(t, exitTampered, code, stdout)
	assert.Contains(t, stdout, "stream ctl-test: no entry checked before the failure\n")
	assert.NotContains(t, stdout, "0 entries")
}

func TestPIIScanSummaryCountsInTheSingular(t *testing.T) {
	in := filepath.Join(t.TempDir(), "one.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hello"}}]}]}]}`+"\n"), 0o600))
	code, stdout, stderr := runKeys("pii", "scan", in)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "scanned 1 line (0 malformed): 0 spans, 1 log record, 0 data points; 1 value\n")
}
