//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/tests/chfront"
)

// Planted in every signal: what pii_redaction must remove before ClickHouse sees it, and what
// it must leave as it is.
const (
	plantedEmail = "jane.doe@example.com"
	plantedCard  = "4111 1111 1111 1111"
	cleanOrder   = "A-1001"
)

var hashedEmailRE = regexp.MustCompile(`^\[HASH:email:v1:[^\]]+\]$`)

// chQuery runs sql in the engine behind the front and returns its rows (JSONEachRow).
func chQuery(t *testing.T, eng *chfront.Engine, sql string) ([]map[string]any, error) {
	t.Helper()
	out, err := eng.Query(sql, "JSONEachRow")
	if err != nil {
		return nil, err
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var row map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &row), line)
		rows = append(rows, row)
	}
	return rows, nil
}

// chCount counts the rows of a table of the contrib schema; 0 while it does not exist.
func chCount(t *testing.T, eng *chfront.Engine, table string) func() int {
	return func() int {
		out, err := eng.Query("SELECT count() FROM otel."+table, "TabSeparated")
		if err != nil {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		require.NoError(t, err)
		return n
	}
}

// clickhouseDeliveries returns the ledger's clickhouse delivery entries.
func clickhouseDeliveries(t *testing.T, auditDir string) []ledger.Entry {
	var out []ledger.Entry
	for _, e := range ledgerEntries(t, auditDir) {
		if e.Event.Action == "telemetry.export" && e.Event.ResourceName == "clickhouse" {
			out = append(out, e)
		}
	}
	return out
}

// TestClickHouseExampleEndToEnd runs examples/clickhouse/config.yaml as shipped, its endpoint
// pointed at the test front (ClickHouse's HTTP interface over chDB, the ClickHouse engine):
// the exporter creates the contrib schema, traces, logs and metrics land with the planted
// personal data redacted and clean values as sent, every table holds as many rows as the
// ledger's successful deliveries say, and a ClickHouse outage is recorded as failed
// deliveries that succeed once the server is back on the same port.
func TestClickHouseExampleEndToEnd(t *testing.T) {
	front := chfront.StartForTest(t)
	eng := chfront.SharedEngine(t)
	dir := t.TempDir()
	auditDir := filepath.Join(dir, "audit")
	grpc := FreeEndpoint(t)
	env := map[string]string{
		"WARDEN_CLICKHOUSE_ENDPOINT": front.URL(),
		"WARDEN_OTLP_GRPC_ENDPOINT":  grpc,
		"WARDEN_AUDIT_DIR":           auditDir,
		"WARDEN_AUDIT_SIGNING_KEY":   filepath.Join(dir, "keys", "audit-signing.key"),
	}
	c := StartCollector(t, "clickhouse", filepath.Join(root, "examples", "clickhouse", "config.yaml"), env)

	send := func(signal string, args ...string) {
		Telemetrygen(t, signal, append([]string{"--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--service", "ch-e2e",
			"--telemetry-attributes", `user.email="` + plantedEmail + `"`,
			"--telemetry-attributes", `payment.card="` + plantedCard + `"`,
			"--telemetry-attributes", `order.id="` + cleanOrder + `"`}, args...)...)
	}
	send("traces", "--traces", "10")
	send("logs", "--logs", "15", "--body", "card "+plantedCard+" paid by "+plantedEmail+" for order "+cleanOrder)
	send("metrics", "--metrics", "6", "--metric-type", "Gauge")
	send("metrics", "--metrics", "4", "--metric-type", "Sum")
	send("metrics", "--metrics", "3", "--metric-type", "Histogram")
	Eventually(t, "spans in otel.otel_traces", 20, chCount(t, eng, "otel_traces"), 30*time.Second, c)
	Eventually(t, "logs in otel.otel_logs", 15, chCount(t, eng, "otel_logs"), 30*time.Second, c)
	Eventually(t, "points in otel.otel_metrics_gauge", 6, chCount(t, eng, "otel_metrics_gauge"), 30*time.Second, c)
	Eventually(t, "points in otel.otel_metrics_sum", 4, chCount(t, eng, "otel_metrics_sum"), 30*time.Second, c)
	Eventually(t, "points in otel.otel_metrics_histogram", 3, chCount(t, eng, "otel_metrics_histogram"), 30*time.Second, c)

	// What landed is what was sent, after pii_redaction.
	emailTokens := map[any]bool{}
	for _, q := range []struct{ table, attrs string }{
		{"otel_traces", "SpanAttributes"}, {"otel_logs", "LogAttributes"},
		{"otel_metrics_gauge", "Attributes"}, {"otel_metrics_sum", "Attributes"}, {"otel_metrics_histogram", "Attributes"},
	} {
		rows, err := chQuery(t, eng, "SELECT ServiceName, "+q.attrs+" AS attrs FROM otel."+q.table)
		require.NoError(t, err)
		for _, row := range rows {
			assert.Equal(t, "ch-e2e", row["ServiceName"], q.table)
			attrs, _ := row["attrs"].(map[string]any)
			assert.Regexp(t, hashedEmailRE, attrs["user.email"], "%s: the e-mail is a keyed hash", q.table)
			emailTokens[attrs["user.email"]] = true
			assert.Equal(t, "[REDACTED:card]", attrs["payment.card"], q.table)
			assert.Equal(t, cleanOrder, attrs["order.id"], "%s: clean values stay as sent", q.table)
		}
		dump, err := eng.Query("SELECT * FROM otel."+q.table, "JSONEachRow")
		require.NoError(t, err)
		assert.NotContains(t, string(dump), "jane.doe", "%s: no trace of the e-mail in any column", q.table)
		assert.NotContains(t, string(dump), "4111", "%s: no trace of the card in any column", q.table)
	}
	assert.Len(t, emailTokens, 1, "one address, one token, in every signal")
	logs, err := chQuery(t, eng, "SELECT DISTINCT Body FROM otel.otel_logs")
	require.NoError(t, err)
	require.Len(t, logs, 1)
	assert.Regexp(t, `^card \[REDACTED:card\] paid by \[HASH:email:v1:[^\]]+\] for order A-1001$`, logs[0]["Body"])
	spans, err := chQuery(t, eng, "SELECT SpanName, count() AS n FROM otel.otel_traces GROUP BY SpanName ORDER BY SpanName")
	require.NoError(t, err)
	assert.Equal(t, []map[string]any{{"SpanName": "lets-go", "n": float64(10)}, {"SpanName": "okey-dokey-0", "n": float64(10)}}, spans)
	traces, err := chQuery(t, eng, "SELECT uniqExact(TraceId) AS traces, countIf(ParentSpanId = '') AS roots FROM otel.otel_traces")
	require.NoError(t, err)
	assert.Equal(t, []map[string]any{{"traces": float64(10), "roots": float64(10)}}, traces, "ten traces of a root and a child")

	// The outage: the front goes away, the deliveries fail and are recorded as failures, and
	// the retried batch lands once it is back on the same port.
	before := len(clickhouseDeliveries(t, auditDir))
	addr := front.Addr()
	front.Stop()
	sent := make(chan error, 1)
	go func() {
		_, err := TryTelemetrygen(t, "logs", "--otlp-endpoint", grpc, "--otlp-insecure", "--rate", "0", "--service", "ch-e2e",
			"--logs", "5", "--body", "after the outage", "--timeout", "90s")
		sent <- err
	}()
	failedWhileDown := func() int {
		n := 0
		for _, e := range clickhouseDeliveries(t, auditDir)[before:] {
			if e.Event.Status == "failure" {
				n++
			}
		}
		return min(n, 1)
	}
	Eventually(t, "a failed delivery recorded while ClickHouse is down", 1, failedWhileDown, 30*time.Second, c)
	back, err := chfront.Start(eng, addr)
	require.NoError(t, err)
	t.Cleanup(back.Stop)
	Eventually(t, "logs in otel.otel_logs after the outage", 20, chCount(t, eng, "otel_logs"), 60*time.Second, c)
	require.NoError(t, <-sent)
	c.Stop()

	deliveries := clickhouseDeliveries(t, auditDir)
	var failures []ledger.Entry
	for _, e := range deliveries[before:] {
		if e.Event.Status == "failure" {
			failures = append(failures, e)
			assert.Equal(t, "logs", e.Event.Attributes["signal"])
			assert.Equal(t, int64(5), e.Event.Counts["records"])
		}
	}
	require.NotEmpty(t, failures)
	refused := false
	for _, e := range failures {
		refused = refused || strings.Contains(e.Event.ErrorMessage, "connection refused")
	}
	assert.True(t, refused, "a failure names the server being gone: %v", failures[0].Event.ErrorMessage)

	// Every row in ClickHouse is accounted for by a successful delivery, and nothing else is.
	delivered := deliveredRecords(deliveries)
	metricPoints := chCount(t, eng, "otel_metrics_gauge")() + chCount(t, eng, "otel_metrics_sum")() + chCount(t, eng, "otel_metrics_histogram")()
	assert.Equal(t, map[string]int64{"traces": 20, "logs": 20, "metrics": 13}, delivered)
	assert.Equal(t, map[string]int64{
		"traces":  int64(chCount(t, eng, "otel_traces")()),
		"logs":    int64(chCount(t, eng, "otel_logs")()),
		"metrics": int64(metricPoints),
	}, delivered, "rows in ClickHouse = records of the ledger's successful deliveries")
	t.Logf("ledger: %d clickhouse deliveries, %d failed while the server was down (%q); delivered %v",
		len(deliveries), len(failures), failures[0].Event.ErrorMessage, delivered)
	code, out := wardenctl(t, "audit", "verify", "--dir", auditDir, "--public-key", env["WARDEN_AUDIT_SIGNING_KEY"]+".pub")
	assert.Equal(t, 0, code, out)
}
