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

func TestValidKeyID(t *testing.T) {
	for id, ok := range map[string]bool{
		"k-3f9a1c": true, "acme-7b2e90": true, "default": true, "t-0123456789abcdef": true, "A.b_c-9": true,
		strings.Repeat("k", 64): true, strings.Repeat("k", 65): false,
		"": false, "-k": false, ".k": false, "_k": false, "alias/warden": false,
		"arn:aws:kms:eu-west-1:111122223333:key/x": false, "k 1": false, "ké": false,
	} {
		err := ValidKeyID(id)
		assert.Equal(t, ok, err == nil, "%q: %v", id, err)
		if ok {
			assert.True(t, IsCiphertext(Prefix+id+":"+strings.Repeat("A", minPayload)), "IsCiphertext accepts every valid key id")
		}
	}
}
