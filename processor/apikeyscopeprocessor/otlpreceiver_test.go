package apikeyscopeprocessor

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/extension/apikeyauthextension"
	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/loopback"
	"github.com/otelwarden/warden/processor/apikeyscopeprocessor/internal/metadata"
)

// otlpTracesPipeline is a real OTLP receiver on 127.0.0.1 (gRPC and HTTP, include_metadata:
// true, with api_key_auth when keysFile is set), this processor and a sink.
type otlpTracesPipeline struct {
	grpcAddr, httpAddr string
	sink               *consumertest.TracesSink
}

func startOTLPTracesPipeline(t *testing.T, keysFile string, tweak func(*Config)) *otlpTracesPipeline {
	return startOTLPTracesPipelineWith(t, keysFile, true, tweak)
}

func startOTLPTracesPipelineWith(t *testing.T, keysFile string, includeMetadata bool, tweak func(*Config)) *otlpTracesPipeline {
	t.Helper()
	ctx := context.Background()
	h := audittest.Host{}
	protocol := map[string]any{"include_metadata": includeMetadata}
	if keysFile != "" {
		ef := apikeyauthextension.NewFactory()
		ecfg := ef.CreateDefaultConfig().(*apikeyauthextension.Config)
		ecfg.KeysFile = keysFile
		ecfg.ReloadInterval = 0
		ext, err := ef.Create(ctx, extensiontest.NewNopSettings(ef.Type()), ecfg)
		require.NoError(t, err)
		require.NoError(t, ext.Start(ctx, h))
		t.Cleanup(func() { require.NoError(t, ext.Shutdown(ctx)) })
		h[component.NewID(ef.Type())] = ext
		protocol["auth"] = map[string]any{"authenticator": ef.Type().String()}
	}

	p := &otlpTracesPipeline{grpcAddr: loopback.FreeAddr(t), httpAddr: loopback.FreeAddr(t), sink: new(consumertest.TracesSink)}
	pcfg := createDefaultConfig().(*Config)
	if tweak != nil {
		tweak(pcfg)
	}
	proc, err := NewFactory().CreateTraces(ctx, processortest.NewNopSettings(metadata.Type), pcfg, p.sink)
	require.NoError(t, err)
	require.NoError(t, proc.Start(ctx, h))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(ctx)) })

	rf := otlpreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig()
	grpcCfg, httpCfg := map[string]any{"endpoint": p.grpcAddr}, map[string]any{"endpoint": p.httpAddr}
	for k, v := range protocol {
		grpcCfg[k], httpCfg[k] = v, v
	}
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{"grpc": grpcCfg, "http": httpCfg},
	}).Unmarshal(&rcfg))
	rcv, err := rf.CreateTraces(ctx, receivertest.NewNopSettings(rf.Type()), rcfg, proc)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, h))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(ctx)) })
	return p
}

