//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter compresses with gzip

	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// otlpLogsWitness is a backend that receives OTLP/HTTP logs and keeps them as the file exporter
// would: one OTLP JSON line per request.
type otlpLogsWitness struct {
	mu    sync.Mutex
	lines [][]byte
	srv   *http.Server
	addr  string
}

func startLogsWitness(t *testing.T) *otlpLogsWitness {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w := &otlpLogsWitness{addr: ln.Addr().String()}
	w.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var in io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" { // the otlp_http exporter's default
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			in = gz
		}
		body, err := io.ReadAll(in)
		req := plogotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		line, err := (&plog.JSONMarshaler{}).MarshalLogs(req.Logs())
		require.NoError(t, err)
		w.mu.Lock()
		w.lines = append(w.lines, line)
		w.mu.Unlock()
		out, _ := plogotlp.NewExportResponse().MarshalProto()
		rw.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = rw.Write(out)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

func (w *otlpLogsWitness) writeFile(t *testing.T, path string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NoError(t, os.WriteFile(path, append(bytes.Join(w.lines, []byte("\n")), '\n'), 0o600))
	return len(w.lines)
}

// tracesBackend is an OTLP/gRPC traces backend that counts spans.
type tracesBackend struct {
	ptraceotlp.UnimplementedGRPCServer
	mu    sync.Mutex
	spans int
	lines [][]byte // what it received, as the file exporter writes it
}

func (b *tracesBackend) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	line, err := (&ptrace.JSONMarshaler{}).MarshalTraces(req.Traces())
	if err != nil {
		return ptraceotlp.NewExportResponse(), err
	}
	b.mu.Lock()
	b.spans += req.Traces().SpanCount()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

// writeFile writes what the backend received as OTLP JSON lines.
func (b *tracesBackend) writeFile(t *testing.T, path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NoError(t, os.WriteFile(path, append(bytes.Join(b.lines, []byte("\n")), '\n'), 0o600))
}

func (b *tracesBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spans
}

func startTracesBackend(t *testing.T) (*tracesBackend, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &tracesBackend{}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, b)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return b, ln.Addr().String()
}

