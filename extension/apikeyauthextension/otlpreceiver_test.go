package apikeyauthextension

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/loopback"
)

// TestWithOTLPReceiver runs a real OTLP receiver on 127.0.0.1 (gRPC and HTTP) with
// auth: {authenticator: api_key_auth} and exports to it with good and bad keys.
func TestWithOTLPReceiver(t *testing.T) {
	k := standardKeyring(t)
	auth, _, _ := startAuthenticator(t, k, nil)
	auth.now = func() time.Time { return t0.Add(2 * time.Hour) } // past the expiry and the revocation

	grpcAddr, httpAddr := loopback.FreeAddr(t), loopback.FreeAddr(t)
	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": grpcAddr, "auth": map[string]any{"authenticator": "api_key_auth"}},
			"http": map[string]any{"endpoint": httpAddr, "auth": map[string]any{"authenticator": "api_key_auth"}},
		},
	}).Unmarshal(&cfg))
	sink := new(consumertest.TracesSink)
	rcv, err := factory.CreateTraces(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), audittest.Host{component.NewID(metadata.Type): auth}))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })

	req := ptraceotlp.NewExportRequestFromTraces(someTraces())

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	grpcClient := ptraceotlp.NewGRPCClient(conn)
	exportGRPC := func(key string) error {
		ctx := grpcmd.AppendToOutgoingContext(context.Background(), "x-api-key", key)
		_, err := grpcClient.Export(ctx, req)
		return err
	}
	body, err := req.MarshalProto()
	require.NoError(t, err)
	exportHTTP := func(header, value string) int {
		r, err := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/v1/traces", bytes.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/x-protobuf")
		r.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	require.NoError(t, exportGRPC(k.keys["good"]))
	assert.Equal(t, http.StatusOK, exportHTTP("X-API-Key", k.keys["second"]))
	assert.Equal(t, http.StatusOK, exportHTTP("Authorization", "ApiKey "+k.keys["good"]))
	require.Len(t, sink.Contexts(), 3)
	for i, want := range []string{k.ids["good"], k.ids["second"], k.ids["good"]} {
		info := client.FromContext(sink.Contexts()[i])
		require.NotNil(t, info.Auth, "export %d", i)
		assert.Equal(t, "acme", info.Auth.GetAttribute(AttributeTenant))
		assert.Equal(t, want, info.Auth.GetAttribute(AttributeKeyID))
	}

	err = exportGRPC(k.keys["revoked"])
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	err = exportGRPC("wk_nope")
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	err = exportGRPC(k.keys["logsOnly"])
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "a logs key sending traces over gRPC: %v", err)
	assert.Equal(t, http.StatusUnauthorized, exportHTTP("X-API-Key", k.keys["expired"]))
	assert.Equal(t, http.StatusUnauthorized, exportHTTP("X-Other", "x"))
	// On HTTP the signal is not visible to the authenticator: the scope is left to a
	// processor, and a logs key sending traces is let through here.
	assert.Equal(t, http.StatusOK, exportHTTP("X-API-Key", k.keys["logsOnly"]))
	assert.Len(t, sink.Contexts(), 4)
}

func someTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("GET /cart")
	span.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	return td
}
