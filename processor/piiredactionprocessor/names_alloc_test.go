//go:build !race

package piiredactionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A value under a name key that is not taken as a name costs no allocation, and a kept name
// costs what a kept IPv4 address does (the batch's findings metric), whatever the number of
// names.
func TestNamesDoNotAllocatePerValue(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	ctx := context.Background()
	allocs := func(kvs ...string) float64 {
		ld, lr := logWith(kvs[0], kvs[1])
		order := lr.Body().SetEmptyMap().PutEmptyMap("order")
		for i := 2; i < len(kvs); i += 2 {
			lr.Attributes().PutStr(kvs[i], kvs[i+1])
			order.PutStr(kvs[i], kvs[i+1])
		}
		_, _ = p.processLogs(ctx, ld) // warms the pool and the key cache
		return testing.AllocsPerRun(100, func() { _, _ = p.processLogs(ctx, ld) })
	}
	assert.Zero(t, allocs("first_name", "unknown", "last_name", "12345", "name", "checkout", "service.name", "checkout"))
	ipv4 := allocs("peer", "10.1.2.3")
	assert.LessOrEqual(t, allocs("user.full_name", "Albert Einstein", "name", "Marie Curie", "lastName", "Curie"), ipv4)
}
