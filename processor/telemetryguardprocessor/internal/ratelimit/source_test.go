package ratelimit

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestSourceFromContext(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Source = SourceConfig{MetadataKey: "X-Tenant-ID"} })
	with := func(md map[string][]string) context.Context {
		return client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(md)})
	}
	assert.Equal(t, "acme", l.SourceFromContext(with(map[string][]string{"x-tenant-id": {"acme", "globex"}})), "first value, key without regard to case")
	assert.Empty(t, l.SourceFromContext(with(map[string][]string{"x-other": {"acme"}})))
	assert.Empty(t, l.SourceFromContext(context.Background()), "no client info: include_metadata off")
	assert.False(t, l.PerResource())
	assert.Empty(t, l.SourceFromResource(pcommon.NewResource()))
}

func TestSourceFromResource(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Source = SourceConfig{ResourceAttribute: "tenant.id"} })
	res := pcommon.NewResource()
	assert.Empty(t, l.SourceFromResource(res))
	res.Attributes().PutStr("tenant.id", "acme")
	assert.Equal(t, "acme", l.SourceFromResource(res))
	res.Attributes().PutInt("tenant.id", 42)
	assert.Equal(t, "42", l.SourceFromResource(res), "other types in their string form")
	assert.True(t, l.PerResource())
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"tenant.id": {"x"}})})
	assert.Empty(t, l.SourceFromContext(ctx))
}
