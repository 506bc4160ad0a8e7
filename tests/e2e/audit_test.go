//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// auditConfig is a collector whose three pipelines deliver through audit exporters wrapping
// file exporters, with the ledger in dir/audit and its signing key in dir.
const auditConfig = `
extensions:
  audit_ledger:
    stream_id: e2e
    file:
      directory: ${env:DIR}/audit
    checkpoint:
      entries: 20
      interval: 1s
      signing_key_file: ${env:DIR}/signing.key
      create_key: true
    %s
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
  audit/metrics:
    ledger: audit_ledger
    destination:
      file: {path: "${env:DIR}/out/metrics.jsonl", create_directory: true}
service:
  extensions: [audit_ledger]
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [audit/traces]}
    logs: {receivers: [otlp], processors: [batch], exporters: [audit/logs]}
    metrics: {receivers: [otlp], processors: [batch], exporters: [audit/metrics]}
`

type auditRun struct {
	dir, grpc string
	env       map[string]string
	config    string
}

func newAuditRun(t *testing.T, ledgerExtra string) *auditRun {
	dir := t.TempDir()
	r := &auditRun{dir: dir, grpc: FreeEndpoint(t)}
	r.env = map[string]string{"DIR": dir, "GRPC": r.grpc}
	r.config = WriteConfig(t, fmt.Sprintf(auditConfig, ledgerExtra))
	return r
}

func wardenctl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "bin", "wardenctl"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}

// ledgerEntries reads every entry of a journal directory in order.
func ledgerEntries(t *testing.T, dir string) []ledger.Entry {
	t.Helper()
	streams, err := ledger.Streams(dir)
	require.NoError(t, err)
	var out []ledger.Entry
	for _, s := range streams {
		r, err := ledger.NewEntryReader(filepath.Join(dir, s), 1)
		require.NoError(t, err)
		for {
			line, _, err := r.Next()
			if err != nil {
				break
			}
			e, err := ledger.ParseEntry(line)
			require.NoError(t, err)
			out = append(out, e)
		}
		r.Close()
	}
	return out
}

// deliveredRecords sums the records of successful deliveries per signal.
func deliveredRecords(entries []ledger.Entry) map[string]int64 {
	out := map[string]int64{}
	for _, e := range entries {
		if e.Event.Action == "telemetry.export" && e.Event.Status == "success" {
			out[e.Event.Attributes["signal"]] += e.Event.Counts["records"]
		}
	}
	return out
}

