//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// witnessConfig is a collector whose ledger checkpoints every second and hands each checkpoint
// to two witnesses: the audit_checkpoints receiver, whose pipeline writes them to a file in
// another directory, and a PostgreSQL table. The signing key lives apart from the ledger.
const witnessConfig = `
extensions:
  audit_ledger:
    stream_id: e2e-witness
    file:
      directory: ${env:LEDGER_DIR}
      max_segment_age: 2s
    checkpoint:
      interval: 1s
      signing_key_file: ${env:KEY_DIR}/signing.key
      create_key: true
      witness:
        postgres:
          dsn: ${env:WITNESS_DSN}
          table: ${env:WITNESS_TABLE}
          create_schema: true
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:GRPC}
  audit_checkpoints:
    ledger: audit_ledger
processors:
  batch:
    timeout: 200ms
exporters:
  audit/logs:
    ledger: audit_ledger
    destination:
      file: {path: "${env:OUT_DIR}/logs.jsonl", create_directory: true}
  file/witness:
    path: ${env:WITNESS_DIR}/witness.jsonl
    flush_interval: 200ms
service:
  extensions: [audit_ledger]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [audit/logs]
    logs/witness:
      receivers: [audit_checkpoints]
      exporters: [file/witness]
`

const witnessStream = "e2e-witness"

// fileWitness reads the checkpoints the witness file holds so far; a line the file exporter
// is still writing reads as none yet.
func fileWitness(path string) []ledger.Checkpoint {
	w, err := ledger.ReadWitnessFile(path)
	if err != nil {
		return nil
	}
	return w.Checkpoints[witnessStream]
}

func newestSeq(cps []ledger.Checkpoint) uint64 {
	if len(cps) == 0 {
		return 0
	}
	return cps[len(cps)-1].Seq
}

