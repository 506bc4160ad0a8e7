//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// The forgery tests attack real ledgers the way someone with write access to the collector's
// disk (or to the PostgreSQL tables) would, re-implementing the published format with the
// ledger's own encoders, and check that `wardenctl audit verify`, run as the README recommends
// (the key pinned by the fingerprint recorded after the first start, plus the state of an
// earlier verification or a witness), exits 1 and names what was changed.

// forgeryConfig writes the ledger to DIR/audit, signs checkpoints with KEY (kept in a directory
// of its own), checkpoints every 5 entries and every second, and starts a new segment every
// second, so that a few bursts of telemetry leave several segments and checkpoints. %[1]s adds
// keys to audit_ledger (indented by four spaces), %[2]s to its checkpoint section (by six).
const forgeryConfig = `
extensions:
  audit_ledger:
    stream_id: e2e
    file:
      directory: ${env:DIR}/audit
      max_segment_age: 1s
    checkpoint:
      entries: 5
      interval: 1s
      signing_key_file: ${env:KEY}
      create_key: true
%[2]s
%[1]s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:GRPC}
processors:
  batch:
    timeout: 200ms
exporters:
  audit/traces:
    ledger: audit_ledger
    destination:
      file: {path: "${env:DIR}/out/traces.jsonl", create_directory: true}
  audit/logs:
    ledger: audit_ledger
    destination:
      file: {path: "${env:DIR}/out/logs.jsonl", create_directory: true}
service:
  telemetry: {metrics: {level: none}}
  extensions: [audit_ledger]
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [audit/traces]}
    logs: {receivers: [otlp], processors: [batch], exporters: [audit/logs]}
`

const forgeryStream = "e2e"

// forgeryLedger is a collector's run directory (the journal in audit/, the output in out/)
// and the key that signed it.
type forgeryLedger struct {
	dir string
	key string // the private key file; its public key is key+".pub"
}

func (l forgeryLedger) audit() string  { return filepath.Join(l.dir, "audit") }
func (l forgeryLedger) stream() string { return filepath.Join(l.dir, "audit", forgeryStream) }

func (l forgeryLedger) checkpointsFile() string {
	return filepath.Join(l.stream(), "checkpoints.jsonl")
}

// copy returns a copy of the run directory, for one attack.
func (l forgeryLedger) copy(t *testing.T) forgeryLedger {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "run")
	copyAll(t, l.dir, dst)
	return forgeryLedger{dir: dst, key: l.key}
}

// forgeryCollector returns the config and environment of a collector writing to dir with the
// signing key key.
func forgeryCollector(t *testing.T, dir, key, ledgerExtra, checkpointExtra string, env ...string) (string, map[string]string) {
	t.Helper()
	vars := map[string]string{"DIR": dir, "KEY": key, "GRPC": FreeEndpoint(t)}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	return WriteConfig(t, fmt.Sprintf(forgeryConfig, ledgerExtra, checkpointExtra)), vars
}

// forgerySend sends one burst of traces and logs.
func forgerySend(t *testing.T, env map[string]string) {
	t.Helper()
	Telemetrygen(t, "traces", "--otlp-endpoint", env["GRPC"], "--otlp-insecure", "--rate", "0", "--traces", "5", "--service", "shop")
	Telemetrygen(t, "logs", "--otlp-endpoint", env["GRPC"], "--otlp-insecure", "--rate", "0", "--logs", "7")
}

// writeForgeryLedger runs the collector over bursts of telemetry a little more than a second
// apart and stops it cleanly.
func writeForgeryLedger(t *testing.T, name, key string, bursts int, ledgerExtra, checkpointExtra string) forgeryLedger {
	t.Helper()
	l := forgeryLedger{dir: filepath.Join(t.TempDir(), name), key: key}
	cfg, env := forgeryCollector(t, l.dir, key, ledgerExtra, checkpointExtra)
	c := StartCollector(t, name, cfg, env)
	for i := range bursts {
		if i > 0 {
			time.Sleep(1200 * time.Millisecond)
		}
		forgerySend(t, env)
	}
	c.Stop()
	return l
}

// forgeryPin returns the fingerprint of a public key as `wardenctl keys fingerprint` prints
// it: what an operator records after the first start and pins with --key-id.
func forgeryPin(t *testing.T, pubFile string) string {
	t.Helper()
	code, out := wardenctl(t, "keys", "fingerprint", "--public-key", pubFile)
	require.Equal(t, 0, code, out)
	m := regexp.MustCompile(`(?m)^fingerprint:\s+(sha256:[0-9a-f]{64})$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no fingerprint in:\n%s", out)
	return m[1]
}

// auditVerifyWithin runs `wardenctl audit verify` with at most 2 GiB of address space and fails the
// test when it does not return within timeout.
func auditVerifyWithin(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	bin := filepath.Join(root, "bin", "wardenctl")
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -v 2097152; exec "$0" "$@"`, bin, "audit", "verify"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wardenctl audit verify %s did not return within %s:\n%s", strings.Join(args, " "), timeout, out.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}

func auditVerify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return auditVerifyWithin(t, 60*time.Second, args...)
}

// requireTampered checks that verification exits 1 and that its verdict names each of want.
func requireTampered(t *testing.T, code int, out string, want ...string) {
	t.Helper()
	require.Equal(t, 1, code, out)
	verdict := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAILED tampered: ") {
			verdict = line
		}
	}
	require.NotEmpty(t, verdict, "no FAILED tampered line in:\n%s", out)
	for _, w := range want {
		assert.Contains(t, verdict, w)
	}
}