// TestAuditedDeliveriesVerify sends all three signals through audit exporters, checks that the
// ledger accounts for every delivered item, that wardenctl verifies it, and that flipping a
// byte, deleting a line or swapping two lines makes verification fail and name the entry.
func TestAuditedDeliveriesVerify(t *testing.T) {
	r := newAuditRun(t, "")
	c := StartCollector(t, "audited", r.config, r.env)
	Telemetrygen(t, "traces", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "0", "--traces", "30", "--service", "shop")
	Telemetrygen(t, "logs", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "0", "--logs", "40")
	Telemetrygen(t, "metrics", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "0", "--metrics", "25")
	out := filepath.Join(r.dir, "out")
	Eventually(t, "spans delivered", 60, SpanCount(t, filepath.Join(out, "traces.jsonl")), 30*time.Second, c)
	Eventually(t, "logs delivered", 40, LogCount(t, filepath.Join(out, "logs.jsonl")), 30*time.Second, c)
	Eventually(t, "points delivered", 25, DataPointCount(t, filepath.Join(out, "metrics.jsonl")), 30*time.Second, c)
	c.Stop()

	auditDir := filepath.Join(r.dir, "audit")
	entries := ledgerEntries(t, auditDir)
	assert.Equal(t, map[string]int64{"traces": 60, "logs": 40, "metrics": 25}, deliveredRecords(entries),
		"the ledger accounts for every delivered item")
	for _, e := range entries {
		if e.Event.Action == "telemetry.export" && e.Event.Attributes["signal"] == "traces" {
			assert.Equal(t, "shop", e.Event.Attributes["services"])
			assert.Positive(t, e.Event.Counts["bytes"])
		}
	}
	assert.Equal(t, "audit_ledger.start", entries[0].Event.Action)
	assert.Equal(t, "audit_ledger.stop", entries[len(entries)-1].Event.Action)

	pub := filepath.Join(r.dir, "signing.key.pub")
	code, outText := wardenctl(t, "audit", "verify", "--dir", auditDir, "--public-key", pub)
	require.Equal(t, 0, code, outText)
	assert.Contains(t, outText, fmt.Sprintf("%d entries", len(entries)))

	segs, err := ledger.Segments(filepath.Join(auditDir, "e2e"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	original, err := os.ReadFile(segs[0].Path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(original), "\n")
	require.Greater(t, len(lines), 5)

	for _, tc := range []struct {
		name string
		edit func([]string) []string
		want string
	}{
		{"flip one byte", func(l []string) []string {
			i := strings.Index(l[3], `"record_id":"`) + len(`"record_id":"`)
			b := []byte(l[3])
			b[i] ^= 0x01
			l[3] = string(b)
			return l
		}, "entry 4 (" + segs[0].Path + " line 4)"},
		{"delete one line", func(l []string) []string { return append(l[:2:2], l[3:]...) }, "entry 3 ("},
		{"reorder two lines", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, "entry 2 ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := tc.edit(append([]string(nil), lines...))
			require.NoError(t, os.WriteFile(segs[0].Path, []byte(strings.Join(edited, "")), 0o600))
			t.Cleanup(func() { _ = os.WriteFile(segs[0].Path, original, 0o600) })
			code, outText := wardenctl(t, "audit", "verify", "--dir", auditDir, "--public-key", pub)
			assert.Equal(t, 1, code, outText)
			assert.Contains(t, outText, "FAILED tampered: stream e2e "+tc.want)
		})
	}
}

// TestLedgerSurvivesKillNine kills the collector with SIGKILL while telemetry flows, restarts it
// on the same journal, and checks that the chain verifies with no gap.
func TestLedgerSurvivesKillNine(t *testing.T) {
	r := newAuditRun(t, "")
	c := StartCollector(t, "audited", r.config, r.env)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = TryTelemetrygen(t, "logs", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "400", "--duration", "4s", "--workers", "2")
	}()
	time.Sleep(2 * time.Second)
	c.Kill()
	<-done
	before := len(ledgerEntries(t, filepath.Join(r.dir, "audit")))
	require.Positive(t, before, "entries were written before the kill")

	c2 := StartCollector(t, "audited-restarted", r.config, r.env)
	Telemetrygen(t, "logs", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "0", "--logs", "20")
	Eventually(t, "deliveries after the restart", 1, func() int {
		for _, e := range ledgerEntries(t, filepath.Join(r.dir, "audit"))[before:] {
			if e.Event.Action == "telemetry.export" {
				return 1
			}
		}
		return 0
	}, 30*time.Second, c2)
	c2.Stop()

	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(r.dir, "audit"), "--public-key", filepath.Join(r.dir, "signing.key.pub"))
	require.Equal(t, 0, code, out)
	entries := ledgerEntries(t, filepath.Join(r.dir, "audit"))
	for i, e := range entries {
		require.Equal(t, uint64(i+1), e.Seq, "no gap")
	}
	starts := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Event.Action, "audit_ledger.start") {
			starts++
		}
	}
	assert.Equal(t, 2, starts, "both runs are in the ledger")
}

