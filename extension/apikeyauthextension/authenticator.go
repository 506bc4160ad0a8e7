package apikeyauthextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/internal/audit"
)

// The errors a refused request gets. The receivers answer them with UNAUTHENTICATED (gRPC) or
// 401 (HTTP); a missing scope on gRPC is a PERMISSION_DENIED status instead.
var (
	errMissing   = errors.New("no API key: send it in the configured header or as Authorization: ApiKey <key>")
	errMalformed = errors.New("malformed API key")
	errRefused   = errors.New("API key not accepted")
	errExpired   = errors.New("API key expired")
	errLocked    = errors.New("too many failed attempts from this address; try again later")
)

// Attribute names of the AuthData the authenticator puts into client.Info.
const (
	AttributeTenant = "tenant"
	AttributeKeyID  = "key_id"
	AttributeScopes = "scopes"
)

// Authenticator is what other components may look up by component ID.
type Authenticator interface {
	extensionauth.Server
	// TenantAttribute is the resource attribute the key's tenant is to be stamped into.
	TenantAttribute() string
}

type authenticator struct {
	cfg       *Config
	id        component.ID
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	header, headerLower, headerCanonical string

	keys    atomic.Pointer[keyState]
	lockout *lockout
	outcome [reasonCount + 1]metric.MeasurementOption
	// summaries merge the refusals into login.failure events for the ledger (nil: no ledger).
	summaries *audit.Aggregator

	stop   chan struct{}
	done   sync.WaitGroup
	loaded fileStamp
}

var (
	_ Authenticator       = (*authenticator)(nil)
	_ extension.Extension = (*authenticator)(nil)
)

// keyState is one loaded keys file with the AuthData of every key built once.
type keyState struct {
	set  *apikeys.Set
	auth map[string]*authData
}

type fileStamp struct {
	modTime time.Time
	size    int64
}

// reason is why a request was refused; accepted is the last index of authenticator.outcome.
type reason int

const (
	reasonMissing reason = iota
	reasonMalformed
	reasonUnknown
	reasonWrong
	reasonExpired
	reasonRevoked
	reasonLockedOut
	reasonScope
	reasonCount
	accepted = reasonCount
)

var reasonNames = [reasonCount]string{"missing", "malformed", "unknown", "wrong", "expired", "revoked", "locked_out", "scope"}

func newAuthenticator(cfg *Config, set extension.Settings) (*authenticator, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	a := &authenticator{
		cfg:             cfg,
		id:              set.ID,
		logger:          set.Logger,
		telemetry:       tb,
		now:             time.Now,
		header:          cfg.Header,
		headerLower:     strings.ToLower(cfg.Header),
		headerCanonical: http.CanonicalHeaderKey(cfg.Header),
		lockout:         newLockout(cfg.Lockout),
	}
	for r := range reasonCount {
		a.outcome[r] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("outcome", "refused"), attribute.String("reason", reasonNames[r])))
	}
	a.outcome[accepted] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "accepted")))
	return a, nil
}

// Dependencies makes the collector start the ledger before the authenticator and stop it
// after.
func (a *authenticator) Dependencies() []component.ID {
	if a.cfg.Ledger == nil {
		return nil
	}
	return []component.ID{*a.cfg.Ledger}
}

// Start loads the keys file, refusing to start when it does not load, starts watching it, and
// starts the login.failure summaries when a ledger is configured.
func (a *authenticator) Start(_ context.Context, host component.Host) error {
	rec, err := audit.FromHost(host, a.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("api_key_auth: %w", err)
	}
	stamp, err := statFile(a.cfg.KeysFile)
	if err != nil {
		return fmt.Errorf("api_key_auth: keys_file: %w", err)
	}
	if err := a.load(); err != nil {
		return fmt.Errorf("api_key_auth: %w", err)
	}
	a.loaded = stamp
	if err := a.telemetry.RegisterAPIKeyAuthKeysCallback(func(_ context.Context, o metric.Int64Observer) error {
		if ks := a.keys.Load(); ks != nil {
			o.Observe(int64(ks.set.Len()))
		}
		return nil
	}); err != nil {
		return err
	}
	if !audit.IsNop(rec) {
		if a.summaries, err = a.newSummaries(rec); err != nil {
			return fmt.Errorf("api_key_auth: %w", err)
		}
		a.summaries.Start()
	}
	if a.cfg.ReloadInterval > 0 {
		a.stop = make(chan struct{})
		a.done.Add(1)
		go a.watch()
	}
	return nil
}

