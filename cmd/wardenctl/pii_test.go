package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const piiFixture = "testdata/pii/scan.jsonl"

// plantedInFixture are the personal values of the fixture: none may be printed.
var plantedInFixture = []string{
	"jane.doe@example.com", "Albert Einstein", "4111 1111 1111 1111", "10.1.2.3", "Marie Curie",
	"marie@example.org", "hunter2", "7946 0958", "078-05-1120", "Jane Doe", "GB82 WEST",
	"trunc@example.com", "ORD-2024",
}

func assertNoValues(t *testing.T, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, v := range plantedInFixture {
			assert.NotContains(t, out, v)
		}
	}
}

func scanJSON(t *testing.T, args ...string) (piiReport, string) {
	t.Helper()
	code, stdout, stderr := wardenctlIn(strings.NewReader(""), append([]string{"pii", "scan", "--format", "json"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	assertNoValues(t, stdout, stderr)
	var rep piiReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	return rep, stderr
}

func TestPIIScanReportsCountsNeverValues(t *testing.T) {
	rep, stderr := scanJSON(t, piiFixture)
	assert.Equal(t, piiReport{
		Files:          []string{piiFixture},
		Lines:          5,
		MalformedLines: 2,
		Records:        map[string]int{"traces": 2, "logs": 3, "metrics": 2},
		ValuesScanned:  27,
		Findings:       11,
		Actions: map[string]string{
			"card": "redact", "email": "hash", "iban": "redact", "ipv4": "keep", "name": "keep",
			"phone": "mask", "sensitive_key": "redact", "ssn": "redact",
		},
		ByType: map[string]int{
			"card": 1, "email": 2, "iban": 1, "ipv4": 1, "name": 3, "phone": 1, "sensitive_key": 1, "ssn": 1,
		},
		BySignal:  map[string]int{"traces": 4, "logs": 5, "metrics": 2},
		ByService: map[string]int{"checkout": 4, "users": 5, "payments": 2},
		ByKey: map[string]map[string]int{
			"user.email": {"email": 1}, "user.full_name": {"name": 1}, "net.peer.ip": {"ipv4": 1},
			"status_message": {"card": 1}, "body.customer.name": {"name": 1},
			"body.customer.email": {"email": 1}, "user.password": {"sensitive_key": 1},
			"contact": {"phone": 1}, "body": {"ssn": 1}, "customer_name": {"name": 1},
			"payment.account": {"iban": 1},
		},
	}, rep)
	assert.Contains(t, stderr, piiFixture+": line 5: not OTLP JSON logs (malformed or truncated)")
	assert.Contains(t, stderr, piiFixture+": line 6: not JSON (malformed or truncated)")
	assert.Contains(t, stderr, "2 malformed lines skipped")

	// The text report says the same.
	code, stdout, stderr := wardenctlIn(strings.NewReader(""), "pii", "scan", piiFixture)
	require.Equal(t, exitOK, code, stderr)
	assertNoValues(t, stdout, stderr)
	for _, want := range []string{
		"scanned 5 lines (2 malformed): 2 spans, 3 log records, 2 data points; 27 values",
		"findings: 11", "name (keep)", "body.customer.name [name]", "users", "payments",
	} {
		assert.Contains(t, stdout, want)
	}
	assert.True(t, strings.Index(stdout, "name (keep)") < strings.Index(stdout, "card (redact)"), "largest count first")
}

func TestPIIScanReadsStdinAndSeveralFiles(t *testing.T) {
	fixture, err := os.ReadFile(piiFixture)
	require.NoError(t, err)
	for _, args := range [][]string{{}, {"-"}} {
		code, stdout, stderr := wardenctlIn(strings.NewReader(string(fixture)), append([]string{"pii", "scan", "--format", "json"}, args...)...)
		require.Equal(t, exitOK, code, stderr)
		var rep piiReport
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		assert.Equal(t, []string{"stdin"}, rep.Files)
		assert.Equal(t, 11, rep.Findings)
	}
	rep, _ := scanJSON(t, piiFixture, piiFixture)
	assert.Equal(t, 22, rep.Findings)
	assert.Equal(t, 4, rep.MalformedLines)
	assert.Equal(t, 54, rep.ValuesScanned)
}

func TestPIIScanConfigChangesTheCounts(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "pii.yaml")
	require.NoError(t, os.WriteFile(bare, []byte(`
custom:
  - name: order_id
    regexp: 'ORD-[0-9]{8}'
    action: hash
names:
  exclude: [customer_name]
detectors:
  ipv4: {action: redact}
hash:
  key: ${env:WARDEN_PII_HASH_KEY}
`), 0o600))
	rep, _ := scanJSON(t, "--config", bare, piiFixture)
	assert.Equal(t, 3, rep.ByType["order_id"])
	assert.Equal(t, "hash", rep.Actions["order_id"])
	assert.Equal(t, 1, rep.ByType["name"], "customer_name excluded, and so customer.name")
	assert.Equal(t, "redact", rep.Actions["ipv4"])
	assert.Equal(t, 12, rep.Findings)
	assert.Equal(t, map[string]int{"order_id": 2}, rep.ByKey["order.id"])

	collector := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(collector, []byte(`
receivers:
  otlp: {}
processors:
  batch: {}
  pii_redaction: {}
  pii_redaction/strict:
    names: {action: redact}
    allow:
      keys: [user.email]
      services: [payments]
service:
  pipelines:
    logs: {receivers: [otlp], processors: [pii_redaction/strict], exporters: [debug]}
`), 0o600))
	code, _, stderr := wardenctlIn(strings.NewReader(""), "pii", "scan", "--config", collector, piiFixture)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "several pii_redaction processors (pii_redaction, pii_redaction/strict): choose one with --processor")

	rep, _ = scanJSON(t, "--config", collector, "--processor", "pii_redaction", piiFixture)
	assert.Equal(t, 11, rep.Findings)
	rep, _ = scanJSON(t, "--config", collector, "--processor", "pii_redaction/strict", piiFixture)
	assert.Equal(t, map[string]int{"checkout": 3, "users": 5}, rep.ByService)
	assert.Equal(t, "redact", rep.Actions["name"])
	assert.NotContains(t, rep.ByKey, "user.email")

	code, _, stderr = wardenctlIn(strings.NewReader(""), "pii", "scan", "--config", collector, "--processor", "pii_redaction/nope", piiFixture)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `no processor "pii_redaction/nope" (found: pii_redaction, pii_redaction/strict)`)
}