// TestClickHouseDeliveryFailureIsRecorded delivers through the contrib clickhouse exporter to
// an address where nothing listens and checks that the failure is in the ledger with its error.
func TestClickHouseDeliveryFailureIsRecorded(t *testing.T) {
	dir := t.TempDir()
	grpc := FreeEndpoint(t)
	cfg := WriteConfig(t, `
extensions:
  audit_ledger:
    file: {directory: "${env:DIR}/audit"}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:GRPC}"}
exporters:
  audit/clickhouse:
    ledger: audit_ledger
    retry_on_failure: {enabled: false}
    sending_queue: {enabled: false}
    timeout: 5s
    destination:
      clickhouse:
        endpoint: tcp://${env:CLICKHOUSE}?dial_timeout=1s
        create_schema: false
service:
  extensions: [audit_ledger]
  pipelines:
    traces: {receivers: [otlp], exporters: [audit/clickhouse]}
`)
	c := StartCollector(t, "clickhouse", cfg, map[string]string{"DIR": dir, "GRPC": grpc, "CLICKHOUSE": FreeEndpoint(t)})
	_, _ = TryTelemetrygen(t, "traces", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--traces", "5", "--timeout", "10s")
	var failed *ledger.Entry
	deadline := time.Now().Add(30 * time.Second)
	for failed == nil && time.Now().Before(deadline) {
		for _, e := range ledgerEntries(t, filepath.Join(dir, "audit")) {
			if e.Event.Action == "telemetry.export" && e.Event.Status == "failure" {
				failed = &e
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.Stop()
	require.NotNil(t, failed, "a failed delivery is recorded:\n%s", tail(c.Log(), 30))
	assert.Equal(t, "clickhouse", failed.Event.ResourceName)
	assert.Contains(t, failed.Event.ErrorMessage, "connection refused")
	assert.Equal(t, int64(10), failed.Event.Counts["records"])
	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(dir, "audit"), "--no-signatures")
	assert.Equal(t, 0, code, out)
}

// TestPostgresLedgerEndToEnd runs the collector with the PostgreSQL sink, verifies the table with
// wardenctl, proves that changes are refused, and that an edit made behind the triggers' back
// is found.
func TestPostgresLedgerEndToEnd(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	r := newAuditRun(t, fmt.Sprintf(`postgres: {dsn: "%s", table: %s, batch_size: 50}`, pgtest.DSN(), table))
	c := StartCollector(t, "audited-pg", r.config, r.env)
	Telemetrygen(t, "traces", "--otlp-endpoint", r.grpc, "--otlp-insecure", "--rate", "0", "--traces", "50")
	Eventually(t, "spans delivered", 100, SpanCount(t, filepath.Join(r.dir, "out", "traces.jsonl")), 30*time.Second, c)
	c.Stop()

	pub := filepath.Join(r.dir, "signing.key.pub")
	code, out := wardenctl(t, "audit", "verify", "--postgres", pgtest.DSN(), "--table", table, "--public-key", pub)
	require.Equal(t, 0, code, out)
	local := len(ledgerEntries(t, filepath.Join(r.dir, "audit")))
	assert.Contains(t, out, strconv.Itoa(local)+" entries", "the table holds the whole journal")

	ctx := context.Background()
	for _, stmt := range []string{`UPDATE ` + table + ` SET status = 'failure'`, `DELETE FROM ` + table, `TRUNCATE ` + table} {
		_, err := conn.Exec(ctx, stmt)
		require.Error(t, err, stmt)
	}
	_, err := conn.Exec(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE `+table+` SET counts = '{"records": 1, "bytes": 1}' WHERE seq = 2`)
	require.NoError(t, err)
	code, out = wardenctl(t, "audit", "verify", "--postgres", pgtest.DSN(), "--table", table, "--public-key", pub)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "entry 2 (table "+table+", seq 2)")
}

// TestAuditRecordsMode turns applications' audit log records into ledger entries and refuses
// records without an actor.
func TestAuditRecordsMode(t *testing.T) {
	dir := t.TempDir()
	grpc := FreeEndpoint(t)
	cfg := WriteConfig(t, `
extensions:
  audit_ledger:
    stream_id: records
    file: {directory: "${env:DIR}/audit"}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:GRPC}"}
exporters:
  audit/records:
    ledger: audit_ledger
    mode: records
    retry_on_failure: {enabled: false}
service:
  extensions: [audit_ledger]
  pipelines:
    logs: {receivers: [otlp], exporters: [audit/records]}
`)
	c := StartCollector(t, "records", cfg, map[string]string{"DIR": dir, "GRPC": grpc})
	Telemetrygen(t, "logs", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--logs", "12",
		"--telemetry-attributes", `audit.actor.type="user"`, "--telemetry-attributes", `audit.actor.id="alice"`,
		"--telemetry-attributes", `audit.action="login.success"`, "--telemetry-attributes", `audit.resource.type="session"`,
		"--telemetry-attributes", `audit.actor.ip="10.1.2.3"`)
	_, _ = TryTelemetrygen(t, "logs", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--logs", "3",
		"--telemetry-attributes", `audit.action="login.failure"`)
	count := func() int {
		n := 0
		for _, e := range ledgerEntries(t, filepath.Join(dir, "audit")) {
			if e.Event.Action == "login.success" {
				n++
			}
		}
		return n
	}
	Eventually(t, "audit records in the ledger", 12, count, 30*time.Second, c)
	c.Stop()
	for _, e := range ledgerEntries(t, filepath.Join(dir, "audit")) {
		assert.NotEqual(t, "login.failure", e.Event.Action, "a record without an actor is refused")
		if e.Event.Action == "login.success" {
			assert.Equal(t, "alice", e.Event.ActorID)
			assert.Equal(t, "10.1.2.3", e.Event.ActorIP)
		}
	}
	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(dir, "audit"), "--no-signatures")
	assert.Equal(t, 0, code, out)
}
