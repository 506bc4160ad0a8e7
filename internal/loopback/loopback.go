// Package loopback gives tests addresses on 127.0.0.1, the only interface they may listen on.
package loopback

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreeAddr returns a 127.0.0.1:port address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
