package auditledgerextension

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
)

// TestLifecycleOnATemporaryDirectory is the generated lifecycle test (create and shut down;
// start and stop twice on the same ledger) with the default configuration on a temporary
// directory, so that no ledger is left in the tree.
func TestLifecycleOnATemporaryDirectory(t *testing.T) {
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig().(*Config)
	cfg.File.Directory = filepath.Join(t.TempDir(), "ledger")
	require.NoError(t, cfg.Validate())

	e, err := factory.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Shutdown(context.Background()))

	for range 2 {
		e, err := factory.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, e.Shutdown(context.Background()))
	}
}