// keyFingerprint asks wardenctl for the fingerprint that `verify --key-id` pins.
func keyFingerprint(t *testing.T, pubFile string) string {
	t.Helper()
	code, out := wardenctl(t, "keys", "fingerprint", "--public-key", pubFile)
	require.Equal(t, 0, code, out)
	m := regexp.MustCompile(`(?m)^fingerprint:\s+(\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no fingerprint in:\n%s", out)
	pub, err := ledger.LoadPublicKey(pubFile)
	require.NoError(t, err)
	require.Equal(t, pub.Fingerprint(), m[1])
	return m[1]
}

// segmentAfter returns the first segment of the stream that starts after entry seq.
func segmentAfter(t *testing.T, streamDir string, seq uint64) (ledger.Segment, bool) {
	t.Helper()
	segs, err := ledger.Segments(streamDir)
	require.NoError(t, err)
	for _, s := range segs {
		if s.FirstSeq > seq {
			return s, true
		}
	}
	return ledger.Segment{}, false
}

// rollBack does what an attacker with the collector's disk can: delete the segments from
// entry from on, and the checkpoints that cover any of their entries, leaving a shorter
// ledger that is whole.
func rollBack(t *testing.T, streamDir string, from uint64) {
	t.Helper()
	segs, err := ledger.Segments(streamDir)
	require.NoError(t, err)
	deleted := 0
	for _, s := range segs {
		if s.FirstSeq >= from {
			require.NoError(t, os.Remove(s.Path))
			deleted++
		}
	}
	require.Positive(t, deleted)
	require.Less(t, deleted, len(segs), "older segments remain")

	cpFile := filepath.Join(streamDir, "checkpoints.jsonl")
	raw, err := os.ReadFile(cpFile)
	require.NoError(t, err)
	var kept bytes.Buffer
	dropped := 0
	for line := range bytes.Lines(raw) {
		cp, err := ledger.ParseCheckpoint(bytes.TrimSuffix(line, []byte("\n")))
		require.NoError(t, err)
		if cp.Seq >= from {
			dropped++
			continue
		}
		kept.Write(line)
	}
	require.Positive(t, dropped, "checkpoints covered the deleted segments")
	require.Positive(t, kept.Len(), "checkpoints of the older segments remain")
	require.NoError(t, os.WriteFile(cpFile, kept.Bytes(), 0o640))
}

// TestWitnessCatchesRollback runs the ledger with both witnesses, checks that the file witness
// holds the journal's checkpoints up to those written after the receiver stopped (the shutdown
// checkpoint), that verify accepts the ledger held against both witnesses, and that after a
// rollback which verify alone cannot see, each witness makes verify fail and say the ledger
// was rolled back.
func TestWitnessCatchesRollback(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	ledgerDir, keyDir, witnessDir, outDir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	grpc := FreeEndpoint(t)
	env := map[string]string{
		"LEDGER_DIR": ledgerDir, "KEY_DIR": keyDir, "WITNESS_DIR": witnessDir, "OUT_DIR": outDir,
		"WITNESS_DSN": pgtest.DSN(), "WITNESS_TABLE": table, "GRPC": grpc,
	}
	witnessFile := filepath.Join(witnessDir, "witness.jsonl")
	streamDir := filepath.Join(ledgerDir, witnessStream)
	logsOut := filepath.Join(outDir, "logs.jsonl")

	c := StartCollector(t, "witnessed", WriteConfig(t, witnessConfig), env)
	send := func() {
		Telemetrygen(t, "logs", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--logs", "20")
	}
	// waitWitnessed waits until the file witness holds a checkpoint covering entry seq.
	waitWitnessed := func(what string, seq func() uint64) {
		t.Helper()
		Eventually(t, what, 1, func() int {
			if newestSeq(fileWitness(witnessFile)) >= seq() {
				return 1
			}
			return 0
		}, 30*time.Second, c)
	}

	// Two rounds, more than max_segment_age apart, so that the second starts a new segment.
	recorded := func() int { return int(deliveredRecords(ledgerEntries(t, ledgerDir))["logs"]) }
	send()
	Eventually(t, "logs delivered", 20, LogCount(t, logsOut), 30*time.Second, c)
	Eventually(t, "deliveries recorded", 20, recorded, 30*time.Second, c)
	firstRound := uint64(len(ledgerEntries(t, ledgerDir)))
	waitWitnessed("first round witnessed", func() uint64 { return firstRound })
	time.Sleep(2500 * time.Millisecond)
	send()
	Eventually(t, "logs delivered", 40, LogCount(t, logsOut), 30*time.Second, c)
	Eventually(t, "deliveries recorded", 40, recorded, 30*time.Second, c)
	waitWitnessed("second round witnessed", func() uint64 {
		if seg, ok := segmentAfter(t, streamDir, firstRound); ok {
			return seg.FirstSeq
		}
		return ^uint64(0)
	})
	c.Stop()

	entries := ledgerEntries(t, ledgerDir)
	assert.Equal(t, int64(40), deliveredRecords(entries)["logs"], "the ledger accounts for every delivered record")

	// The file witness holds the journal's checkpoints, identical and in order, up to those
	// written after the receiver stopped: at least the one covering the stop entry.
	journal, err := ledger.ReadCheckpoints(streamDir)
	require.NoError(t, err)
	stop := entries[len(entries)-1]
	require.Equal(t, "audit_ledger.stop", stop.Event.Action)
	require.Equal(t, stop.Seq, journal[len(journal)-1].Seq, "the last checkpoint covers the stop")
	witnessed := fileWitness(witnessFile)
	require.NotEmpty(t, witnessed)
	require.Less(t, len(witnessed), len(journal))
	assert.Equal(t, journal[:len(witnessed)], witnessed)
	assert.Less(t, newestSeq(witnessed), stop.Seq)

	// The PostgreSQL witness received every checkpoint, the shutdown one included.
	var pgCount int
	var pgNewest uint64
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*), coalesce(max(seq), 0) FROM `+table+` WHERE stream_id = $1`, witnessStream).Scan(&pgCount, &pgNewest))
	assert.Equal(t, len(journal), pgCount)
	assert.Equal(t, journal[len(journal)-1].Seq, pgNewest)

	keyID := keyFingerprint(t, filepath.Join(keyDir, "signing.key.pub"))
	verify := func(extra ...string) (int, string) {
		return wardenctl(t, append([]string{"audit", "verify", "--dir", ledgerDir, "--key-id", keyID}, extra...)...)
	}
	fileFlags := []string{"--witness-file", witnessFile}
	pgFlags := []string{"--witness-postgres", pgtest.DSN(), "--witness-table", table}
	bothFlags := append(append([]string(nil), fileFlags...), pgFlags...)

	code, out := verify(bothFlags...)
	require.Equal(t, 0, code, out)

	// The attacker removes the second round: the segments from its first entry on.
	secondRound, ok := segmentAfter(t, streamDir, firstRound)
	require.True(t, ok)
	rollBack(t, streamDir, secondRound.FirstSeq)
	after := ledgerEntries(t, ledgerDir)
	require.Equal(t, secondRound.FirstSeq-1, after[len(after)-1].Seq)
	assert.Equal(t, int64(20), deliveredRecords(after)["logs"], "only the first round is left")

	// Alone, the rolled-back ledger is whole: only a witness can tell.
	code, out = verify()
	require.Equal(t, 0, code, "the rollback leaves a ledger that verifies by itself:\n%s", out)

	for _, tc := range []struct {
		name  string
		flags []string
		names string
	}{
		{"file witness", fileFlags, witnessFile},
		{"postgres witness", pgFlags, table},
		{"both witnesses", bothFlags, "stream " + witnessStream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := verify(tc.flags...)
			assert.Equal(t, 1, code, out)
			assert.Contains(t, out, "rolled back", out)
			assert.Contains(t, out, tc.names, out)
		})
	}
}