func TestPIIScanBadConfigAndArguments(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", write("typo.yaml", "detectors: {emial: {action: hash}}\n")}, "emial"},
		{[]string{"--config", write("action.yaml", "names: {action: hide}\n")}, `unknown action "hide"`},
		{[]string{"--config", write("invalid.yaml", "scan: {max_scan_bytes: 0}\n")}, "scan.max_scan_bytes: must be positive"},
		{[]string{"--config", write("notyaml.yaml", "a: [\n")}, "notyaml.yaml"},
		{[]string{"--config", write("nopii.yaml", "processors: {batch: {}}\n")}, "without a pii_redaction processor"},
		{[]string{"--config", write("bare.yaml", "names: {action: hash}\n"), "--processor", "pii_redaction/x"}, "not a collector's"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"--processor", "pii_redaction/x"}, "--processor needs --config"},
		{[]string{"--format", "xml"}, `--format "xml": want text or json`},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
	} {
		code, stdout, stderr := wardenctlIn(strings.NewReader(""), append([]string{"pii", "scan"}, append(tc.args, piiFixture)...)...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, stdout, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

func TestPIIScanBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	code, stdout, stderr := wardenctlIn(strings.NewReader(""), "pii", "scan", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, dir+": is a directory")
	assert.Empty(t, stdout)

	code, stdout, stderr = wardenctlIn(strings.NewReader(""), "pii", "scan", piiFixture, filepath.Join(dir, "missing.jsonl"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "missing.jsonl: no such file or directory")
	assert.Empty(t, stdout, "nothing is scanned when an input cannot be read")

	rep, stderr := scanJSON(t, empty)
	assert.Zero(t, rep.Lines)
	assert.Zero(t, rep.Findings)
	assert.Contains(t, stderr, "empty.jsonl: no telemetry (empty)")

	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Join([]string{
		`{"resourceSpans":[{"resource":{"attributes":[{"key":"user.email","value":{"stringValue":"trunc@example.com"`,
		`{"resourceProfiles":[]}`,
		`{"hello":"hunter2"}`,
		`[1,2,3]`,
		`   `,
		`{"resourceMetrics":[]}`,
	}, "\n")), 0o600))
	rep, stderr = scanJSON(t, bad)
	assert.Equal(t, 5, rep.Lines)
	assert.Equal(t, 4, rep.MalformedLines)
	assert.Zero(t, rep.Findings)
	for _, want := range []string{
		"line 1: not OTLP JSON traces (malformed or truncated)",
		"line 2: OTLP JSON profiles, which pii_redaction does not process",
		"line 3: JSON, but not OTLP",
		"line 4: JSON, but not OTLP",
		"4 malformed lines skipped",
	} {
		assert.Contains(t, stderr, want)
	}
	assert.NotContains(t, stderr, "line 5")

	// A line longer than the bound is counted and skipped; the next line is read whole.
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 64
	fixture, err := os.ReadFile(piiFixture)
	require.NoError(t, err)
	long := filepath.Join(dir, "long.jsonl")
	short := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hunter2"}}]}]}]}`
	require.NoError(t, os.WriteFile(long, []byte(strings.SplitN(string(fixture), "\n", 2)[0]+"\n"+short[:60]+"\n"), 0o600))
	rep, stderr = scanJSON(t, long)
	assert.Equal(t, 2, rep.Lines)
	assert.Equal(t, 2, rep.MalformedLines)
	assert.Contains(t, stderr, "line 1: longer than 64 bytes")
	assert.Contains(t, stderr, "line 2: not OTLP JSON logs")
}
