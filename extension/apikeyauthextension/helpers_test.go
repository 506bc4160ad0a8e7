package apikeyauthextension

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"google.golang.org/grpc"
	grpcmd "google.golang.org/grpc/metadata"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadatatest"
	"github.com/otelwarden/warden/internal/apikeys"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// keyring is a keys file on disk with the key strings of its records.
type keyring struct {
	path string
	file *apikeys.File
	keys map[string]string // by name given in the test
	ids  map[string]string
}

func newKeyring(t testing.TB) *keyring {
	return &keyring{path: filepath.Join(t.TempDir(), "keys.yaml"), file: apikeys.NewFile(), keys: map[string]string{}, ids: map[string]string{}}
}

func (k *keyring) add(t testing.TB, name, tenant string, scopes []apikeys.Scope, expires, revoked time.Time) {
	key, rec, err := apikeys.Generate(tenant, scopes, expires, t0)
	require.NoError(t, err)
	rec.Revoked = revoked
	require.NoError(t, k.file.Add(rec))
	k.keys[name], k.ids[name] = key, rec.ID
}

func (k *keyring) save(t testing.TB) {
	require.NoError(t, k.file.Save(k.path))
}

// standardKeyring holds: good (acme, traces+logs+metrics), second (acme, traces), logsOnly
// (globex, logs), expired and revoked (acme).
func standardKeyring(t testing.TB) *keyring {
	k := newKeyring(t)
	all := []apikeys.Scope{apikeys.ScopeTraces, apikeys.ScopeLogs, apikeys.ScopeMetrics}
	k.add(t, "good", "acme", all, time.Time{}, time.Time{})
	k.add(t, "second", "acme", []apikeys.Scope{apikeys.ScopeTraces}, time.Time{}, time.Time{})
	k.add(t, "logsOnly", "globex", []apikeys.Scope{apikeys.ScopeLogs}, time.Time{}, time.Time{})
	k.add(t, "expired", "acme", all, t0.Add(time.Hour), time.Time{})
	k.add(t, "revoked", "acme", all, time.Time{}, t0.Add(time.Minute))
	k.save(t)
	return k
}

// clock is a settable time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

// startAuthenticator creates and starts the extension on the keyring's file, with a clock set
// to t0 (reloading uses the real clock).
func startAuthenticator(t testing.TB, k *keyring, tweak func(*Config)) (*authenticator, *clock, *componenttest.Telemetry) {
	return startAuthenticatorOn(t, componenttest.NewNopHost(), k, tweak)
}

// startAuthenticatorOn is startAuthenticator on a host of the test's (with a ledger).
func startAuthenticatorOn(t testing.TB, host component.Host, k *keyring, tweak func(*Config)) (*authenticator, *clock, *componenttest.Telemetry) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.KeysFile = k.path
	cfg.ReloadInterval = 0
	if tweak != nil {
		tweak(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ext, err := NewFactory().Create(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	a := ext.(*authenticator)
	c := &clock{now: t0}
	a.now = c.Now
	require.NoError(t, a.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, a.Shutdown(context.Background())) })
	return a, c, tel
}

// fromAddr returns a context whose client.Info has a TCP remote address at ip.
func fromAddr(ip string) context.Context {
	return client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}})
}

// methodStream is a grpc.ServerTransportStream that only knows its method, so that
// grpc.Method works on the context as it does in a server interceptor.
type methodStream string

func (m methodStream) Method() string           { return string(m) }
func (methodStream) SetHeader(grpcmd.MD) error  { return nil }
func (methodStream) SendHeader(grpcmd.MD) error { return nil }
func (methodStream) SetTrailer(grpcmd.MD) error { return nil }

func inMethod(ctx context.Context, method string) context.Context {
	return grpc.NewContextWithServerTransportStream(ctx, methodStream(method))
}
