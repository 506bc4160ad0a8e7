package apikeyauthextension

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

var ledgerID = component.MustNewID("audit_ledger")

func TestRefusalsAreSummarisedAsLoginFailures(t *testing.T) {
	k := standardKeyring(t)
	ledger := &audittest.Ledger{}
	a, clk, _ := startAuthenticatorOn(t, audittest.Host{ledgerID: ledger}, k, func(c *Config) {
		c.Ledger = &ledgerID
		c.SummaryInterval = time.Hour // flushed by hand below
		c.Lockout.Failures = 3
	})
	assert.Equal(t, []component.ID{ledgerID}, a.Dependencies(), "the ledger starts first and stops last")

	attacker, user := fromAddr("192.0.2.7"), fromAddr("198.51.100.1")
	wrong := k.keys["good"][:len(k.keys["good"])-43] + strings.Repeat("A", 43)
	for range 5 { // three wrong attempts lock the address; two more are refused as locked out
		_, err := a.Authenticate(attacker, map[string][]string{"X-Api-Key": {wrong}})
		require.Error(t, err)
	}
	clk.advance(time.Hour) // past the expiry
	_, err := a.Authenticate(user, map[string][]string{"X-Api-Key": {k.keys["expired"]}})
	require.ErrorIs(t, err, errExpired)
	_, err = a.Authenticate(user, map[string][]string{"X-Api-Key": {k.keys["good"]}})
	require.NoError(t, err, "accepted requests are not security events")
	_, err = a.Authenticate(client.NewContext(context.Background(), client.Info{Addr: &net.UnixAddr{Name: "@", Net: "unix"}}), nil)
	require.ErrorIs(t, err, errMissing)
	assert.Empty(t, ledger.Events(), "nothing is recorded per request")

	require.NoError(t, a.summaries.Flush(context.Background()))
	evs := ledger.Events()
	require.Len(t, evs, 4, "one summary per source address and key id")
	byActor := map[string]audit.Event{}
	for _, ev := range evs {
		require.NoError(t, ev.Validate())
		assert.Equal(t, ActionLoginFailure, ev.Action)
		assert.Equal(t, audit.OutcomeFailure, ev.Outcome)
		assert.Equal(t, "api_key_auth", ev.Attributes["authenticator"])
		byActor[ev.Actor.ID+"/"+ev.Resource.Name] = ev
	}
	bad := byActor[k.ids["good"]+"/"+k.ids["good"]]
	assert.Equal(t, audit.Actor{Type: audit.ActorService, ID: k.ids["good"], IP: "192.0.2.7"}, bad.Actor)
	assert.Equal(t, audit.Resource{Type: "source", ID: "192.0.2.7", Name: k.ids["good"]}, bad.Resource)
	assert.Equal(t, map[string]int64{"batches": 3, CountAttempts: 3, "wrong": 3}, bad.Counts)

	locked := byActor["192.0.2.7/-"]
	assert.Equal(t, "192.0.2.7", locked.Actor.IP, "a locked-out request names no key: the address is the actor")
	assert.Equal(t, map[string]int64{"batches": 2, CountAttempts: 2, "locked_out": 2}, locked.Counts)

	expired := byActor[k.ids["expired"]+"/"+k.ids["expired"]]
	assert.Equal(t, "198.51.100.1", expired.Actor.IP)
	assert.Equal(t, int64(1), expired.Counts["expired"])

	unix := byActor["unknown/-"]
	assert.Empty(t, unix.Actor.IP, "no IP address to name")
	assert.Equal(t, int64(1), unix.Counts["missing"])
}

func TestLoginFailureSummariesAreBounded(t *testing.T) {
	k := standardKeyring(t)
	ledger := &audittest.Ledger{}
	a, _, _ := startAuthenticatorOn(t, audittest.Host{ledgerID: ledger}, k, func(c *Config) {
		c.Ledger = &ledgerID
		c.SummaryInterval = time.Hour
		c.Lockout.Failures = 0
	})
	const sources = summaryMaxKeys + 500
	for i := range sources {
		ip := net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String()
		_, err := a.Authenticate(fromAddr(ip), map[string][]string{"X-Api-Key": {"not-a-key"}})
		require.Error(t, err)
	}
	require.NoError(t, a.summaries.Flush(context.Background()))
	evs := ledger.Events()
	require.Len(t, evs, summaryMaxKeys+1, "past the bound, sources merge into one overflow summary")
	var attempts int64
	for _, ev := range evs {
		attempts += ev.Counts[CountAttempts]
	}
	assert.Equal(t, int64(sources), attempts, "no attempt is lost")
	over := evs[len(evs)-1]
	assert.Equal(t, "true", over.Attributes[audit.AttrOverflow])
	assert.Equal(t, int64(500), over.Counts[audit.CountOverflowKeys])
}

func TestLedgerMustBeALedger(t *testing.T) {
	k := standardKeyring(t)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.KeysFile, cfg.Ledger = k.path, &ledgerID
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorIs(t, err, audit.ErrLedgerNotFound)
}

// The HTTP server of confighttp gives the authenticator the sender's address as a *net.IPAddr
// (gRPC gives a *net.TCPAddr): the lockout and the summaries must see both.
func TestLockoutSeesTheAddressesOfBothProtocols(t *testing.T) {
	k := standardKeyring(t)
	a, _, _ := startAuthenticator(t, k, func(c *Config) { c.Lockout.Failures = 2 })
	for _, ctx := range []context.Context{
		client.NewContext(context.Background(), client.Info{Addr: &net.IPAddr{IP: net.ParseIP("192.0.2.1")}}),
		client.NewContext(context.Background(), client.Info{Addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.2"), Port: 5000}}),
	} {
		for range 2 {
			_, err := a.Authenticate(ctx, map[string][]string{"X-Api-Key": {"not-a-key"}})
			require.ErrorIs(t, err, errMalformed)
		}
		_, err := a.Authenticate(ctx, map[string][]string{"X-Api-Key": {k.keys["good"]}})
		require.ErrorIs(t, err, errLocked, "%v", client.FromContext(ctx).Addr)
	}
}
