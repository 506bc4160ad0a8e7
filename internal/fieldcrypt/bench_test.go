package fieldcrypt

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/kmstest"
)

// benchProviders are the two providers, each with the key id its values carry; aws_kms runs
// against local-kms (whose CiphertextBlob is 140 bytes, AWS's about 184).
var benchProviders = []struct {
	name string
	make func(b *testing.B) (Provider, *countingKMS, string)
}{
	{"local", func(b *testing.B) (Provider, *countingKMS, string) {
		kr, keyID := testKeyring(b)
		return kr, nil, keyID
	}},
	{"aws_kms", func(b *testing.B) (Provider, *countingKMS, string) {
		srv := kmstest.Start(b)
		key := srv.CreateSymmetricKey(b)
		api := &countingKMS{up: srv.Client(b)}
		p, err := NewKMSProvider(api, KMSKeys{Default: key})
		require.NoError(b, err)
		return p, api, DefaultLabel
	}},
}

var benchContext = map[string]string{"tenant.id": "acme", "service.name": "checkout"}

// BenchmarkEncrypt: one string field value, warm cache (the data key is made before the
// timer starts).
func BenchmarkEncrypt(b *testing.B) {
	for _, prov := range benchProviders {
		for _, size := range []int{20, 100, 200} {
			b.Run(fmt.Sprintf("%s/%dB", prov.name, size), func(b *testing.B) {
				p, _, keyID := prov.make(b)
				e := newEncryptor(b, p, CacheConfig{MaxAge: time.Hour})
				ec := mustContext(b, benchContext)
				v := pcommon.NewValueStr(strings.Repeat("s", size))
				ctx := context.Background()
				s, err := e.Encrypt(ctx, "user.password", ec, keyID, v)
				require.NoError(b, err)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					s, err = e.Encrypt(ctx, "user.password", ec, keyID, v)
				}
				require.NoError(b, err)
				got, err := newDecryptor(b, p).Decrypt(ctx, "user.password", s)
				require.NoError(b, err)
				require.Equal(b, v.Str(), got.Str())
				b.ReportMetric(float64(len(s)), "chars/value")
				b.ReportMetric(float64(e.Stats().DataKeys), "data-keys")
			})
		}
	}
}

// BenchmarkEncryptParallel: every core encrypting values of one field and context.
func BenchmarkEncryptParallel(b *testing.B) {
	kr, keyID := testKeyring(b)
	e := newEncryptor(b, kr, CacheConfig{MaxAge: time.Hour})
	ec := mustContext(b, benchContext)
	v := pcommon.NewValueStr(strings.Repeat("s", 100))
	_, err := e.Encrypt(context.Background(), "user.password", ec, keyID, v)
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(100)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Encrypt(context.Background(), "user.password", ec, keyID, v); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDecrypt: one string field value, the data key unwrapped before the timer starts.
func BenchmarkDecrypt(b *testing.B) {
	for _, prov := range benchProviders {
		for _, size := range []int{20, 100, 200} {
			b.Run(fmt.Sprintf("%s/%dB", prov.name, size), func(b *testing.B) {
				p, _, keyID := prov.make(b)
				e := newEncryptor(b, p, CacheConfig{MaxAge: time.Hour})
				d := newDecryptor(b, p)
				ctx := context.Background()
				v := pcommon.NewValueStr(strings.Repeat("s", size))
				s, err := e.Encrypt(ctx, "user.password", mustContext(b, benchContext), keyID, v)
				require.NoError(b, err)
				got, err := d.Decrypt(ctx, "user.password", s)
				require.NoError(b, err)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					got, err = d.Decrypt(ctx, "user.password", s)
				}
				require.NoError(b, err)
				require.Equal(b, v.Str(), got.Str())
				b.ReportMetric(float64(d.Stats().Unwraps), "unwraps")
			})
		}
	}
}

// BenchmarkKMSCallsPerMillion: a million values of one field and tenant through local-kms,
// with the cache limits a collector would use (5 minutes, 2^32 values): KMS calls per million
// values encrypted, and per million decrypted.
func BenchmarkKMSCallsPerMillion(b *testing.B) {
	p, api, keyID := benchProviders[1].make(b)
	ctx := context.Background()
	ec := mustContext(b, benchContext)
	v := pcommon.NewValueStr(strings.Repeat("s", 100))
	var encCalls, decCalls, rounds int64
	for b.Loop() {
		e, err := NewEncryptor(p, CacheConfig{MaxAge: 5 * time.Minute})
		require.NoError(b, err)
		d := newDecryptor(b, p)
		gen, dec := api.generateDataKeyCalls.Load(), api.decrypts.Load()
		var s string
		for range 1_000_000 {
			if s, err = e.Encrypt(ctx, "user.password", ec, keyID, v); err != nil {
				b.Fatal(err)
			}
		}
		for range 1_000_000 {
			if _, err := d.Decrypt(ctx, "user.password", s); err != nil {
				b.Fatal(err)
			}
		}
		e.Close()
		encCalls += api.generateDataKeyCalls.Load() - gen
		decCalls += api.decrypts.Load() - dec
		rounds++
	}
	b.ReportMetric(float64(encCalls)/float64(rounds), "GenerateDataKey/1M-values")
	b.ReportMetric(float64(decCalls)/float64(rounds), "Decrypt/1M-values")
	if encCalls != rounds || decCalls != rounds {
		b.Fatalf("%d GenerateDataKey and %d Decrypt calls in %d rounds of a million values, want one each per round", encCalls, decCalls, rounds)
	}
}