// copyAll copies src to dst as `cp -a` does: modes, modification times and symbolic links
// are kept.
func copyAll(t *testing.T, src, dst string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, path)
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, raw, info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chtimes(target, info.ModTime(), info.ModTime())
		}
		return fmt.Errorf("%s: cannot copy a %s", path, d.Type())
	})
	require.NoError(t, err)
	for i := len(dirs) - 1; i >= 0; i-- {
		info, err := os.Stat(dirs[i])
		require.NoError(t, err)
		rel, _ := filepath.Rel(src, dirs[i])
		require.NoError(t, os.Chtimes(filepath.Join(dst, rel), info.ModTime(), info.ModTime()))
	}
}

// journalEntries reads every entry of a stream directory in order.
func journalEntries(t *testing.T, dir string) []ledger.Entry {
	t.Helper()
	r, err := ledger.NewEntryReader(dir, 1)
	require.NoError(t, err)
	defer r.Close()
	var out []ledger.Entry
	for {
		line, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		e, err := ledger.ParseEntry(line)
		require.NoError(t, err)
		out = append(out, e)
	}
}

func journalCheckpoints(t *testing.T, dir string) []ledger.Checkpoint {
	t.Helper()
	cps, err := ledger.ReadCheckpoints(dir)
	require.NoError(t, err)
	return cps
}

func journalSegments(t *testing.T, dir string) []ledger.Segment {
	t.Helper()
	segs, err := ledger.Segments(dir)
	require.NoError(t, err)
	return segs
}

// journalSegmentPath is the name the ledger gives the segment that starts with entry firstSeq.
func journalSegmentPath(dir string, firstSeq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("entries-%020d.jsonl", firstSeq))
}

// firstDeliveryLine returns the segment file and line number of the first delivery recorded
// as a success, and its sequence number.
func firstDeliveryLine(t *testing.T, dir string) (string, int, uint64) {
	t.Helper()
	r, err := ledger.NewEntryReader(dir, 1)
	require.NoError(t, err)
	defer r.Close()
	for {
		line, pos, err := r.Next()
		require.NoError(t, err, "no successful delivery in the ledger")
		e, err := ledger.ParseEntry(line)
		require.NoError(t, err)
		if e.Event.Action == "telemetry.export" && e.Event.Status == "success" {
			return pos.File, pos.Line, e.Seq
		}
	}
}

func editJournalLine(t *testing.T, path string, n int, edit func(line []byte) []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	require.Greater(t, len(lines), n)
	edited := edit(append([]byte(nil), lines[n-1]...))
	require.NotEqual(t, lines[n-1], edited, "the edit changed nothing")
	lines[n-1] = edited
	require.NoError(t, os.WriteFile(path, bytes.Join(lines, nil), 0o640))
}

