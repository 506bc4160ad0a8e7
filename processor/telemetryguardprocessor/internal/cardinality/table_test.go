package cardinality

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func key(i uint64) uint64 { return mix(i) | 1 }

func TestTableGenerations(t *testing.T) {
	var tb table
	for id := uint64(1); id <= 100; id++ {
		tb.insert(key(id), uint32(id), 0)
	}
	require.Equal(t, 100, tb.len())
	i, l := tb.find(key(5), 0)
	require.Equal(t, fresh, l)
	assert.Equal(t, uint32(5), tb.val(i))

	// Window 1: everything is stale until touched; touch the first ten.
	assert.Equal(t, 0, tb.rotate(0, 1, nil))
	for id := uint64(1); id <= 10; id++ {
		i, l := tb.find(key(id), 1)
		require.Equal(t, stale, l)
		tb.touch(i, 1)
		_, l = tb.find(key(id), 1)
		require.Equal(t, fresh, l)
	}
	// Window 2: the 90 not seen in window 1 go, with their values.
	var gone []uint32
	assert.Equal(t, 90, tb.rotate(1, 2, func(_ uint64, v uint32) { gone = append(gone, v) }))
	assert.Len(t, gone, 90)
	assert.Equal(t, 10, tb.len())
	_, l = tb.find(key(50), 2)
	assert.Equal(t, absent, l)
	i, l = tb.find(key(3), 2)
	require.Equal(t, stale, l)
	assert.Equal(t, uint32(3), tb.val(i), "values survive the rebuild")
	assert.LessOrEqual(t, len(tb.keys), 16, "the table shrinks to what is left")

	// Two windows on: everything goes.
	assert.Equal(t, 10, tb.rotate(2, 4, nil))
	assert.Equal(t, 0, tb.len())
	assert.Zero(t, tb.bytes())
}

func TestTableGrowsAndKeepsLoad(t *testing.T) {
	var tb table
	const n = 100_000
	for i := uint64(1); i <= n; i++ {
		tb.insert(mix(i)|1, 0, 7)
	}
	assert.Equal(t, n, tb.len())
	assert.LessOrEqual(t, n*4, len(tb.keys)*3)
	for i := uint64(1); i <= n; i++ {
		_, l := tb.find(mix(i)|1, 7)
		require.Equal(t, fresh, l)
	}
	_, l := tb.find(mix(n+1)|1, 7)
	assert.Equal(t, absent, l)
	// 12 bytes a slot, at least a quarter of the slots free: 16 to 32 bytes an entry.
	assert.LessOrEqual(t, float64(tb.bytes())/n, 32.0, "bytes per entry")
}