// Shutdown stops watching the keys file and records the last summaries.
func (a *authenticator) Shutdown(ctx context.Context) error {
	if a.stop != nil {
		close(a.stop)
		a.done.Wait()
		a.stop = nil
	}
	var err error
	if a.summaries != nil {
		err = a.summaries.Shutdown(ctx)
		a.summaries = nil
	}
	a.telemetry.Shutdown()
	return err
}

// TenantAttribute implements Authenticator.
func (a *authenticator) TenantAttribute() string { return a.cfg.TenantAttribute }

func (a *authenticator) load() error {
	set, err := apikeys.Load(a.cfg.KeysFile)
	if err != nil {
		return err
	}
	ks := &keyState{set: set, auth: make(map[string]*authData, set.Len())}
	for _, rec := range set.Records() {
		scopes := make([]string, len(rec.Scopes))
		for i, s := range rec.Scopes {
			scopes[i] = string(s)
		}
		ks.auth[rec.ID] = &authData{tenant: rec.Tenant, keyID: rec.ID, scopes: scopes}
	}
	a.keys.Store(ks)
	return nil
}

func (a *authenticator) watch() {
	defer a.done.Done()
	ticker := time.NewTicker(a.cfg.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-ticker.C:
			a.reloadIfChanged()
		}
	}
}

// reloadIfChanged reads the keys file again when its modification time or size changed. A
// file that does not load is logged and counted, and the keys loaded last stay in use; it is
// tried again once it changes again.
func (a *authenticator) reloadIfChanged() {
	stamp, err := statFile(a.cfg.KeysFile)
	if err == nil && stamp == a.loaded {
		return
	}
	if err == nil {
		err = a.load()
	}
	if err != nil {
		if stamp != a.loaded { // once per change, not at every tick
			a.logger.Error("api_key_auth: keys file not reloaded; the keys loaded before stay in use", zap.Error(err))
			a.telemetry.APIKeyAuthReloadErrors.Add(context.Background(), 1)
		}
		a.loaded = stamp
		return
	}
	a.loaded = stamp
	a.logger.Info("api_key_auth: keys file reloaded", zap.Int("keys", a.keys.Load().set.Len()))
}

func statFile(path string) (fileStamp, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{modTime: info.ModTime(), size: info.Size()}, nil
}

// Authenticate implements extensionauth.Server.
func (a *authenticator) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	now := a.now()
	info := client.FromContext(ctx)
	addr := remoteIP(info.Addr)
	if a.lockout.locked(addr, now) {
		return ctx, a.refuse(ctx, addr, "", reasonLockedOut, errLocked)
	}
	key, present := a.keyFrom(headers)
	if !present {
		// Not counted towards the lockout: a client without a key is misconfigured, not
		// guessing.
		return ctx, a.refuse(ctx, addr, "", reasonMissing, errMissing)
	}
	ks := a.keys.Load()
	rec, res := ks.set.Verify(key, now)
	switch res {
	case apikeys.OK:
	case apikeys.Malformed:
		return ctx, a.fail(ctx, now, addr, "", reasonMalformed, errMalformed)
	case apikeys.Unknown:
		return ctx, a.fail(ctx, now, addr, "", reasonUnknown, errRefused)
	case apikeys.Wrong:
		return ctx, a.fail(ctx, now, addr, rec.ID, reasonWrong, errRefused)
	case apikeys.Expired:
		return ctx, a.fail(ctx, now, addr, rec.ID, reasonExpired, errExpired)
	default:
		return ctx, a.fail(ctx, now, addr, rec.ID, reasonRevoked, errRefused)
	}
	if method, ok := grpc.Method(ctx); ok {
		if scope, known := scopeOfMethod(method); !known || !rec.HasScope(scope) {
			return ctx, a.refuse(ctx, addr, rec.ID, reasonScope, status.Errorf(codes.PermissionDenied,
				"API key %s may not call %s", rec.ID, method))
		}
	}
	a.telemetry.APIKeyAuthRequests.Add(ctx, 1, a.outcome[accepted])
	info.Auth = ks.auth[rec.ID]
	return client.NewContext(ctx, info), nil
}