func appendJournal(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// falsifyDeliveries turns every delivery after entry from into a failure that moved nothing: what the
// forger wants the record to say.
func falsifyDeliveries(entries []ledger.Entry, from uint64) int {
	n := 0
	for i := range entries {
		ev := &entries[i].Event
		if entries[i].Seq > from && ev.Action == "telemetry.export" {
			ev.Status, ev.ErrorMessage = "failure", "destination unreachable"
			ev.Counts = map[string]int64{"bytes": 0, "records": 0}
			n++
		}
	}
	return n
}

// rewriteJournal writes entries to a stream directory in place of its segments, renumbered and
// chained again, and issues its checkpoints again at the same places: the first keep as they
// were, the others sealed by signer (nil: unsigned).
func rewriteJournal(t *testing.T, dir string, entries []ledger.Entry, keep int, signer ledger.Signer) {
	t.Helper()
	cps := journalCheckpoints(t, dir)
	for _, s := range journalSegments(t, dir) {
		require.NoError(t, os.Remove(s.Path))
	}
	var lines []byte
	prev := ledger.ZeroHash
	for i := range entries {
		e := &entries[i]
		e.Seq, e.PrevHash = uint64(i+1), prev
		var err error
		lines, err = e.Seal(lines)
		require.NoError(t, err)
		prev = e.Hash
	}
	require.NoError(t, os.WriteFile(journalSegmentPath(dir, 1), lines, 0o640))
	var out []byte
	var last ledger.Checkpoint
	for i, c := range cps {
		require.LessOrEqual(t, c.Seq, uint64(len(entries)))
		if i < keep {
			require.Equal(t, c.TipHash, entries[c.Seq-1].Hash, "a kept checkpoint still matches the entries")
			out, last = c.AppendLine(out), c
			continue
		}
		cp := ledger.Checkpoint{StreamID: c.StreamID, FirstSeq: last.Seq + 1, Seq: c.Seq, TipHash: entries[c.Seq-1].Hash,
			PrevCheckpoint: last.Hash, Time: c.Time, Reason: c.Reason}
		line, err := cp.Seal(context.Background(), signer)
		require.NoError(t, err)
		out, last = append(out, line...), cp
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints.jsonl"), out, 0o640))
}

// truncateJournal keeps entries 1..seq of a stream directory and the checkpoints that cover no
// more: a shorter ledger that is whole.
func truncateJournal(t *testing.T, dir string, seq uint64) {
	t.Helper()
	for _, s := range journalSegments(t, dir) {
		if s.FirstSeq > seq {
			require.NoError(t, os.Remove(s.Path))
			continue
		}
		raw, err := os.ReadFile(s.Path)
		require.NoError(t, err)
		var kept []byte
		for line := range bytes.Lines(raw) {
			n, ok := ledger.PeekSeq(line)
			require.True(t, ok)
			if n <= seq {
				kept = append(kept, line...)
			}
		}
		require.NoError(t, os.WriteFile(s.Path, kept, 0o640))
	}
	path := filepath.Join(dir, "checkpoints.jsonl")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var kept []byte
	for line := range bytes.Lines(raw) {
		c, err := ledger.ParseCheckpoint(line)
		require.NoError(t, err)
		if c.Seq <= seq {
			kept = append(kept, line...)
		}
	}
	require.NoError(t, os.WriteFile(path, kept, 0o640))
}

// forgedTail is what a forger appends after a stream's stop entry: a start entry (announcing
// no key, having none to sign with), deliveries that never happened, and one unsigned
// checkpoint over them.
func forgedTail(t *testing.T, entries []ledger.Entry, lastCp ledger.Checkpoint, deliveries int) ([]ledger.Entry, ledger.Checkpoint) {
	t.Helper()
	last := entries[len(entries)-1]
	require.Equal(t, ledger.ActionStop, last.Event.Action, "the ledger ends with its stop entry")
	var start, delivery *ledger.Event
	for i := range entries {
		switch ev := entries[i].Event; {
		case ev.Action == ledger.ActionStart && start == nil:
			start = &ev
		case ev.Action == "telemetry.export" && delivery == nil:
			delivery = &ev
		}
	}
	require.NotNil(t, start)
	require.NotNil(t, delivery)
	start.Details = nil
	attrs := map[string]string{}
	for k, v := range start.Attributes {
		if k != "signing_key_id" {
			attrs[k] = v
		}
	}
	start.Attributes = attrs

	clock, err := ledger.ParseTime(last.LedgerTime)
	require.NoError(t, err)
	var out []ledger.Entry
	prev := last
	add := func(ev ledger.Event) {
		clock = clock.Add(time.Second)
		e := ledger.Entry{Version: ledger.SchemaVersion, StreamID: last.StreamID, Seq: prev.Seq + 1, RecordID: ledger.NewRecordID(),
			Time: ledger.FormatTime(clock), LedgerTime: ledger.FormatTime(clock), Event: ev, PrevHash: prev.Hash}
		_, err := e.Seal(nil)
		require.NoError(t, err)
		out, prev = append(out, e), e
	}
	add(*start)
	for range deliveries {
		ev := *delivery
		ev.Counts = map[string]int64{"bytes": 1 << 20, "records": 5000}
		add(ev)
	}
	cp := ledger.Checkpoint{StreamID: last.StreamID, FirstSeq: lastCp.Seq + 1, Seq: prev.Seq, TipHash: prev.Hash,
		PrevCheckpoint: lastCp.Hash, Time: ledger.FormatTime(clock), Reason: ledger.ReasonShutdown}
	_, err = cp.Seal(context.Background(), nil)
	require.NoError(t, err)
	return out, cp
}

// verifiedState verifies l with the pin and --state, as the operator did before the attack,
// and returns the state file.
func verifiedState(t *testing.T, l forgeryLedger, pin string) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "audit.state")
	code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", state)
	require.Equal(t, 0, code, out)
	return state
}

// copyState returns a copy of a state file, so that each attack starts from the same one.
func copyState(t *testing.T, state string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "audit.state")
	copyAll(t, state, dst)
	return dst
}

// TestForgerySignatureDowngrade: once a stream has a signed checkpoint, unsigned checkpoints
// after it are a forgery, whether they cover rewritten history or entries appended after the
// stop entry.
func TestForgerySignatureDowngrade(t *testing.T) {
	key := filepath.Join(t.TempDir(), "keys", "signing.key")
	base := writeForgeryLedger(t, "downgrade", key, 3, "", "")
	pin := forgeryPin(t, key+".pub")
	cps := journalCheckpoints(t, base.stream())
	require.GreaterOrEqual(t, len(cps), 3, "a few checkpoints to downgrade")
	code, out := auditVerify(t, "--dir", base.audit(), "--key-id", pin)
	require.Equal(t, 0, code, out)

	t.Run("later entries rewritten and later checkpoints unsigned", func(t *testing.T) {
		l := base.copy(t)
		entries := journalEntries(t, l.stream())
		require.Positive(t, falsifyDeliveries(entries, cps[0].Seq))
		rewriteJournal(t, l.stream(), entries, 1, nil)

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, l.checkpointsFile()+" line 2",
			fmt.Sprintf("checkpoint for entries %d..%d is not signed", cps[0].Seq+1, cps[1].Seq), "signature downgrade")
	})

	t.Run("forged entries after the stop entry with one unsigned checkpoint", func(t *testing.T) {
		l := base.copy(t)
		entries := journalEntries(t, l.stream())
		tail, cp := forgedTail(t, entries, cps[len(cps)-1], 3)
		var lines []byte
		for i := range tail {
			var err error
			lines, err = tail[i].Seal(lines)
			require.NoError(t, err)
		}
		segs := journalSegments(t, l.stream())
		appendJournal(t, segs[len(segs)-1].Path, lines)
		appendJournal(t, l.checkpointsFile(), cp.AppendLine(nil))

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("%s line %d", l.checkpointsFile(), len(cps)+1),
			fmt.Sprintf("checkpoint for entries %d..%d is not signed", cp.FirstSeq, cp.Seq), "signature downgrade")
	})
}

