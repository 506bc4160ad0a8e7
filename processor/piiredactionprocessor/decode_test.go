package piiredactionprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodedValuesAreRedacted: personal data written in an encoding is found and replaced
// whole, escapes included, and an encoded address hashes as the plain one does.
func TestEncodedValuesAreRedacted(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	plain, _ := redactAttr(t, p, "message", "jane@example.com")
	require.Regexp(t, `^`+hashToken+`$`, plain)
	for _, tc := range []struct{ in, want string }{
		{"GET /signup?email=jane%40example.com HTTP/1.1", "GET /signup?email=" + plain + " HTTP/1.1"},
		{"email=jane%40example.com&name=x", "email=" + plain + "&name=x"},
		{`{"user":"jane\u0040example.com"}`, `{"user":"` + plain + `"}`},
		{"<td>jane&#64;example.com</td>", "<td>" + plain + "</td>"},
		{"<td>jane&commat;example&period;com</td>", "<td>" + plain + "</td>"},
		{"JANE%40EXAMPLE.COM", plain},
		{"GET https://jane%40example.com@host.example.net/path HTTP/1.1", "GET https://" + plain + "@host.example.net/path HTTP/1.1"},
		{"cc=4111+1111+1111+1111&n=2", "cc=[REDACTED:card]&n=2"},
		{"q=shoes%20red&page=2", "q=shoes%20red&page=2"},
		{"Tom &amp; Jerry", "Tom &amp; Jerry"},
	} {
		got, _ := redactAttr(t, p, "message", tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}

	// A URL attribute with an encoded address as its userinfo keeps its host.
	got, _ := redactAttr(t, p, "url.full", "https://15550001111%40example.com@host.example.net/path?email=jane%40example.com")
	assert.Equal(t, "https://REDACTED@host.example.net/path?email="+plain, got)
}

func TestEncodedValuesAllowListAndMask(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Allow.Values = []string{`.*@example\.org`}
		c.Detectors.Phone.ActionConfig = ActionConfig{Action: ActionMask, KeepLast: 4}
	}))
	got, _ := redactAttr(t, p, "message", "to=noreply%40example.org")
	assert.Equal(t, "to=noreply%40example.org", got, "allow.values sees the decoded address")
	got, _ = redactAttr(t, p, "message", "phone=%2B1%20415%20555%202671&x=1")
	assert.Equal(t, "phone=+* *** *** 2671&x=1", got, "a mask shows the decoded shape")
}
