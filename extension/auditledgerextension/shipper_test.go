package auditledgerextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/ledger"
)

func entries(from, to uint64) []ledger.Entry {
	var out []ledger.Entry
	for seq := from; seq <= to; seq++ {
		out = append(out, ledger.Entry{Seq: seq})
	}
	return out
}

func seqs(es []ledger.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i := range es {
		out[i] = es[i].Seq
	}
	return out
}

func TestShipperMemoryHandsOverOnlyConsecutiveEntries(t *testing.T) {
	s := &pgShipper{cfg: PostgresConfig{BatchSize: 3}, memCap: 8}

	s.offer(entries(1, 5))
	require.True(t, s.takeMem(1, 3))
	assert.Equal(t, []uint64{1, 2, 3}, seqs(s.pending))
	s.pending = s.pending[:0]

	// What the shipper already has is skipped; a gap ends what memory can give.
	require.True(t, s.takeMem(5, 3))
	assert.Equal(t, []uint64{5}, seqs(s.pending))
	s.pending = s.pending[:0]
	assert.False(t, s.takeMem(6, 3), "nothing from 6 on")

	// Far behind: memory keeps the newest entries and the shipper must read the journal
	// until it reaches them.
	s.offer(entries(6, 20))
	assert.LessOrEqual(t, len(s.mem), 8)
	assert.Equal(t, uint64(20), s.mem[len(s.mem)-1].Seq)
	assert.False(t, s.takeMem(6, 3), "6 was dropped from memory")
	first := s.mem[0].Seq
	require.True(t, s.takeMem(first, 3))
	assert.Equal(t, []uint64{first, first + 1, first + 2}, seqs(s.pending))
	s.pending = s.pending[:0]

	// An offer that does not follow what memory holds replaces it.
	s.offer(entries(30, 31))
	assert.Equal(t, []uint64{30, 31}, seqs(s.mem))
}