// TestForgeryRollback: a journal cut back, or another run's journal in the stream's place, is
// whole by itself; the pinned key catches a journal signed by another key, the state of the
// verification made before catches the rest, and the collector refuses to start on a journal
// that lost its last segment unless told to start a new stream.
func TestForgeryRollback(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	key := filepath.Join(keys, "signing.key")
	base := writeForgeryLedger(t, "rollback", key, 4, "", "")
	pin := forgeryPin(t, key+".pub")
	state := verifiedState(t, base, pin)
	cps := journalCheckpoints(t, base.stream())
	segs := journalSegments(t, base.stream())
	require.GreaterOrEqual(t, len(cps), 3)
	require.GreaterOrEqual(t, len(segs), 3, "several segments")
	anchor := fmt.Sprintf("entries 1..%d, checkpoint %s", cps[len(cps)-1].Seq, cps[len(cps)-1].Hash[:16])

	// Another run of the same config, with the same key and with another one.
	sameKey := writeForgeryLedger(t, "same-key", key, 1, "", "")
	otherKey := writeForgeryLedger(t, "other-key", filepath.Join(t.TempDir(), "keys", "signing.key"), 2, "", "")

	t.Run("newest entries and their checkpoints dropped", func(t *testing.T) {
		l := base.copy(t)
		cut := cps[len(cps)-2].Seq
		truncateJournal(t, l.stream(), cut)
		require.Len(t, journalEntries(t, l.stream()), int(cut))
		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		require.Equal(t, 0, code, "alone, the cut-back journal is whole:\n%s", out)

		code, out = auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", copyState(t, state))
		requireTampered(t, code, out, "stream "+forgeryStream, anchor, "does not extend the checkpoint verified before",
			fmt.Sprintf("its newest checkpoint covers entries up to %d", cut))
	})

	t.Run("last segment and its checkpoints dropped", func(t *testing.T) {
		l := base.copy(t)
		cut := segs[len(segs)-1].FirstSeq - 1
		truncateJournal(t, l.stream(), cut)
		require.Len(t, journalSegments(t, l.stream()), len(segs)-1)

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", copyState(t, state))
		requireTampered(t, code, out, "stream "+forgeryStream, anchor, "does not extend the checkpoint verified before")
	})

	t.Run("stream replaced by another run's ledger signed by another key", func(t *testing.T) {
		l := base.copy(t)
		require.NoError(t, os.RemoveAll(l.stream()))
		copyAll(t, otherKey.stream(), l.stream())
		other, err := ledger.LoadPublicKey(otherKey.key + ".pub")
		require.NoError(t, err)

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, l.checkpointsFile()+" line 1",
			"signed by key "+other.ID()+", which is not a trusted key")
	})

	t.Run("stream replaced by another run's ledger signed by the same key", func(t *testing.T) {
		l := base.copy(t)
		require.NoError(t, os.RemoveAll(l.stream()))
		copyAll(t, sameKey.stream(), l.stream())

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", copyState(t, state))
		requireTampered(t, code, out, "stream "+forgeryStream, anchor, "does not extend the checkpoint verified before")
	})

	t.Run("collector restarted on a journal whose last segment was deleted", func(t *testing.T) {
		l := base.copy(t)
		last := segs[len(segs)-1]
		require.NoError(t, os.Remove(filepath.Join(l.stream(), filepath.Base(last.Path))))
		cpBefore, err := os.ReadFile(l.checkpointsFile())
		require.NoError(t, err)

		cfg, env := forgeryCollector(t, l.dir, key, "", "")
		c := startCollector(t, "damaged", cfg, env)
		select {
		case <-c.exited:
		case <-time.After(60 * time.Second):
			t.Fatalf("the collector neither refused to start nor stopped:\n%s", c.Log())
		}
		require.Error(t, c.waitErr, "the collector must refuse to start on a damaged journal:\n%s", c.Log())
		log := c.Log()
		assert.Contains(t, log, "the journal of stream "+forgeryStream+" is damaged")
		assert.Contains(t, log, fmt.Sprintf("but the journal ends at entry %d (entries were removed)", last.FirstSeq-1))
		assert.Contains(t, log, "on_damage: new_stream")
		assert.Len(t, journalSegments(t, l.stream()), len(segs)-1, "nothing was written")
		cpAfter, err := os.ReadFile(l.checkpointsFile())
		require.NoError(t, err)
		assert.Equal(t, cpBefore, cpAfter, "nothing was written")

		// With on_damage: new_stream, a new stream starts and names the old one's last
		// checkpoint that the journal still matches.
		var good ledger.Checkpoint
		for _, cp := range cps {
			if cp.Seq < last.FirstSeq {
				good = cp
			}
		}
		cfg, env = forgeryCollector(t, l.dir, key, "    on_damage: new_stream", "")
		c = StartCollector(t, "new-stream", cfg, env)
		forgerySend(t, env)
		c.Stop()
		raw, err := os.ReadFile(filepath.Join(l.stream(), "successor"))
		require.NoError(t, err)
		next := strings.TrimSpace(string(raw))
		require.True(t, strings.HasPrefix(next, forgeryStream+".r"), next)
		entries := journalEntries(t, filepath.Join(l.audit(), next))
		require.NotEmpty(t, entries)
		first := entries[0]
		assert.Equal(t, ledger.ActionStart, first.Event.Action)
		assert.Equal(t, forgeryStream, first.Event.Attributes["previous_stream"])
		assert.Equal(t, good.Hash, first.Event.Attributes["previous_stream_checkpoint_hash"])
		assert.Equal(t, int64(good.Seq), first.Event.Counts["previous_stream_checkpoint_seq"])
		assert.Contains(t, first.Event.Attributes["previous_stream_damage"], "entries were removed")

		code, out := auditVerify(t, "--dir", filepath.Join(l.audit(), next), "--key-id", pin)
		assert.Equal(t, 0, code, "the new stream verifies:\n%s", out)
		code, out = auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream+" ", "truncated")
	})
}

