package detect

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// typedAct replaces a match with its type in brackets.
func typedAct(t Type, _ int, _ string) string { return "[" + t.String() + "]" }

func TestScrubURL(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin.Without(IPv4)})
	tests := []struct {
		name    string
		in      string
		want    string
		changed bool
	}{
		{"userinfo", "https://user:pa55@example.com/path?q=1", "https://REDACTED:REDACTED@example.com/path?q=1", true},
		{"user only", "ssh://git@example.com/repo", "ssh://REDACTED@example.com/repo", true},
		{"empty userinfo", "//@example.com/x", "//@example.com/x", false},
		{"already redacted", "https://REDACTED:REDACTED@example.com/", "https://REDACTED:REDACTED@example.com/", false},
		{"signature params", "https://s3.amazonaws.com/b/k?X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=abc123&X-Amz-Expires=60",
			"https://s3.amazonaws.com/b/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=60", true},
		{"semconv example", "https://www.example.com/path?q=OpenTelemetry&sig=abc", "https://www.example.com/path?q=OpenTelemetry&sig=REDACTED", true},
		{"signature keys are case-sensitive", "/x?SIG=abc&signature=def", "/x?SIG=abc&signature=def", false},
		{"sensitive keys", "/login?user=bob&password=hunter2&access_token=xyz&api_key=k", "/login?user=bob&password=[sensitive_key]&access_token=[sensitive_key]&api_key=[sensitive_key]", true},
		{"empty sensitive value", "/login?password=&x=1", "/login?password=&x=1", false},
		{"pii in query value", "/api/users?id=123-45-6789&email=john%40example.com&q=hi", "/api/users?id=[ssn]&email=[email]&q=hi", true},
		{"sensitive key wins over detection", "/api/users?ssn=123-45-6789", "/api/users?ssn=[sensitive_key]", true},
		{"encoded spaces in a card", "/pay?cc=4111+1111+1111+1111&n=2", "/pay?cc=[card]&n=2", true},
		{"partially encoded value", "/x?note=mail+to+john%40example.com+now", "/x?note=mail+to+[email]+now", true},
		{"pii in path", "https://example.com/users/john@example.com/profile", "https://example.com/users/[email]/profile", true},
		{"pii in fragment", "https://example.com/#jane@example.org", "https://example.com/#[email]", true},
		{"oauth fragment", "https://app.example.com/cb#access_token=abc&token_type=bearer", "https://app.example.com/cb#access_token=[sensitive_key]&token_type=bearer", true},
		{"bare query", "a=b&token=t0k&c=d", "a=b&token=[sensitive_key]&c=d", true},
		{"bare query with pii", "email=jane@example.org", "email=[email]", true},
		{"key without value", "/x?john@example.com&flag", "/x?[email]&flag", true},
		{"keys and order kept", "/x?b=2&a=1&sig=s&a=3", "/x?b=2&a=1&sig=REDACTED&a=3", true},
		{"ipv4 host kept when not scanned", "http://10.0.0.1:8080/x", "http://10.0.0.1:8080/x", false},
		{"ipv6 host", "http://[2001:db8::1]:8080/x", "http://[[ipv6]]:8080/x", true},
		{"nothing found", "https://example.com/api/v1/orders?page=2&sort=desc#top", "https://example.com/api/v1/orders?page=2&sort=desc#top", false},
		{"invalid escapes tolerated", "/x?q=%zz%4&e=a%40example.com", "/x?q=%zz%4&e=[email]", true},
		{"not a url", "hello world", "hello world", false},
		{"mailto is not handled", "mailto:john@example.com", "mailto:john@example.com", false},
		{"control bytes", "/x?\x00=1", "/x?\x00=1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := ScrubURL(tc.in, nil, s, typedAct)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.changed, changed)
		})
	}
}

func TestScrubURLOptions(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin})
	// A user list replaces the default one.
	got, changed := ScrubURL("/x?sig=a&session=b", map[string]bool{"session": true}, s, typedAct)
	assert.True(t, changed)
	assert.Equal(t, "/x?sig=a&session=REDACTED", got)

	// No scanner: only structure-based rules.
	got, changed = ScrubURL("https://u:p@h/john@example.com?password=x&q=john@example.com", nil, nil, typedAct)
	assert.True(t, changed)
	assert.Equal(t, "https://REDACTED:REDACTED@h/john@example.com?password=[sensitive_key]&q=john@example.com", got)

	// act returning its input keeps the value; nil act redacts.
	keep := func(_ Type, _ int, s string) string { return s }
	got, changed = ScrubURL("/x?e=john%40example.com&password=p", nil, s, keep)
	assert.False(t, changed)
	assert.Equal(t, "/x?e=john%40example.com&password=p", got)
	got, _ = ScrubURL("/x?e=john@example.com", nil, s, nil)
	assert.Equal(t, "/x?e=REDACTED", got)

	// Replacements that would break the query are escaped.
	amp := func(Type, int, string) string { return "a&b c" }
	got, _ = ScrubURL("/p/john@example.com?e=john@example.com", nil, s, amp)
	assert.Equal(t, "/p/a&b%20c?e=a%26b+c", got)

	// act sees decoded text, and a copy of it.
	var seen []string
	collect := func(t Type, _ int, s string) string { seen = append(seen, t.String()+":"+s); return "X" }
	ScrubURL("/x?e=john%40example.com&token=a%2Bb", nil, s, collect)
	ScrubURL("/x?e=jane%40example.org", nil, s, collect)
	assert.Equal(t, []string{"email:john@example.com", "sensitive_key:a+b", "email:jane@example.org"}, seen)

	// URLScrubber reports whether it took the value as a URL.
	u := URLScrubber{Scanner: s}
	_, _, isURL := u.Scrub("just text", typedAct)
	assert.False(t, isURL)
	out, changed, isURL := u.Scrub("/x?password=p", typedAct)
	assert.True(t, isURL)
	assert.False(t, changed, "no key matcher configured")
	assert.Equal(t, "/x?password=p", out)

	// Values longer than the scan bound are left to the caller.
	small := newTestScanner(t, Options{Types: AllBuiltin, MaxScanBytes: 10})
	_, _, isURL = (&URLScrubber{Scanner: small}).Scrub("/x?e=john@example.com", typedAct)
	assert.False(t, isURL)
}
