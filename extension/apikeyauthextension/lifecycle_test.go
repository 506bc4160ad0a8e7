package apikeyauthextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelwarden/warden/extension/apikeyauthextension/internal/metadata"
)

// TestLifecycleOnATemporaryFile is the generated lifecycle test (create and shut down; start
// and stop twice) with the default configuration and a keys file in a temporary directory.
func TestLifecycleOnATemporaryFile(t *testing.T) {
	k := standardKeyring(t)
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig().(*Config)
	cfg.KeysFile = k.path
	cfg.ReloadInterval = time.Millisecond
	require.NoError(t, cfg.Validate())

	e, err := factory.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Shutdown(context.Background()))

	for range 2 {
		e, err := factory.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, e.Shutdown(context.Background()))
	}
}
