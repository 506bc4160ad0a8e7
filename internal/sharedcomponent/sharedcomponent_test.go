package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

type counter struct {
	starts, shutdowns int
	err               error
}

func (c *counter) Start(context.Context, component.Host) error { c.starts++; return c.err }
func (c *counter) Shutdown(context.Context) error              { c.shutdowns++; return nil }

func TestOneComponentPerKeyStartedOnceShutDownByTheLast(t *testing.T) {
	var m Map[string, *counter]
	created := 0
	create := func() (*counter, error) { created++; return &counter{}, nil }
	a, err := m.LoadOrStore("cfg", create)
	require.NoError(t, err)
	b, err := m.LoadOrStore("cfg", create)
	require.NoError(t, err)
	require.Same(t, a, b)
	assert.Equal(t, 1, created)

	ctx, host := context.Background(), componenttest.NewNopHost()
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, b.Start(ctx, host))
	assert.Equal(t, 1, a.Unwrap.starts)
	require.NoError(t, a.Shutdown(ctx))
	assert.Equal(t, 0, a.Unwrap.shutdowns, "still used by the other pipeline")
	assert.Equal(t, 1, m.Len())
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, 1, a.Unwrap.shutdowns)
	assert.Equal(t, 0, m.Len(), "forgotten: a new configuration makes a new one")
	require.NoError(t, b.Shutdown(ctx), "a shutdown too many does nothing")
	assert.Equal(t, 1, a.Unwrap.shutdowns)
}

func TestStartErrorIsEveryPipelines(t *testing.T) {
	var m Map[int, *counter]
	boom := errors.New("boom")
	c, err := m.LoadOrStore(1, func() (*counter, error) { return &counter{err: boom}, nil })
	require.NoError(t, err)
	require.ErrorIs(t, c.Start(context.Background(), nil), boom)
	require.ErrorIs(t, c.Start(context.Background(), nil), boom)
	_, err = m.LoadOrStore(2, func() (*counter, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 1, m.Len())
}
