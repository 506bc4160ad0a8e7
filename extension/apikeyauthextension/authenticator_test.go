package apikeyauthextension

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadatatest"
	"github.com/otelwarden/warden/internal/apikeys"
)

const (
	traceMethod   = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	logsMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
	metricsMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
)

func TestAuthenticateOutcomes(t *testing.T) {
	k := standardKeyring(t)
	a, clk, tel := startAuthenticator(t, k, func(c *Config) { c.Lockout.Failures = 0 })
	clk.now = t0.Add(2 * time.Hour) // past the expiry and the revocation

	unknown := "wk_k-00000000_" + strings.Repeat("A", 43)
	wrong := k.keys["good"][:len(k.keys["good"])-43] + strings.Repeat("A", 43)
	tests := []struct {
		name    string
		ctx     context.Context
		headers map[string][]string
		err     error
		code    codes.Code
		tenant  string
	}{
		{name: "http header", headers: map[string][]string{"X-Api-Key": {k.keys["good"]}}, tenant: "acme"},
		{name: "grpc metadata", headers: map[string][]string{"x-api-key": {k.keys["second"]}}, tenant: "acme"},
		{name: "authorization ApiKey", headers: map[string][]string{"Authorization": {"ApiKey " + k.keys["logsOnly"]}}, tenant: "globex"},
		{name: "authorization apikey on grpc", headers: map[string][]string{"authorization": {"apikey " + k.keys["good"]}}, tenant: "acme"},
		{name: "grpc traces with traces scope", ctx: inMethod(context.Background(), traceMethod), headers: map[string][]string{"x-api-key": {k.keys["second"]}}, tenant: "acme"},
		{name: "grpc metrics with all scopes", ctx: inMethod(context.Background(), metricsMethod), headers: map[string][]string{"x-api-key": {k.keys["good"]}}, tenant: "acme"},
		{name: "missing", headers: map[string][]string{"Content-Type": {"application/x-protobuf"}}, err: errMissing},
		{name: "authorization bearer", headers: map[string][]string{"Authorization": {"Bearer " + k.keys["good"]}}, err: errMissing},
		{name: "malformed", headers: map[string][]string{"X-Api-Key": {"secret"}}, err: errMalformed},
		{name: "two values", headers: map[string][]string{"X-Api-Key": {k.keys["good"], k.keys["second"]}}, err: errMalformed},
		{name: "unknown", headers: map[string][]string{"X-Api-Key": {unknown}}, err: errRefused},
		{name: "wrong", headers: map[string][]string{"X-Api-Key": {wrong}}, err: errRefused},
		{name: "expired", headers: map[string][]string{"X-Api-Key": {k.keys["expired"]}}, err: errExpired},
		{name: "revoked", headers: map[string][]string{"X-Api-Key": {k.keys["revoked"]}}, err: errRefused},
		{name: "grpc logs without logs scope", ctx: inMethod(context.Background(), logsMethod), headers: map[string][]string{"x-api-key": {k.keys["second"]}}, code: codes.PermissionDenied},
		{name: "grpc unknown method", ctx: inMethod(context.Background(), "/grpc.health.v1.Health/Check"), headers: map[string][]string{"x-api-key": {k.keys["good"]}}, code: codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got, err := a.Authenticate(ctx, tt.headers)
			switch {
			case tt.err != nil:
				require.ErrorIs(t, err, tt.err)
				_, isStatus := status.FromError(err)
				assert.False(t, isStatus, "a plain error: the receivers answer UNAUTHENTICATED / 401")
			case tt.code != codes.OK:
				require.Error(t, err)
				assert.Equal(t, tt.code, status.Code(err))
			default:
				require.NoError(t, err)
				auth := client.FromContext(got).Auth
				require.NotNil(t, auth)
				assert.Equal(t, tt.tenant, auth.GetAttribute(AttributeTenant))
				assert.NotEmpty(t, auth.GetAttribute(AttributeKeyID))
				assert.NotEmpty(t, auth.GetAttribute(AttributeScopes))
				assert.Nil(t, auth.GetAttribute("password"))
				assert.Equal(t, []string{"tenant", "key_id", "scopes"}, auth.GetAttributeNames())
			}
		})
	}

	dp := func(v int64, kv ...string) metricdata.DataPoint[int64] {
		attrs := []attribute.KeyValue{attribute.String("outcome", kv[0])}
		if len(kv) > 1 {
			attrs = append(attrs, attribute.String("reason", kv[1]))
		}
		return metricdata.DataPoint[int64]{Value: v, Attributes: attribute.NewSet(attrs...)}
	}
	metadatatest.AssertEqualAPIKeyAuthRequests(t, tel, []metricdata.DataPoint[int64]{
		dp(6, "accepted"),
		dp(2, "refused", "missing"), dp(2, "refused", "malformed"), dp(1, "refused", "unknown"), dp(1, "refused", "wrong"),
		dp(1, "refused", "expired"), dp(1, "refused", "revoked"), dp(2, "refused", "scope"),
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAPIKeyAuthKeys(t, tel, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
}

func TestAuthenticateKeepsClientInfo(t *testing.T) {
	k := standardKeyring(t)
	a, _, _ := startAuthenticator(t, k, nil)
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-scope": {"a"}})})
	got, err := a.Authenticate(ctx, map[string][]string{"X-Api-Key": {k.keys["good"]}})
	require.NoError(t, err)
	info := client.FromContext(got)
	assert.Equal(t, []string{"a"}, info.Metadata.Get("x-scope"))
	assert.Equal(t, k.ids["good"], info.Auth.GetAttribute(AttributeKeyID))
	assert.Equal(t, "tenant.id", a.TenantAttribute())
}

func TestReloadOnChange(t *testing.T) {
	k := standardKeyring(t)
	a, _, tel := startAuthenticator(t, k, func(c *Config) { c.ReloadInterval = 10 * time.Millisecond })
	good := map[string][]string{"X-Api-Key": {k.keys["good"]}}
	_, err := a.Authenticate(context.Background(), good)
	require.NoError(t, err)

	// A new key appears and the good one is revoked, without a restart.
	k.add(t, "new", "acme", []apikeys.Scope{apikeys.ScopeTraces}, time.Time{}, time.Time{})
	k.file.Keys[0].Revoked = t0
	k.save(t)
	require.Eventually(t, func() bool {
		_, err := a.Authenticate(context.Background(), good)
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	_, err = a.Authenticate(context.Background(), map[string][]string{"X-Api-Key": {k.keys["new"]}})
	require.NoError(t, err)

	// A broken file keeps the last good keys, is logged and counted once.
	require.NoError(t, os.WriteFile(k.path, []byte("format: warden-apikeys\nversion: 1\nkeys: [{id: x}]\n"), 0o600))
	require.Eventually(t, func() bool {
		m, err := tel.GetMetric("otelcol_api_key_auth_reload_errors")
		return err == nil && m.Data.(metricdata.Sum[int64]).DataPoints[0].Value >= 1
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	metadatatest.AssertEqualAPIKeyAuthReloadErrors(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	_, err = a.Authenticate(context.Background(), map[string][]string{"X-Api-Key": {k.keys["new"]}})
	require.NoError(t, err, "the last good set stays in use")
	metadatatest.AssertEqualAPIKeyAuthKeys(t, tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())

	// Removed, then back: the keys come back too.
	require.NoError(t, os.Remove(k.path))
	time.Sleep(50 * time.Millisecond)
	k.file.Keys[0].Revoked = time.Time{}
	k.save(t)
	require.Eventually(t, func() bool {
		_, err := a.Authenticate(context.Background(), good)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
}

func TestStartFailsWithoutAGoodFile(t *testing.T) {
	k := newKeyring(t)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.KeysFile = k.path
	a, err := newAuthenticator(cfg, extensiontest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	require.ErrorContains(t, a.Start(context.Background(), nil), "keys_file")
	require.NoError(t, os.WriteFile(k.path, []byte("format: nope\n"), 0o600))
	require.ErrorContains(t, a.Start(context.Background(), nil), "format")
	require.NoError(t, a.Shutdown(context.Background()))
}

func TestLockout(t *testing.T) {
	k := standardKeyring(t)
	a, clk, tel := startAuthenticator(t, k, func(c *Config) {
		c.Lockout = LockoutConfig{Failures: 3, Window: time.Minute, Duration: 5 * time.Minute, MaxTracked: 100}
	})
	attacker, other := fromAddr("10.0.0.1"), fromAddr("10.0.0.2")
	bad := map[string][]string{"X-Api-Key": {k.keys["good"][:len(k.keys["good"])-43] + strings.Repeat("A", 43)}}
	good := map[string][]string{"X-Api-Key": {k.keys["good"]}}

	for range 2 {
		_, err := a.Authenticate(attacker, bad)
		require.ErrorIs(t, err, errRefused)
	}
	_, err := a.Authenticate(attacker, good)
	require.NoError(t, err, "under the threshold")
	_, err = a.Authenticate(attacker, bad)
	require.ErrorIs(t, err, errRefused)
	_, err = a.Authenticate(attacker, good)
	require.ErrorIs(t, err, errLocked, "locked out, even with a good key")
	_, err = a.Authenticate(other, good)
	require.NoError(t, err, "another address is not affected")
	_, err = a.Authenticate(context.Background(), good)
	require.NoError(t, err, "no address: not tracked")

	clk.advance(5*time.Minute - time.Second)
	_, err = a.Authenticate(attacker, good)
	require.ErrorIs(t, err, errLocked)
	clk.advance(time.Second)
	_, err = a.Authenticate(attacker, good)
	require.NoError(t, err, "released after the duration")

	// Failures spread over more than the window do not add up.
	for range 4 {
		_, err = a.Authenticate(attacker, bad)
		require.ErrorIs(t, err, errRefused)
		_, err = a.Authenticate(attacker, good)
		require.NoError(t, err)
		clk.advance(31 * time.Second)
	}

	// Missing keys are not counted.
	for range 5 {
		_, err = a.Authenticate(other, map[string][]string{})
		require.ErrorIs(t, err, errMissing)
	}
	_, err = a.Authenticate(other, good)
	require.NoError(t, err)

	// IPv4-mapped IPv6 is the same address.
	for range 3 {
		_, _ = a.Authenticate(fromAddr("::ffff:10.0.0.9"), bad)
	}
	_, err = a.Authenticate(fromAddr("10.0.0.9"), good)
	require.ErrorIs(t, err, errLocked)

	metadatatest.AssertEqualAPIKeyAuthRequests(t, tel, []metricdata.DataPoint[int64]{
		{Value: 9, Attributes: attribute.NewSet(attribute.String("outcome", "accepted"))},
		{Value: 10, Attributes: attribute.NewSet(attribute.String("outcome", "refused"), attribute.String("reason", "wrong"))},
		{Value: 3, Attributes: attribute.NewSet(attribute.String("outcome", "refused"), attribute.String("reason", "locked_out"))},
		{Value: 5, Attributes: attribute.NewSet(attribute.String("outcome", "refused"), attribute.String("reason", "missing"))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestLockoutIsBounded(t *testing.T) {
	l := newLockout(LockoutConfig{Failures: 2, Window: time.Minute, Duration: 5 * time.Minute, MaxTracked: 3})
	for i := range 10 {
		l.fail(remoteIP(fromAddrInfo(t, i)), "", t0)
	}
	assert.Equal(t, 3, l.len())
	assert.False(t, l.locked(remoteIP(fromAddrInfo(t, 0)), t0), "forgotten by the LRU")

	// The key id is counted and reported when it crosses the threshold, but never refused.
	assert.False(t, l.fail(remoteIP(fromAddrInfo(t, 20)), "k-1", t0))
	assert.True(t, l.fail(remoteIP(fromAddrInfo(t, 21)), "k-1", t0))

	// Entries whose window and lockout are over are dropped when looked at.
	addr := remoteIP(fromAddrInfo(t, 21))
	l.fail(addr, "", t0)
	require.True(t, l.locked(addr, t0), "two failures: locked")
	before := l.len()
	assert.False(t, l.locked(addr, t0.Add(5*time.Minute)))
	assert.Equal(t, before-1, l.len())

	assert.Nil(t, newLockout(LockoutConfig{}), "failures 0: off")
	var off *lockout
	assert.False(t, off.locked(addr, t0))
	assert.False(t, off.fail(addr, "k", t0))
	assert.Zero(t, off.len())
}

func fromAddrInfo(t *testing.T, i int) net.Addr {
	t.Helper()
	return client.FromContext(fromAddr(fmt.Sprintf("10.1.0.%d", i))).Addr
}
