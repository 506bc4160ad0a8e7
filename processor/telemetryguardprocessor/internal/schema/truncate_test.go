package schema

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTruncate(t *testing.T) {
	assert.Equal(t, "short", Truncate("short", 16))
	exact := strings.Repeat("a", 16)
	assert.Equal(t, exact, Truncate(exact, 16))

	got := Truncate("/api/v1/orders/1000000000000042?page=2", 32)
	assert.Len(t, got, 32)
	assert.Regexp(t, regexp.MustCompile(`^/api/v1/orders/1000~[0-9a-f]{12}$`), got)
	assert.Equal(t, got, Truncate("/api/v1/orders/1000000000000042?page=2", 32), "deterministic")
	assert.Equal(t, got, Truncate(got, 32), "truncating twice changes nothing")

	// Below the shortest bound that holds a suffix, the value is only cut.
	assert.Equal(t, "abcd", Truncate("abcdefgh", 4))
	assert.Equal(t, "", Truncate("€", 2))
}

// TestTruncateKeepsValuesDistinct: values that share the kept prefix stay distinct.
func TestTruncateKeepsValuesDistinct(t *testing.T) {
	seen := map[string]string{}
	for i := range 10000 {
		v := fmt.Sprintf("/api/v1/orders/%016d", i)
		got := Truncate(v, 20)
		require.Len(t, got, 20)
		require.True(t, strings.HasPrefix(got, "/api/v1~"), got)
		if prev, dup := seen[got]; dup {
			t.Fatalf("%q and %q both truncate to %q", prev, v, got)
		}
		seen[got] = v
	}
}

// TestTruncateUTF8: whatever the bound, a truncated value is valid UTF-8 when the value was,
// fits the bound, and keeps the longest prefix of whole characters that leaves room for the
// suffix.
func TestTruncateUTF8(t *testing.T) {
	values := []string{
		strings.Repeat("é", 40),                  // 2 bytes a character
		strings.Repeat("€", 30),                  // 3 bytes
		strings.Repeat("🦊", 25),                  // 4 bytes
		"ab" + strings.Repeat("日本語🦊é", 10) + "z", // mixed
	}
	for _, v := range values {
		for max := 1; max <= len(v); max++ {
			got := Truncate(v, max)
			require.True(t, utf8.ValidString(got), "%q at %d: %q", v, max, got)
			require.LessOrEqual(t, len(got), max)
			if max < minTruncateLength {
				require.True(t, strings.HasPrefix(v, got))
				require.Greater(t, len(got), max-utf8.UTFMax)
				continue
			}
			prefix, _, ok := strings.Cut(got, "~")
			if max == len(v) {
				require.Equal(t, v, got)
				continue
			}
			require.True(t, ok, got)
			require.True(t, strings.HasPrefix(v, prefix))
			require.Greater(t, len(prefix), max-hashSuffixLen-utf8.UTFMax, "the prefix is as long as it can be")
		}
	}
	// Invalid UTF-8 is cut where the bound says, never panicking.
	bad := strings.Repeat("\xff\xfe", 20)
	assert.Len(t, Truncate(bad, 20), 20)
	assert.LessOrEqual(t, len(Truncate("\x80\x80\x80\x80\x80", 3)), 3)
}