// refuse counts a refused request in the metrics and in the ledger's summaries.
func (a *authenticator) refuse(ctx context.Context, addr netip.Addr, keyID string, r reason, err error) error {
	a.telemetry.APIKeyAuthRequests.Add(ctx, 1, a.outcome[r])
	a.summarise(addr, keyID, r)
	return err
}

func (a *authenticator) fail(ctx context.Context, now time.Time, addr netip.Addr, keyID string, r reason, err error) error {
	if a.lockout.fail(addr, keyID, now) {
		a.logger.Warn("api_key_auth: many failed attempts with one key id; it is not locked, but may be under attack",
			zap.String("key_id", keyID))
	}
	return a.refuse(ctx, addr, keyID, r, err)
}

// keyFrom returns the key from the configured header or from Authorization: ApiKey <key>.
// gRPC metadata keys are lower case, HTTP header names canonical; either is found without a
// scan of all headers. More than one value is malformed, and returned as such.
func (a *authenticator) keyFrom(headers map[string][]string) (string, bool) {
	if v, ok := lookup(headers, a.header, a.headerLower, a.headerCanonical); ok {
		return v, true
	}
	if v, ok := lookup(headers, "Authorization", "authorization", "Authorization"); ok {
		const scheme = "apikey "
		if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
			return strings.TrimLeft(v[len(scheme):], " "), true
		}
	}
	return "", false
}

func lookup(headers map[string][]string, names ...string) (string, bool) {
	for _, n := range names {
		if vs, ok := headers[n]; ok && len(vs) > 0 {
			if len(vs) > 1 {
				return "", true
			}
			return vs[0], true
		}
	}
	return "", false
}

// scopeOfMethod maps the OTLP gRPC methods to the scope they need. Other methods (profiles,
// or anything else a receiver may serve) need a scope no key can hold, and are refused.
func scopeOfMethod(method string) (apikeys.Scope, bool) {
	switch method {
	case "/opentelemetry.proto.collector.trace.v1.TraceService/Export":
		return apikeys.ScopeTraces, true
	case "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export":
		return apikeys.ScopeMetrics, true
	case "/opentelemetry.proto.collector.logs.v1.LogsService/Export":
		return apikeys.ScopeLogs, true
	}
	return "", false
}

// remoteIP returns the IP of a remote address without allocating: an IP address (as the
// collector's HTTP servers give it) or a TCP or UDP address (gRPC). Other addresses (or none)
// give the zero Addr, which the lockout does not track.
func remoteIP(addr net.Addr) netip.Addr {
	switch a := addr.(type) {
	case *net.IPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// authData is the AuthData of an accepted key.
type authData struct {
	tenant, keyID string
	scopes        []string
}

var _ client.AuthData = (*authData)(nil)

var authAttributeNames = []string{AttributeTenant, AttributeKeyID, AttributeScopes}

// GetAttribute returns the tenant and key id as strings, the scopes as a []string of its own
// (the key's record is shared by every request made with it).
func (d *authData) GetAttribute(name string) any {
	switch name {
	case AttributeTenant:
		return d.tenant
	case AttributeKeyID:
		return d.keyID
	case AttributeScopes:
		return slices.Clone(d.scopes)
	}
	return nil
}

// GetAttributeNames returns tenant, key_id and scopes.
func (d *authData) GetAttributeNames() []string { return slices.Clone(authAttributeNames) }
