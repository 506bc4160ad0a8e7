//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// startGateway runs examples/gateway as shipped, with the e2e PKI, forwarding to upstream in
// plaintext.
func startGateway(t *testing.T, pki *PKI, upstream string) (*Collector, map[string]string) {
	t.Helper()
	env := map[string]string{
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_HOST":       "127.0.0.1",
		"WARDEN_METRICS_PORT":       strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_TLS_CERT":           pki.ServerCert,
		"WARDEN_TLS_KEY":            pki.ServerKey,
		"WARDEN_TLS_CLIENT_CA":      pki.CA,
		"WARDEN_UPSTREAM_ENDPOINT":  upstream,
		"WARDEN_UPSTREAM_INSECURE":  "true",
		"WARDEN_UPSTREAM_CA":        "",
	}
	return StartCollector(t, "gateway", filepath.Join(root, "examples", "gateway", "config.yaml"), env), env
}

func oneSpan(name string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "mtls-probe")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName(name)
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	return td
}

func exportGRPC(endpoint string, tlsCfg *tls.Config, td ptrace.Traces) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	return err
}

func exportHTTP(endpoint string, tlsCfg *tls.Config, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 10 * time.Second}
	resp, err := client.Post("https://"+endpoint+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestGatewayRequiresClientCertificate runs examples/gateway with a throwaway CA and proves
// that senders without a client certificate are refused on gRPC and HTTP while senders with
// one (a Go client and telemetrygen) get through to the backend.
func TestGatewayRequiresClientCertificate(t *testing.T) {
	pki := NewPKI(t)
	backend, benv := startDefault(t, "backend")
	gateway, genv := startGateway(t, pki, benv["WARDEN_OTLP_GRPC_ENDPOINT"])
	grpcEP, httpEP := genv["WARDEN_OTLP_GRPC_ENDPOINT"], genv["WARDEN_OTLP_HTTP_ENDPOINT"]

	// Refused: no client certificate, over gRPC and over HTTP.
	err := exportGRPC(grpcEP, pki.ClientTLS(false), oneSpan("refused-grpc"))
	require.Error(t, err, "gRPC without a client certificate must be refused")
	err = exportHTTP(httpEP, pki.ClientTLS(false), oneSpan("refused-http"))
	require.Error(t, err, "HTTP without a client certificate must be refused")
	// Refused: plaintext and server-auth-only telemetrygen. telemetrygen exits 0 after a failed
	// export, so its log and the backend's output are what tell.
	out, _ := TryTelemetrygen(t, "traces", "--otlp-endpoint", grpcEP, "--otlp-insecure", "--traces", "3", "--rate", "0", "--timeout", "3s", "--service", "refused-plaintext")
	assert.Contains(t, out, "traces export: ", "plaintext telemetrygen must fail against the mTLS gateway")
	out, _ = TryTelemetrygen(t, "traces", "--otlp-endpoint", grpcEP, "--ca-cert", pki.CA, "--traces", "3", "--rate", "0", "--timeout", "3s", "--service", "refused-no-cert")
	assert.Contains(t, out, "traces export: ", "telemetrygen without a client certificate must fail")

	// Accepted: with the client certificate.
	require.NoError(t, exportGRPC(grpcEP, pki.ClientTLS(true), oneSpan("accepted-grpc")))
	require.NoError(t, exportHTTP(httpEP, pki.ClientTLS(true), oneSpan("accepted-http")))
	Telemetrygen(t, "traces", "--otlp-endpoint", grpcEP, "--mtls", "--ca-cert", pki.CA,
		"--client-cert", pki.ClientCert, "--client-key", pki.ClientKey, "--traces", "20", "--rate", "0", "--service", "mtls-telemetrygen")

	output := filepath.Join(benv["WARDEN_DATA_DIR"], "traces.jsonl")
	Eventually(t, "spans at the backend", 2+40, SpanCount(t, output), 30*time.Second, gateway, backend)
	names := map[string]bool{}
	td := ReadTraces(t, output)
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		spans := td.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < spans.Len(); j++ {
			names[spans.At(j).Name()] = true
		}
	}
	assert.True(t, names["accepted-grpc"] && names["accepted-http"])
	assert.False(t, names["refused-grpc"] || names["refused-http"])
	assert.Equal(t, map[string]int{"mtls-probe": 2, "mtls-telemetrygen": 40}, ServiceNames(td))
}

