package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shortValues are typical attribute values: one Scan per value per op.
var shortValues = []string{
	"GET", "200", "checkout-service", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
	"2026-01-02T03:04:05.123Z", "/api/v1/orders", "1700000000000", "ORD-2026-00000042",
	"postgresql", "10.42ms", "us-east-1", "kube-system",
}

const cleanLogLine = "2026-01-02T03:04:05.123Z INFO order 42 accepted for customer 1337 in 12ms status=ok"

func BenchmarkScan(b *testing.B) {
	s := newTestScanner(b, Options{Types: AllBuiltin})
	body := strings.Repeat(cleanLogLine+"\n", 12)[:1000] + " contact: john@example.com" // ~1 KiB, one hit
	cases := []struct {
		name   string
		values []string
		want   int // matches over all values
	}{
		{"clean_short_x12", shortValues, 0},
		{"clean_log_line", []string{cleanLogLine}, 0},
		{"one_email", []string{"user john.doe@example.com logged in from the mobile app"}, 1},
		{"one_card", []string{"payment with card 4111 1111 1111 1111 declined by issuer"}, 1},
		{"body_1KiB_mostly_clean", []string{body}, 1},
		{"body_1KiB_clean", []string{cleanBody}, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dst := make([]Match, 0, 16)
			var n int
			bytes := 0
			for _, v := range c.values {
				bytes += len(v)
			}
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			for b.Loop() {
				n = 0
				for _, v := range c.values {
					ms, _ := s.Scan(v, dst[:0])
					n += len(ms)
				}
			}
			require.Equal(b, c.want, n)
		})
	}
}

func BenchmarkScanCustom(b *testing.B) {
	s := newTestScanner(b, Options{Types: AllBuiltin, Custom: []CustomPattern{
		{Name: "employee", Regexp: `EMP-\d{6}`},       // gated by its literal
		{Name: "member", Regexp: `\b[A-Z]{2}\d{8}\b`}, // no literal: runs on every value
	}})
	dst := make([]Match, 0, 16)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		ms, _ := s.Scan(cleanLogLine, dst[:0])
		n = len(ms)
	}
	require.Zero(b, n)
}

func BenchmarkKeyMatcher(b *testing.B) {
	k := NewKeyMatcher(nil, nil)
	keys := []string{"http.request.method", "http.request.header.authorization", "gen_ai.usage.input_tokens",
		"service.name", "user.password", "db.system.name", "clientSecret", "url.full"}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = 0
		for _, key := range keys {
			if k.Sensitive(key) {
				n++
			}
		}
	}
	require.Equal(b, 3, n)
}

func BenchmarkScrubURL(b *testing.B) {
	s := newTestScanner(b, Options{Types: AllBuiltin})
	act := func(t Type, _ int, _ string) string { return "[" + t.String() + "]" }
	cases := []struct {
		name, in string
		changed  bool
	}{
		{"clean", "https://shop.example.com/api/v1/orders?page=2&sort=desc&q=red%20shoes", false},
		{"signed_s3", "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&X-Amz-Expires=60", true},
		{"email_in_query", "https://example.com/users?email=john%40example.com&page=1", true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var changed bool
			b.ReportAllocs()
			for b.Loop() {
				_, changed = ScrubURL(c.in, nil, s, act)
			}
			require.Equal(b, c.changed, changed)
		})
	}
}
