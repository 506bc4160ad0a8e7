package fieldcrypt

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The sizes the package documentation gives, measured: a 20-byte and a 200-byte string under
// the keyring, under local-kms (its real CiphertextBlob), and under a KMS answering a 184-byte
// blob as AWS KMS does for AES_256 data keys.
func TestSizeOverhead(t *testing.T) {
	kr, keyID := testKeyring(t)
	require.Len(t, keyID, 8)
	local := newKMSFixture(t)
	aws, err := NewKMSProvider(&fakeKMS{generate: func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 32), CiphertextBlob: make([]byte, 184)}, nil
	}}, KMSKeys{Default: "alias/warden"})
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		p       Provider
		keyID   string
		w       int
		ec      Context
		want20  int
		want200 int
	}{
		{"local", kr, keyID, 60, Context{}, 168, 408},
		{"local-kms", local.provider, DefaultLabel, 140, Context{}, 274, 514},
		{"aws kms blob", aws, DefaultLabel, 184, Context{}, 332, 572},
		{"local with tenant", kr, keyID, 60, mustContext(t, map[string]string{"tenant.id": "acme"}), 189, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEncryptor(t, tc.p, CacheConfig{MaxAge: time.Hour})
			for size, want := range map[int]int{20: tc.want20, 200: tc.want200} {
				s, err := e.Encrypt(context.Background(), "password", tc.ec, tc.keyID, pcommon.NewValueStr(strings.Repeat("x", size)))
				require.NoError(t, err)
				env, err := Parse(s)
				require.NoError(t, err)
				assert.Len(t, env.WrappedKey, tc.w)
				p := len(tc.ec.enc)
				assert.Equal(t, 9+len(tc.keyID)+(4*(tc.w+33+p+size)+2)/3, len(s), "the documented formula")
				assert.Equal(t, want, len(s), "%d-byte value: overhead %d", size, len(s)-size)
				t.Logf("%s: %d-byte string -> %d characters (+%d)", tc.name, size, len(s), len(s)-size)
			}
		})
	}
}