// TestForgeryKeys: trust comes from the pinned fingerprint, not from a key file beside the
// ledger; a key the pin does not reach is tampering; a lost key stops the collector rather
// than being replaced; a rotation signed by the previous key keeps the old pin sufficient.
func TestForgeryKeys(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	key := filepath.Join(keys, "signing.key")
	base := writeForgeryLedger(t, "keys", key, 3, "", "")
	pin := forgeryPin(t, key+".pub")
	state := verifiedState(t, base, pin)
	signer, err := ledger.LoadSigningKey(key)
	require.NoError(t, err)
	cps := journalCheckpoints(t, base.stream())
	require.GreaterOrEqual(t, len(cps), 3)

	t.Run("ledger re-signed with a key pair swapped in", func(t *testing.T) {
		l := base.copy(t)
		// The forger puts a key pair of their own where the collector's was and rewrites the
		// ledger to announce and use it.
		swapped := filepath.Join(t.TempDir(), "keys")
		copyAll(t, keys, swapped)
		require.NoError(t, os.Remove(filepath.Join(swapped, "signing.key")))
		require.NoError(t, os.Remove(filepath.Join(swapped, "signing.key.pub")))
		forger, err := ledger.GenerateSigningKey(filepath.Join(swapped, "signing.key"))
		require.NoError(t, err)
		announcement, err := json.Marshal(ledger.KeyAnnouncement(forger.Public()))
		require.NoError(t, err)
		details, err := ledger.CanonicalJSON(announcement)
		require.NoError(t, err)
		entries := journalEntries(t, l.stream())
		announced := 0
		for i := range entries {
			e := &entries[i]
			if k, err := ledger.AnnouncedKey(e); err == nil && k != nil {
				e.Event.Details = details
				announced++
			}
			if e.KeyID != "" {
				e.KeyID = forger.Public().ID()
			}
			if e.Event.Attributes["signing_key_id"] != "" {
				e.Event.Attributes["signing_key_id"] = forger.Public().ID()
			}
		}
		require.Positive(t, announced)
		require.Positive(t, falsifyDeliveries(entries, 0))
		rewriteJournal(t, l.stream(), entries, 0, forger)
		// With the swapped-in public key itself, the forgery holds together.
		code, out := auditVerify(t, "--dir", l.audit(), "--public-key", filepath.Join(swapped, "signing.key.pub"))
		require.Equal(t, 0, code, out)

		code, out = auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, l.checkpointsFile()+" line 1",
			"signed by key "+forger.Public().ID()+", which is not a trusted key")
	})

	t.Run("ledger rewritten and re-signed with the collector's own key", func(t *testing.T) {
		l := base.copy(t)
		entries := journalEntries(t, l.stream())
		require.Positive(t, falsifyDeliveries(entries, 0))
		rewriteJournal(t, l.stream(), entries, 0, signer)

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", copyState(t, state))
		last := cps[len(cps)-1]
		requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("entries 1..%d, checkpoint %s", last.Seq, last.Hash[:16]),
			"does not extend the checkpoint verified before")
	})

	t.Run("a checkpoint signed by an unknown key", func(t *testing.T) {
		l := base.copy(t)
		stray, err := ledger.GenerateSigningKey(filepath.Join(t.TempDir(), "stray.key"))
		require.NoError(t, err)
		last := cps[len(cps)-1]
		line, err := last.Seal(context.Background(), stray)
		require.NoError(t, err)
		editJournalLine(t, l.checkpointsFile(), len(cps), func([]byte) []byte { return line })

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("%s line %d", l.checkpointsFile(), len(cps)),
			fmt.Sprintf("checkpoint for entries %d..%d is signed by key %s", last.FirstSeq, last.Seq, stray.Public().ID()))
	})

	t.Run("signing key file deleted", func(t *testing.T) {
		l := base.copy(t)
		lostKeys := filepath.Join(t.TempDir(), "keys")
		copyAll(t, keys, lostKeys)
		lost := filepath.Join(lostKeys, "signing.key")
		require.NoError(t, os.Remove(lost))

		cfg, env := forgeryCollector(t, l.dir, lost, "", "")
		c := startCollector(t, "key-deleted", cfg, env)
		select {
		case <-c.exited:
		case <-time.After(60 * time.Second):
			t.Fatalf("the collector started without its signing key:\n%s", c.Log())
		}
		require.Error(t, c.waitErr, "the collector must refuse to start without the key the ledger is signed with:\n%s", c.Log())
		assert.Contains(t, c.Log(), fmt.Sprintf("checkpoint.signing_key_file %s is missing, but stream %s's checkpoints are signed by key %s",
			lost, forgeryStream, signer.Public().ID()))
		_, err := os.Stat(lost)
		assert.ErrorIs(t, err, os.ErrNotExist, "create_key does not replace the key the ledger was signed with")
	})

	t.Run("a legitimate rotation verifies with the old pin alone", func(t *testing.T) {
		l := base.copy(t)
		next := filepath.Join(t.TempDir(), "keys", "signing.key")
		code, out := wardenctl(t, "keys", "signing", "--out", next)
		require.Equal(t, 0, code, out)
		nextPin := forgeryPin(t, next+".pub")

		cfg, env := forgeryCollector(t, l.dir, next, "", "      previous_signer:\n        signing_key_file: ${env:PREVIOUS_KEY}", "PREVIOUS_KEY", key)
		c := StartCollector(t, "rotated", cfg, env)
		forgerySend(t, env)
		c.Stop()

		code, out = auditVerify(t, "--dir", l.audit(), "--key-id", pin, "--state", copyState(t, state))
		require.Equal(t, 0, code, out)
		assert.Contains(t, out, "trusted key "+nextPin, "the stream ends signed by the new key")
		// The new key alone does not reach the checkpoints the old one signed.
		code, out = auditVerify(t, "--dir", l.audit(), "--key-id", nextPin)
		requireTampered(t, code, out, "stream "+forgeryStream, l.checkpointsFile()+" line 1", "which is not a trusted key")
	})
}

