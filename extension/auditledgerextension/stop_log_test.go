package auditledgerextension

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
)

func TestStopSaysWhereTheStreamEnds(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := testConfig(t, t.TempDir())
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	l := ext.(*ledgerExtension)
	for i := range 5 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.NoError(t, ext.Shutdown(context.Background()))

	stopped := logs.FilterMessageSnippet("Audit ledger stopped").All()
	require.Len(t, stopped, 1)
	fields := stopped[0].ContextMap()
	assert.Equal(t, "test-stream", fields["stream"])
	assert.Equal(t, true, fields["sealed"], "the stop entry's checkpoint seals the stream")
	assert.Equal(t, fields["seq"], fields["checkpoint_seq"])
	assert.NotEmpty(t, fields["signing_key_id"])
	assert.Contains(t, stopped[0].Message, "seals every entry")
}
