package fieldcrypt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsCiphertext(t *testing.T) {
	payload := strings.Repeat("Ab3_-", 10)
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{Prefix + "tenant-a.k1:" + payload, true},
		{Prefix + "k1:" + payload, true},
		{Prefix + ":" + payload, false},         // no key id
		{Prefix + "k1:" + payload[:20], false},  // too short to hold a nonce and a tag
		{Prefix + "k1:" + payload + "=", false}, // not base64url
		{Prefix + "k 1:" + payload, false},      // bad key id
		{"wenc:v2:k1:" + payload, false},        // unknown version
		{"my wenc:v1:k1:" + payload, false},     // not the whole value
		{"jane.doe@example.com", false},
		{"", false},
	} {
		assert.Equal(t, tc.want, IsCiphertext(tc.in), tc.in)
	}
}

func FuzzIsCiphertext(f *testing.F) {
	f.Add(Prefix + "k1:" + strings.Repeat("A", 40))
	f.Add("wenc:v1:")
	f.Fuzz(func(t *testing.T, s string) {
		if IsCiphertext(s) {
			assert.True(t, strings.HasPrefix(s, Prefix))
		}
	})
}