// TestKMSLedgerExample runs examples/kms-ledger as shipped against local-kms, a PostgreSQL
// witness and a second OTLP backend: checkpoints are signed by the KMS key, both witnesses
// hold them, and wardenctl verifies the ledger by the key's fingerprint and against both
// witnesses; a ledger re-signed with another key, or rolled back, fails.
func TestKMSLedgerExample(t *testing.T) {
	kms := kmstest.Start(t)
	kms.Setenv(t) // for wardenctl keys fingerprint
	keyID := kms.CreateSigningKey(t)
	kms.CreateAlias(t, "alias/warden-ledger-e2e", keyID)
	conn := pgtest.Conn(t)
	witnessTable := pgtest.Table(t, conn)
	ctx := context.Background()
	owner, err := ledger.OpenPGWitness(ctx, pgtest.DSN(), witnessTable)
	require.NoError(t, err)
	require.NoError(t, owner.EnsureSchema(ctx), "the table's owner creates it, as the README says")
	owner.Close()

	logsWitness := startLogsWitness(t)
	backend, backendAddr := startTracesBackend(t)
	dir := t.TempDir()
	env := map[string]string{
		"WARDEN_KMS_KEY_ID":            "alias/warden-ledger-e2e",
		"WARDEN_KMS_ENDPOINT":          kms.Endpoint(),
		"WARDEN_WITNESS_DSN":           pgtest.DSN(),
		"WARDEN_WITNESS_TABLE":         witnessTable,
		"WARDEN_WITNESS_OTLP_ENDPOINT": "http://" + logsWitness.addr,
		"WARDEN_AUDIT_DIR":             filepath.Join(dir, "audit"),
		"WARDEN_UPSTREAM_ENDPOINT":     backendAddr,
		"WARDEN_UPSTREAM_INSECURE":     "true",
		"WARDEN_OTLP_GRPC_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":       FreeEndpoint(t),
		"WARDEN_METRICS_PORT":          strings.TrimPrefix(FreeEndpoint(t), "127.0.0.1:"),
	}
	for _, kv := range kms.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// Two runs, so that the ledger has a checkpoint from each shutdown.
	var c *Collector
	for run := 1; run <= 2; run++ {
		c = StartCollector(t, "kms-ledger", filepath.Join(root, "examples", "kms-ledger", "config.yaml"), env)
		Telemetrygen(t, "traces", "--otlp-endpoint", env["WARDEN_OTLP_GRPC_ENDPOINT"], "--otlp-insecure", "--rate", "0", "--traces", "10")
		Eventually(t, "spans at the backend", 20*run, backend.count, 30*time.Second, c)
		assert.Contains(t, c.Log(), "pin its signing key by the fingerprint")
		assert.NotContains(t, c.Log(), "signed with a key file on this host", "no key file warning with KMS")
		c.Stop()
	}

	code, out := wardenctl(t, "keys", "fingerprint", "--aws-kms-key-id", "alias/warden-ledger-e2e", "--aws-endpoint", kms.Endpoint(), "--aws-region", kms.Region())
	require.Equal(t, 0, code, out)
	fingerprint := ""
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "sha256:") && len(f) == len("sha256:")+64 {
			fingerprint = f
			break
		}
	}
	require.NotEmpty(t, fingerprint, out)
	assert.Contains(t, c.Log(), fingerprint, "the collector logs the fingerprint it signs with")

	auditDir := filepath.Join(dir, "audit")
	witnessFile := filepath.Join(dir, "witness.jsonl")
	require.Positive(t, logsWitness.writeFile(t, witnessFile), "the second backend received checkpoints")
	verify := func(extra ...string) (int, string) {
		return wardenctl(t, append([]string{"audit", "verify", "--dir", auditDir, "--key-id", fingerprint,
			"--witness-postgres", pgtest.DSN(), "--witness-table", witnessTable, "--witness-file", witnessFile}, extra...)...)
	}
	code, out = verify()
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "by "+strings.TrimPrefix(fingerprint, "sha256:")[:16])
	entries := ledgerEntries(t, auditDir)
	var delivered int64
	for _, e := range entries {
		if e.Event.Action == "telemetry.export" && e.Event.Status == "success" {
			delivered += e.Event.Counts["records"]
		}
	}
	assert.Equal(t, int64(40), delivered, "every delivered span is in the ledger")

	streams, err := ledger.Streams(auditDir)
	require.NoError(t, err)
	require.Len(t, streams, 1)
	streamDir := filepath.Join(auditDir, streams[0])
	cps, err := ledger.ReadCheckpoints(streamDir)
	require.NoError(t, err)
	require.NotEmpty(t, cps)
	for _, cp := range cps {
		assert.Equal(t, ledger.AlgECDSAP256, cp.Alg, "signed by the KMS key")
	}

	// Roll the ledger back to before its newest checkpoint: the witnesses know better.
	segs, err := ledger.Segments(streamDir)
	require.NoError(t, err)
	require.Greater(t, len(cps), 1)
	{
		keep := cps[len(cps)-2].Seq
		raw, err := os.ReadFile(segs[len(segs)-1].Path)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(raw), "\n")
		var kept []string
		for _, l := range lines {
			if seq, ok := ledger.PeekSeq([]byte(l)); ok && seq <= keep {
				kept = append(kept, l)
			}
		}
		require.NoError(t, os.WriteFile(segs[len(segs)-1].Path, []byte(strings.Join(kept, "")), 0o640))
		cpRaw, err := os.ReadFile(filepath.Join(streamDir, "checkpoints.jsonl"))
		require.NoError(t, err)
		cpLines := strings.SplitAfter(string(cpRaw), "\n")
		require.NoError(t, os.WriteFile(filepath.Join(streamDir, "checkpoints.jsonl"), []byte(strings.Join(cpLines[:len(cps)-1], "")), 0o640))
		code, out = wardenctl(t, "audit", "verify", "--dir", auditDir, "--key-id", fingerprint)
		assert.Equal(t, 0, code, "alone, the cut ledger verifies: %s", out)
		code, out = verify()
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "rolled back")
	}
}