// TestForgeryStoredForm: every line must be the canonical encoding of its fields, every file
// a regular file the ledger wrote; verify reads nothing unbounded and never hangs.
func TestForgeryStoredForm(t *testing.T) {
	key := filepath.Join(t.TempDir(), "keys", "signing.key")
	base := writeForgeryLedger(t, "stored-form", key, 2, "", "")
	pin := forgeryPin(t, key+".pub")
	code, out := auditVerify(t, "--dir", base.audit(), "--key-id", pin)
	require.Equal(t, 0, code, out)
	entries := journalEntries(t, base.stream())
	lastSeq := entries[len(entries)-1].Seq
	cps := journalCheckpoints(t, base.stream())

	for _, tc := range []struct {
		name string
		edit func(line []byte) []byte
	}{
		{`unknown field "approved_by"`, func(l []byte) []byte {
			return bytes.Replace(l, []byte(`,"prev":`), []byte(`,"approved_by":"cfo@example.com","prev":`), 1)
		}},
		{"duplicate key", func(l []byte) []byte {
			return bytes.Replace(l, []byte(`"status":"success"`), []byte(`"status":"failure","status":"success"`), 1)
		}},
		{"case-variant key", func(l []byte) []byte {
			return bytes.Replace(l, []byte(`"status":"success"`), []byte(`"Status":"success"`), 1)
		}},
		{"added whitespace", func(l []byte) []byte {
			return bytes.Replace(l, []byte(`,"seq":`), []byte(`, "seq": `), 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base.copy(t)
			path, line, _ := firstDeliveryLine(t, l.stream())
			editJournalLine(t, path, line, tc.edit)

			code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
			requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("%s line %d", path, line), "stored form")
		})
	}

	t.Run("a duplicated line", func(t *testing.T) {
		l := base.copy(t)
		path, line, seq := firstDeliveryLine(t, l.stream())
		editJournalLine(t, path, line, func(l []byte) []byte { return append(append([]byte(nil), l...), l...) })

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, fmt.Sprintf("stream %s entry %d (%s line %d)", forgeryStream, seq, path, line+1),
			fmt.Sprintf("entry %d appears again", seq))
	})

	t.Run("a duplicated segment file", func(t *testing.T) {
		l := base.copy(t)
		first := journalSegments(t, l.stream())[0]
		dup := journalSegmentPath(l.stream(), lastSeq+1)
		copyAll(t, first.Path, dup)

		code, out := auditVerify(t, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, dup+" line 1",
			fmt.Sprintf("the segment is named for entry %d but starts with entry %d", lastSeq+1, first.FirstSeq))
	})

	t.Run("a segment that is a symbolic link to /dev/zero", func(t *testing.T) {
		l := base.copy(t)
		link := journalSegmentPath(l.stream(), lastSeq+1)
		require.NoError(t, os.Symlink("/dev/zero", link))

		start := time.Now()
		code, out := auditVerifyWithin(t, 10*time.Second, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, link, "not a regular file")
		assert.Less(t, time.Since(start), 5*time.Second, "verify returns promptly")
	})

	t.Run("a segment that is a FIFO", func(t *testing.T) {
		l := base.copy(t)
		fifo := journalSegmentPath(l.stream(), lastSeq+1)
		require.NoError(t, syscall.Mkfifo(fifo, 0o600))

		code, out := auditVerifyWithin(t, 10*time.Second, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, fifo, "not a regular file")
	})

	t.Run("a 2 MiB checkpoint line", func(t *testing.T) {
		l := base.copy(t)
		line := cps[len(cps)-1].AppendLine(nil)
		padded := bytes.Replace(line, []byte(`"reason":"`), append([]byte(`"reason":"`), bytes.Repeat([]byte("x"), 2<<20)...), 1)
		appendJournal(t, l.checkpointsFile(), padded)

		code, out := auditVerifyWithin(t, 10*time.Second, "--dir", l.audit(), "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("%s line %d", l.checkpointsFile(), len(cps)+1),
			"not a checkpoint")
	})
}