// TestAgentGatewayChain runs examples/agent -> examples/gateway (mTLS) -> the default config
// and checks that tailed log lines, host metrics and OTLP traces all arrive, tagged by the agent.
func TestAgentGatewayChain(t *testing.T) {
	pki := NewPKI(t)
	backend, benv := startDefault(t, "backend")
	gateway, genv := startGateway(t, pki, benv["WARDEN_OTLP_GRPC_ENDPOINT"])

	appLogs := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.MkdirAll(appLogs, 0o755))
	var lines strings.Builder
	for i := range 30 {
		fmt.Fprintf(&lines, "2026-01-02T03:04:05Z INFO order %d shipped\n", i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(appLogs, "shop.log"), []byte(lines.String()), 0o600))

	aenv := map[string]string{
		"WARDEN_OTLP_GRPC_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":       FreeEndpoint(t),
		"WARDEN_METRICS_PORT":          strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_GATEWAY_ENDPOINT":      genv["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_TLS_CA":                pki.CA,
		"WARDEN_TLS_CERT":              pki.ClientCert,
		"WARDEN_TLS_KEY":               pki.ClientKey,
		"WARDEN_LOG_INCLUDE":           filepath.Join(appLogs, "*.log"),
		"WARDEN_LOG_START_AT":          "beginning",
		"WARDEN_STATE_DIR":             filepath.Join(t.TempDir(), "state"),
		"WARDEN_HOST_METRICS_INTERVAL": "1s",
	}
	agent := StartCollector(t, "agent", filepath.Join(root, "examples", "agent", "config.yaml"), aenv)
	Telemetrygen(t, "traces", "--otlp-endpoint", aenv["WARDEN_OTLP_GRPC_ENDPOINT"], "--otlp-insecure", "--traces", "10", "--rate", "0", "--service", "via-agent")

	data := benv["WARDEN_DATA_DIR"]
	Eventually(t, "spans through agent and gateway", 20, SpanCount(t, filepath.Join(data, "traces.jsonl")), 30*time.Second, agent, gateway, backend)
	Eventually(t, "tailed log lines through agent and gateway", 30, LogCount(t, filepath.Join(data, "logs.jsonl")), 30*time.Second, agent, gateway, backend)

	ld := ReadLogs(t, filepath.Join(data, "logs.jsonl"))
	rl := ld.ResourceLogs().At(0)
	tier, _ := rl.Resource().Attributes().Get("warden.tier")
	assert.Equal(t, "agent", tier.AsString())
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Contains(t, lr.Body().AsString(), "shipped")
	path, _ := lr.Attributes().Get("log.file.path")
	assert.Equal(t, filepath.Join(appLogs, "shop.log"), path.AsString())

	deadline := time.Now().Add(30 * time.Second)
	var names map[string]bool
	for time.Now().Before(deadline) {
		names = metricNames(ReadMetrics(t, filepath.Join(data, "metrics.jsonl")))
		if names["system.cpu.time"] && names["system.memory.usage"] {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	assert.True(t, names["system.cpu.time"], "host metrics arrive: %v", names)
	assert.True(t, names["system.memory.usage"], "host metrics arrive: %v", names)
}

func metricNames(md pmetric.Metrics) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			for k := 0; k < sms.At(j).Metrics().Len(); k++ {
				out[sms.At(j).Metrics().At(k).Name()] = true
			}
		}
	}
	return out
}

// TestAgentLoadBalancesByService runs examples/agent/config-loadbalancing.yaml in front of two
// gateways, each with its own backend, and checks that every service's spans land whole on
// one gateway and that nothing is lost or duplicated.
func TestAgentLoadBalancesByService(t *testing.T) {
	pki := NewPKI(t)
	backend1, benv1 := startDefault(t, "backend-1")
	backend2, benv2 := startDefault(t, "backend-2")
	gw1, genv1 := startGateway(t, pki, benv1["WARDEN_OTLP_GRPC_ENDPOINT"])
	gw2, genv2 := startGateway(t, pki, benv2["WARDEN_OTLP_GRPC_ENDPOINT"])

	aenv := map[string]string{
		"WARDEN_OTLP_GRPC_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":       FreeEndpoint(t),
		"WARDEN_METRICS_PORT":          strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_GATEWAY_1":             genv1["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_GATEWAY_2":             genv2["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_TLS_CA":                pki.CA,
		"WARDEN_TLS_CERT":              pki.ClientCert,
		"WARDEN_TLS_KEY":               pki.ClientKey,
		"WARDEN_LOG_INCLUDE":           filepath.Join(t.TempDir(), "none-*.log"),
		"WARDEN_STATE_DIR":             filepath.Join(t.TempDir(), "state"),
		"WARDEN_HOST_METRICS_INTERVAL": "1h",
	}
	agent := StartCollector(t, "agent-lb", filepath.Join(root, "examples", "agent", "config-loadbalancing.yaml"), aenv)
	// Sixteen services: with two gateways on a ring keyed by random ports, six left a 3%
	// chance that every service hashed to one gateway.
	services := []string{"checkout", "payments", "search", "users", "gateway", "billing", "cart", "catalog",
		"shipping", "pricing", "reviews", "inventory", "auth", "email", "ads", "recommendations"}
	for _, svc := range services {
		Telemetrygen(t, "traces", "--otlp-endpoint", aenv["WARDEN_OTLP_GRPC_ENDPOINT"], "--otlp-insecure",
			"--traces", "5", "--rate", "0", "--service", svc)
	}
	out1 := filepath.Join(benv1["WARDEN_DATA_DIR"], "traces.jsonl")
	out2 := filepath.Join(benv2["WARDEN_DATA_DIR"], "traces.jsonl")
	total := func() int { return SpanCount(t, out1)() + SpanCount(t, out2)() }
	Eventually(t, "spans over both gateways", 10*len(services), total, 30*time.Second, agent, gw1, gw2, backend1, backend2)

	on1, on2 := ServiceNames(ReadTraces(t, out1)), ServiceNames(ReadTraces(t, out2))
	for _, svc := range services {
		assert.Equal(t, 10, on1[svc]+on2[svc], "service %s complete", svc)
		assert.False(t, on1[svc] > 0 && on2[svc] > 0, "service %s split over both gateways (%d/%d)", svc, on1[svc], on2[svc])
	}
	assert.NotEmpty(t, on1, "gateway 1 got some services")
	assert.NotEmpty(t, on2, "gateway 2 got some services")
}
