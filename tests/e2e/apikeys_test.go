//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/apikeys"
)

// apiKeyConfig is a gateway that takes OTLP only with an API key: api_key_auth on both
// receivers, api_key_scope first in every pipeline, the output in OTLP JSON lines.
const apiKeyConfig = `
extensions:
  api_key_auth:
    keys_file: ${env:KEYS_FILE}
    reload_interval: 200ms
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:GRPC}", auth: {authenticator: api_key_auth}}
      http: {endpoint: "${env:HTTP}", auth: {authenticator: api_key_auth}}
processors:
  api_key_scope: {}
exporters:
  file/traces: {path: "${env:OUT}/traces.jsonl", create_directory: true}
  file/logs: {path: "${env:OUT}/logs.jsonl", create_directory: true}
service:
  extensions: [api_key_auth]
  telemetry:
    metrics: {level: none}
  pipelines:
    traces: {receivers: [otlp], processors: [api_key_scope], exporters: [file/traces]}
    logs: {receivers: [otlp], processors: [api_key_scope], exporters: [file/logs]}
`

// testKey is a key for writeKeysFile: its tenant and scopes, and when it was created and
// expires (zero: now, and never).
type testKey struct {
	tenant           string
	scopes           []apikeys.Scope
	created, expires time.Time
}

// writeKeysFile generates the keys, saves their records to a keys file at path, and returns
// the keys and their records in the order given.
func writeKeysFile(t *testing.T, path string, specs ...testKey) (keys []string, recs []apikeys.Record) {
	t.Helper()
	f := apikeys.NewFile()
	for _, s := range specs {
		created := s.created
		if created.IsZero() {
			created = time.Now()
		}
		key, rec, err := apikeys.Generate(s.tenant, s.scopes, s.expires, created)
		require.NoError(t, err)
		require.NoError(t, f.Add(rec))
		keys, recs = append(keys, key), append(recs, rec)
	}
	require.NoError(t, f.Save(path))
	return keys, recs
}

// TestAPIKeysThroughTheBuiltCollector sends with telemetrygen over gRPC and HTTP: a valid key
// is accepted and its data carries the key's tenant whatever the sender claimed; a wrong key
// and a key without the signal's scope are refused; a key revoked in the file stops working
// without a restart.
func TestAPIKeysThroughTheBuiltCollector(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys.yaml")
	keys, recs := writeKeysFile(t, keysFile,
		testKey{tenant: "acme", scopes: []apikeys.Scope{"traces", "logs"}},
		testKey{tenant: "globex", scopes: []apikeys.Scope{"logs"}})
	acme, acmeRec, logsOnly := keys[0], recs[0], keys[1]

	config := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte(apiKeyConfig), 0o600))
	out := filepath.Join(dir, "out")
	env := map[string]string{"KEYS_FILE": keysFile, "GRPC": FreeEndpoint(t), "HTTP": FreeEndpoint(t), "OUT": out}
	c := StartCollector(t, "apikeys", config, env)

	send := func(signal, endpoint, key string, http bool, extra ...string) (string, error) {
		args := []string{"--otlp-endpoint", endpoint, "--otlp-insecure", "--rate", "0", "--service", "shop",
			"--otlp-header", fmt.Sprintf(`X-API-Key="%s"`, key), "--otlp-attributes", `tenant.id="someone-else"`}
		if http {
			args = append(args, "--otlp-http")
		}
		if signal == "traces" {
			args = append(args, "--traces", "2")
		} else {
			args = append(args, "--logs", "2")
		}
		return TryTelemetrygen(t, signal, append(args, extra...)...)
	}

	// Accepted over both protocols; the tenant is the key's, not the claimed one.
	for _, http := range []bool{false, true} {
		ep := env["GRPC"]
		if http {
			ep = env["HTTP"]
		}
		o, err := send("traces", ep, acme, http)
		require.NoError(t, err, "a valid key (http=%v):\n%s", http, tail(o, 20))
	}
	tracesOut := filepath.Join(out, "traces.jsonl")
	Eventually(t, "spans of the valid key", 8, SpanCount(t, tracesOut), 30*time.Second, c)
	rs := ReadTraces(t, tracesOut).ResourceSpans()
	for i := 0; i < rs.Len(); i++ {
		v, ok := rs.At(i).Resource().Attributes().Get("tenant.id")
		require.True(t, ok)
		assert.Equal(t, "acme", v.Str(), "the authenticated tenant, not the claimed one")
	}

	// A wrong key is refused on both protocols (telemetrygen's trace exporter reports the
	// refusal and exits 0; nothing of it is written).
	wrong := acme[:len(acme)-4] + "AAAA"
	o, _ := send("traces", env["GRPC"], wrong, false, "--timeout", "2s")
	assert.Contains(t, o, "Unauthenticated")
	o, _ = send("traces", env["HTTP"], wrong, true, "--timeout", "2s")
	assert.Contains(t, o, "401")

	// A key without the traces scope: refused (PERMISSION_DENIED over gRPC, 403 over HTTP);
	// its logs are taken.
	o, _ = send("traces", env["GRPC"], logsOnly, false, "--timeout", "2s")
	assert.Contains(t, o, "PermissionDenied")
	o, _ = send("traces", env["HTTP"], logsOnly, true, "--timeout", "2s")
	assert.Contains(t, o, "403")
	o, err := send("logs", env["HTTP"], logsOnly, true)
	require.NoError(t, err, tail(o, 20))
	Eventually(t, "logs of the logs-only key", 2, LogCount(t, filepath.Join(out, "logs.jsonl")), 30*time.Second, c)
	assert.Equal(t, 8, SpanCount(t, tracesOut)(), "no refused span was written")

	// Revoked in the file: refused without a restart.
	f2, err := apikeys.ReadFile(keysFile)
	require.NoError(t, err)
	for i := range f2.Keys {
		if f2.Keys[i].ID == acmeRec.ID {
			f2.Keys[i].Revoked = time.Now().UTC()
		}
	}
	require.NoError(t, f2.Save(keysFile))
	require.Eventually(t, func() bool {
		o, _ := send("traces", env["GRPC"], acme, false, "--timeout", "2s")
		return strings.Contains(o, "Unauthenticated")
	}, 20*time.Second, 300*time.Millisecond, "a revoked key stops working without a restart")
}