// TestForgeryPostgres attacks the ledger's PostgreSQL tables: the INSERT-only writer appending
// an unsigned tail, and the owner or a superuser deleting the newest rows behind the
// triggers' back or recreating the tables with fewer rows. The state of an earlier
// verification, the file journal (--dir with --postgres) and a PostgreSQL witness each catch
// a rollback.
func TestForgeryPostgres(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	witness := pgtest.Table(t, conn)
	dsn := pgtest.DSN()
	key := filepath.Join(t.TempDir(), "keys", "signing.key")
	base := writeForgeryLedger(t, "postgres", key, 3,
		fmt.Sprintf(`    postgres: {dsn: "%s", table: %s, batch_size: 50}`, dsn, table),
		fmt.Sprintf(`      witness: {postgres: {dsn: "%s", table: %s}}`, dsn, witness))
	pin := forgeryPin(t, key+".pub")
	entries := journalEntries(t, base.stream())
	cps := journalCheckpoints(t, base.stream())
	require.GreaterOrEqual(t, len(cps), 3)
	lastSeq, lastCp := entries[len(entries)-1].Seq, cps[len(cps)-1]
	cut := cps[len(cps)-2].Seq

	var witnessed uint64
	require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM `+witness+` WHERE stream_id = $1`, forgeryStream).Scan(&witnessed))
	require.Greater(t, witnessed, cut, "the witness holds the checkpoints the attacks remove")
	code, out := auditVerify(t, "--dir", base.audit(), "--postgres", dsn, "--table", table, "--key-id", pin,
		"--witness-postgres", dsn, "--witness-table", witness)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, fmt.Sprintf("%d entries (last %d)", lastSeq, lastSeq), "the table holds the whole journal")

	// copyTables makes an attack's own copy of the ledger tables (same DDL, same rows).
	copyTables := func(t *testing.T, suffix string) string {
		t.Helper()
		name := table + "_" + suffix
		t.Cleanup(func() {
			_, _ = conn.Exec(ctx, `DROP TABLE IF EXISTS `+name+`, `+name+`_checkpoints CASCADE`)
			_, _ = conn.Exec(ctx, `DROP FUNCTION IF EXISTS `+name+`_refuse_change() CASCADE`)
		})
		ddl, err := ledger.SchemaSQL(name)
		require.NoError(t, err)
		for _, stmt := range []string{ddl,
			`INSERT INTO ` + name + ` SELECT * FROM ` + table,
			`INSERT INTO ` + name + `_checkpoints SELECT * FROM ` + table + `_checkpoints`} {
			_, err := conn.Exec(ctx, stmt)
			require.NoError(t, err)
		}
		return name
	}
	// stateOf verifies the tables with --state before the attack.
	stateOf := func(t *testing.T, attacked string) string {
		t.Helper()
		state := filepath.Join(t.TempDir(), "audit.state")
		code, out := auditVerify(t, "--postgres", dsn, "--table", attacked, "--key-id", pin, "--state", state)
		require.Equal(t, 0, code, out)
		return state
	}
	// requireRollbackCaught checks the three ways a table cut back to entry cut is caught.
	requireRollbackCaught := func(t *testing.T, attacked, state string) {
		t.Helper()
		t.Run("by the state of the verification before", func(t *testing.T) {
			code, out := auditVerify(t, "--postgres", dsn, "--table", attacked, "--key-id", pin, "--state", state)
			requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("entries 1..%d, checkpoint %s", lastCp.Seq, lastCp.Hash[:16]),
				"does not extend the checkpoint verified before", fmt.Sprintf("its newest checkpoint covers entries up to %d", cut))
		})
		t.Run("by the file journal", func(t *testing.T) {
			code, out := auditVerify(t, "--dir", base.audit(), "--postgres", dsn, "--table", attacked, "--key-id", pin)
			requireTampered(t, code, out, "stream "+forgeryStream,
				fmt.Sprintf("table %s holds entries up to %d, but entries up to %d were delivered to it", attacked, cut, lastSeq),
				"rows were removed from the table")
		})
		t.Run("by the witness", func(t *testing.T) {
			code, out := auditVerify(t, "--postgres", dsn, "--table", attacked, "--key-id", pin,
				"--witness-postgres", dsn, "--witness-table", witness)
			requireTampered(t, code, out, "stream "+forgeryStream, "table "+witness+", checkpoint for entries",
				"the witness holds a checkpoint for entries up to", "rolled back")
		})
	}

	t.Run("INSERT-only writer appends forged entries after the stop entry with one unsigned checkpoint", func(t *testing.T) {
		attacked := copyTables(t, "w")
		writer := pgtest.Role(t, conn, `GRANT INSERT, SELECT ON `+attacked+`, `+attacked+`_checkpoints`)
		for _, stmt := range []string{`DELETE FROM ` + attacked, `UPDATE ` + attacked + `_checkpoints SET reason = 'x'`} {
			err := pgExecAs(ctx, writer, stmt)
			require.Error(t, err, "the writer can only insert: %s", stmt)
		}
		tail, cp := forgedTail(t, entries, lastCp, 3)
		store, err := ledger.OpenPG(ctx, writer, attacked)
		require.NoError(t, err)
		require.NoError(t, store.InsertEntries(ctx, tail))
		require.NoError(t, store.InsertCheckpoints(ctx, []ledger.Checkpoint{cp}))
		store.Close()

		code, out := auditVerify(t, "--postgres", dsn, "--table", attacked, "--key-id", pin)
		requireTampered(t, code, out, "stream "+forgeryStream, fmt.Sprintf("table %s_checkpoints, seq %d", attacked, cp.Seq),
			fmt.Sprintf("checkpoint for entries %d..%d is not signed", cp.FirstSeq, cp.Seq), "signature downgrade")
	})

	t.Run("owner disables the triggers, deletes the tail of both tables and enables them again", func(t *testing.T) {
		attacked := copyTables(t, "o")
		state := stateOf(t, attacked)
		owner := pgtest.Role(t, conn)
		ownerCfg, err := pgx.ParseConfig(owner)
		require.NoError(t, err)
		for _, tbl := range []string{attacked, attacked + "_checkpoints"} {
			_, err := conn.Exec(ctx, `ALTER TABLE `+tbl+` OWNER TO `+ownerCfg.User)
			require.NoError(t, err)
		}
		err = pgExecAs(ctx, owner, fmt.Sprintf(`DELETE FROM %s WHERE seq > %d`, attacked, cut))
		require.Error(t, err, "the triggers refuse a delete while they are enabled")
		err = pgExecAs(ctx, owner,
			`ALTER TABLE `+attacked+` DISABLE TRIGGER USER`,
			`ALTER TABLE `+attacked+`_checkpoints DISABLE TRIGGER USER`,
			fmt.Sprintf(`DELETE FROM %s WHERE seq > %d`, attacked, cut),
			fmt.Sprintf(`DELETE FROM %s_checkpoints WHERE seq > %d`, attacked, cut),
			`ALTER TABLE `+attacked+` ENABLE TRIGGER USER`,
			`ALTER TABLE `+attacked+`_checkpoints ENABLE TRIGGER USER`)
		require.NoError(t, err)
		requireRollbackCaught(t, attacked, state)
	})

	t.Run("superuser with session_replication_role = replica deletes the tail", func(t *testing.T) {
		attacked := copyTables(t, "r")
		state := stateOf(t, attacked)
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		for _, stmt := range []string{`SET LOCAL session_replication_role = replica`,
			fmt.Sprintf(`DELETE FROM %s WHERE seq > %d`, attacked, cut),
			fmt.Sprintf(`DELETE FROM %s_checkpoints WHERE seq > %d`, attacked, cut)} {
			_, err := tx.Exec(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		require.NoError(t, tx.Commit(ctx))
		requireRollbackCaught(t, attacked, state)
	})

	t.Run("tables dropped and recreated with fewer rows", func(t *testing.T) {
		attacked := copyTables(t, "d")
		state := stateOf(t, attacked)
		ddl, err := ledger.SchemaSQL(attacked)
		require.NoError(t, err)
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		for _, stmt := range []string{
			fmt.Sprintf(`CREATE TEMP TABLE kept_entries ON COMMIT DROP AS SELECT * FROM %s WHERE seq <= %d`, attacked, cut),
			fmt.Sprintf(`CREATE TEMP TABLE kept_checkpoints ON COMMIT DROP AS SELECT * FROM %s_checkpoints WHERE seq <= %d`, attacked, cut),
			`DROP TABLE ` + attacked + `, ` + attacked + `_checkpoints CASCADE`,
			ddl,
			`INSERT INTO ` + attacked + ` SELECT * FROM kept_entries`,
			`INSERT INTO ` + attacked + `_checkpoints SELECT * FROM kept_checkpoints`,
		} {
			_, err := tx.Exec(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		require.NoError(t, tx.Commit(ctx))
		requireRollbackCaught(t, attacked, state)
	})
}

// pgExecAs runs statements in order on a connection of its own to dsn, stopping at the first
// error.
func pgExecAs(ctx context.Context, dsn string, stmts ...string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, stmt := range stmts {
		if _, err := c.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