// postHTTP sends td to /v1/traces with the key (if any) and returns the status and body.
func (p *otlpTracesPipeline) postHTTP(t *testing.T, key string, td ptrace.Traces) (int, string) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	r, err := http.NewRequest(http.MethodPost, "http://"+p.httpAddr+"/v1/traces", bytes.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-protobuf")
	if key != "" {
		r.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

// exportGRPC sends td over gRPC with the key (if any).
func (p *otlpTracesPipeline) exportGRPC(t *testing.T, key string, td ptrace.Traces) error {
	t.Helper()
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if key != "" {
		ctx = grpcmd.AppendToOutgoingContext(ctx, "x-api-key", key)
	}
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	return err
}

// keysFile writes a keys file with one key per entry of scopes, all of tenant acme, and
// returns the keys in the same order.
func keysFile(t *testing.T, scopes ...[]apikeys.Scope) (string, []string) {
	t.Helper()
	f := apikeys.NewFile()
	keys := make([]string, len(scopes))
	for i, s := range scopes {
		key, rec, err := apikeys.Generate("acme", s, time.Time{}, time.Now())
		require.NoError(t, err)
		require.NoError(t, f.Add(rec))
		keys[i] = key
	}
	path := filepath.Join(t.TempDir(), "keys.yaml")
	require.NoError(t, f.Save(path))
	return path, keys
}

// TestWithAPIKeyAuthAndOTLPReceiver: over HTTP, where api_key_auth cannot see the signal, a
// logs key sending traces is refused with 403 by this processor and nothing goes on; a traces
// key's spans arrive with the key's tenant, whatever the sender claimed.
func TestWithAPIKeyAuthAndOTLPReceiver(t *testing.T) {
	path, keys := keysFile(t, []apikeys.Scope{apikeys.ScopeLogs}, []apikeys.Scope{apikeys.ScopeTraces})
	logsKey, tracesKey := keys[0], keys[1]
	p := startOTLPTracesPipeline(t, path, nil)

	code, body := p.postHTTP(t, logsKey, twoResourceTraces())
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body, "lacks the traces scope", "the sender is told why")
	assert.Zero(t, p.sink.SpanCount(), "nothing of a refused batch reaches the sink")

	code, body = p.postHTTP(t, tracesKey, twoResourceTraces())
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, 3, p.sink.SpanCount())
	rss := p.sink.AllTraces()[0].ResourceSpans()
	require.Equal(t, 2, rss.Len())
	for i := range rss.Len() {
		v, ok := rss.At(i).Resource().Attributes().Get("tenant.id")
		require.True(t, ok)
		assert.Equal(t, "acme", v.Str(), "resource %d: the sender claimed globex or nothing", i)
	}

	// Over gRPC the authenticator refuses the logs key itself, before this processor.
	err := p.exportGRPC(t, logsKey, twoResourceTraces())
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	require.NoError(t, p.exportGRPC(t, tracesKey, twoResourceTraces()))
	assert.Equal(t, 6, p.sink.SpanCount())
}

// TestRefusalStatusesOverGRPCAndHTTP: a refusal by this processor reaches senders as
// PERMISSION_DENIED / 403 (a key without audit where audit_scope asks for it, which
// api_key_auth lets through on gRPC) and, with require_auth and no authenticator,
// UNAUTHENTICATED / 401.
func TestRefusalStatusesOverGRPCAndHTTP(t *testing.T) {
	path, keys := keysFile(t, []apikeys.Scope{apikeys.ScopeTraces})
	p := startOTLPTracesPipeline(t, path, func(c *Config) { c.AuditScope = true })
	err := p.exportGRPC(t, keys[0], twoResourceTraces())
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	assert.Contains(t, status.Convert(err).Message(), "lacks the audit scope")
	code, _ := p.postHTTP(t, keys[0], twoResourceTraces())
	assert.Equal(t, http.StatusForbidden, code)
	assert.Zero(t, p.sink.SpanCount())

	open := startOTLPTracesPipeline(t, "", func(c *Config) { c.RequireAuth = true })
	err = open.exportGRPC(t, "", twoResourceTraces())
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	code, _ = open.postHTTP(t, "", twoResourceTraces())
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Zero(t, open.sink.SpanCount())
}

// TestAuthReachesProcessorWithoutIncludeMetadata: at v0.161.0, confighttp and configgrpc put
// the authenticator's client.Info.Auth on the context whatever include_metadata says (it only
// adds the request's headers as client.Info.Metadata), so scopes are enforced either way.
func TestAuthReachesProcessorWithoutIncludeMetadata(t *testing.T) {
	path, keys := keysFile(t, []apikeys.Scope{apikeys.ScopeLogs}, []apikeys.Scope{apikeys.ScopeTraces})
	p := startOTLPTracesPipelineWith(t, path, false, nil)
	code, _ := p.postHTTP(t, keys[0], twoResourceTraces())
	assert.Equal(t, http.StatusForbidden, code)
	code, body := p.postHTTP(t, keys[1], twoResourceTraces())
	require.Equal(t, http.StatusOK, code, body)
	v, _ := p.sink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().Get("tenant.id")
	assert.Equal(t, "acme", v.Str())
}
