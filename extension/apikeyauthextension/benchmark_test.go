package apikeyauthextension

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

// BenchmarkAuthenticate authenticates one request against a keys file of 10,000 keys, as the
// gRPC interceptor calls it (client.Info with a remote address, the key in the metadata).
func BenchmarkAuthenticate(b *testing.B) {
	k := newKeyring(b)
	for i := range 10_000 {
		k.add(b, fmt.Sprintf("key%d", i), fmt.Sprintf("tenant-%d", i%500), []apikeys.Scope{apikeys.ScopeTraces, apikeys.ScopeLogs}, time.Time{}, time.Time{})
	}
	k.save(b)
	a, _, _ := startAuthenticator(b, k, nil)
	ks := a.keys.Load()
	ctx := inMethod(fromAddr("10.0.0.1"), traceMethod)

	cases := []struct {
		name string
		key  string
		ok   bool
	}{
		{"accepted", k.keys["key4242"], true},
		{"unknown", "wk_k-00000000_" + strings.Repeat("A", 43), false},
		{"wrong", k.keys["key4242"][:len(k.keys["key4242"])-43] + strings.Repeat("A", 43), false},
	}
	for _, c := range cases {
		headers := map[string][]string{"x-api-key": {c.key}}
		b.Run("Authenticate/"+c.name, func(b *testing.B) {
			if !c.ok {
				a.lockout = nil // measure the refusal, not the lockout that follows
			}
			b.ReportAllocs()
			var err error
			for b.Loop() {
				_, err = a.Authenticate(ctx, headers)
			}
			require.Equal(b, c.ok, err == nil)
		})
		b.Run("Verify/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var res apikeys.Result
			for b.Loop() {
				_, res = ks.set.Verify(c.key, t0)
			}
			require.Equal(b, c.ok, res == apikeys.OK)
		})
	}
}

// BenchmarkRefusalSummarised is a refused request with a ledger configured: the refusal is
// merged into its source's login.failure summary (one map lookup under a lock), never a ledger
// write per request.
func BenchmarkRefusalSummarised(b *testing.B) {
	k := standardKeyring(b)
	a, _, _ := startAuthenticatorOn(b, audittest.Host{ledgerID: &audittest.Ledger{}}, k, func(c *Config) {
		c.Ledger, c.SummaryInterval, c.Lockout.Failures = &ledgerID, time.Hour, 0
	})
	ctx := fromAddr("10.0.0.1")
	headers := map[string][]string{"x-api-key": {k.keys["good"][:len(k.keys["good"])-43] + strings.Repeat("A", 43)}}
	b.ReportAllocs()
	var err error
	for b.Loop() {
		_, err = a.Authenticate(ctx, headers)
	}
	require.ErrorIs(b, err, errRefused)
}