// TestFieldEncryptionKMSExample runs examples/kms as shipped against local-kms: fields of two
// tenants reach the backend as ciphertext under their tenants' KMS keys, KMS is called once per
// data key, wardenctl decrypt with the KMS keys restores them, and after `keys shred` schedules
// one tenant's key for deletion, that tenant's fields stay encrypted while the other's decrypt.
func TestFieldEncryptionKMSExample(t *testing.T) {
	kms := kmstest.Start(t)
	kms.Setenv(t) // for wardenctl
	for alias, key := range map[string]string{
		"alias/warden-fields-e2e": kms.CreateSymmetricKey(t), "alias/warden-acme-e2e": kms.CreateSymmetricKey(t),
		"alias/warden-globex-e2e": kms.CreateSymmetricKey(t),
	} {
		kms.CreateAlias(t, alias, key)
	}
	backend, backendAddr := startTracesBackend(t)
	dir := t.TempDir()
	env := map[string]string{
		"WARDEN_KMS_KEY_ID":         "alias/warden-fields-e2e",
		"WARDEN_KMS_KEY_ACME":       "alias/warden-acme-e2e",
		"WARDEN_KMS_KEY_GLOBEX":     "alias/warden-globex-e2e",
		"WARDEN_KMS_ENDPOINT":       kms.Endpoint(),
		"WARDEN_AUDIT_DIR":          filepath.Join(dir, "audit"),
		"WARDEN_AUDIT_SIGNING_KEY":  filepath.Join(dir, "keys", "audit-signing.key"),
		"WARDEN_UPSTREAM_ENDPOINT":  backendAddr,
		"WARDEN_UPSTREAM_INSECURE":  "true",
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_PORT":       strings.TrimPrefix(FreeEndpoint(t), "127.0.0.1:"),
	}
	for _, kv := range kms.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c := StartCollector(t, "kms-fields", filepath.Join(root, "examples", "kms", "config.yaml"), env)
	for _, tenant := range []string{"acme", "globex"} {
		Telemetrygen(t, "traces", "--otlp-endpoint", env["WARDEN_OTLP_GRPC_ENDPOINT"], "--otlp-insecure", "--rate", "0", "--traces", "5",
			"--otlp-attributes", `tenant.id="`+tenant+`"`, "--telemetry-attributes", `user.password="pw-of-`+tenant+`"`,
			"--telemetry-attributes", `http.request.header.authorization="Token tk-`+tenant+`"`)
	}
	Eventually(t, "spans at the backend", 20, backend.count, 30*time.Second, c)
	c.Stop()
	// Two tenants x two fields (and one service): four data keys, for twenty spans.
	assert.Equal(t, int64(4), kms.Calls("GenerateDataKey"), "one KMS call per data key, not per span")

	received := filepath.Join(dir, "received.jsonl")
	backend.writeFile(t, received)
	raw, err := os.ReadFile(received)
	require.NoError(t, err)
	for _, secret := range []string{"pw-of-acme", "pw-of-globex", "tk-acme", "tk-globex"} {
		assert.NotContains(t, string(raw), secret)
	}
	decrypt := func() (int, string, string) {
		out := filepath.Join(t.TempDir(), "clear.jsonl")
		code, report := wardenctl(t, "decrypt", "--aws-kms-key-id", "alias/warden-fields-e2e",
			"--aws-kms-tenant-key", "acme=alias/warden-acme-e2e", "--aws-kms-tenant-key", "globex=alias/warden-globex-e2e",
			"--aws-endpoint", kms.Endpoint(), "--aws-region", kms.Region(), "--in", received, "--out", out)
		clear, _ := os.ReadFile(out)
		return code, report, string(clear)
	}
	code, report, clear := decrypt()
	require.Equal(t, 0, code, report)
	for _, secret := range []string{"pw-of-acme", "pw-of-globex", "Token tk-acme", "Token tk-globex"} {
		assert.Equal(t, 10, strings.Count(clear, `"`+secret+`"`), "%s restored on every span", secret)
	}

	code, report = wardenctl(t, "keys", "shred", "--aws-kms-key-id", "alias/warden-acme-e2e", "--tenant", "acme",
		"--aws-endpoint", kms.Endpoint(), "--aws-region", kms.Region(), "--ledger-dir", filepath.Join(dir, "ctl-audit"))
	require.Equal(t, 0, code, report)
	code, report, clear = decrypt()
	assert.Equal(t, 1, code, report)
	assert.Contains(t, report, "shredded")
	assert.NotContains(t, clear, "pw-of-acme")
	assert.Equal(t, 10, strings.Count(clear, `"pw-of-globex"`), "the other tenant still decrypts")
}