// TestGatewayAPIKeyVariant runs examples/gateway/config-apikeys.yaml as shipped: mTLS and an API
// key are both required; the key's tenant reaches the backend on every resource.
func TestGatewayAPIKeyVariant(t *testing.T) {
	pki := NewPKI(t)
	backend, benv := startDefault(t, "backend")
	keysFile := filepath.Join(t.TempDir(), "apikeys.yaml")
	keys, _ := writeKeysFile(t, keysFile, testKey{tenant: "acme", scopes: []apikeys.Scope{"traces", "logs", "metrics"}})
	key := keys[0]

	env := map[string]string{
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_HOST":       "127.0.0.1",
		"WARDEN_METRICS_PORT":       strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_TLS_CERT":           pki.ServerCert,
		"WARDEN_TLS_KEY":            pki.ServerKey,
		"WARDEN_TLS_CLIENT_CA":      pki.CA,
		"WARDEN_UPSTREAM_ENDPOINT":  benv["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_UPSTREAM_INSECURE":  "true",
		"WARDEN_UPSTREAM_CA":        "",
		"WARDEN_API_KEYS_FILE":      keysFile,
	}
	gateway := StartCollector(t, "gateway-apikeys", filepath.Join(root, "examples", "gateway", "config-apikeys.yaml"), env)
	mtls := []string{"--otlp-endpoint", env["WARDEN_OTLP_GRPC_ENDPOINT"], "--mtls", "--ca-cert", pki.CA,
		"--client-cert", pki.ClientCert, "--client-key", pki.ClientKey, "--rate", "0", "--timeout", "3s"}

	// The client certificate alone is not enough.
	out, _ := TryTelemetrygen(t, "traces", append(mtls, "--traces", "3", "--service", "no-key")...)
	assert.Contains(t, out, "Unauthenticated", "mTLS without an API key is refused")
	// Certificate and key: accepted, stamped with the key's tenant.
	Telemetrygen(t, "traces", append(mtls, "--traces", "5", "--service", "with-key",
		"--otlp-header", fmt.Sprintf(`X-API-Key="%s"`, key), "--otlp-attributes", `tenant.id="globex"`)...)

	output := filepath.Join(benv["WARDEN_DATA_DIR"], "traces.jsonl")
	Eventually(t, "spans at the backend", 10, SpanCount(t, output), 30*time.Second, gateway, backend)
	rs := ReadTraces(t, output).ResourceSpans()
	for i := 0; i < rs.Len(); i++ {
		attrs := rs.At(i).Resource().Attributes()
		svc, _ := attrs.Get("service.name")
		assert.Equal(t, "with-key", svc.Str(), "nothing without a key reached the backend")
		tenant, _ := attrs.Get("tenant.id")
		assert.Equal(t, "acme", tenant.Str())
	}
}
