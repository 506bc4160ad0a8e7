package telemetryguardprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// Once warm, a batch whose series are all in their budgets costs no allocation, with every
// guard on: the rate guard (by resource attribute), a schema rule and the cardinality guard.
func TestNoAllocationPerBatchOnceWarm(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.Schema.Checks.Rules = []schema.Rule{{Keys: []string{"http.route"}, MaxLength: 64}}
		c.Rate.Source = ratelimit.SourceConfig{ResourceAttribute: "service.name"}
		c.Rate.Limits = ratelimit.Limits{RecordsPerSecond: 1e12, RecordsBurst: 1 << 30}
	}))
	md := sample.Metrics(sample.Options{Items: 1000})
	_, err := p.processMetrics(context.Background(), md)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := p.processMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 1000, md.DataPointCount())
}
