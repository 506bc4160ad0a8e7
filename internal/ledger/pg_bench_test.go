package ledger

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/pgtest"
)

func BenchmarkInsertEntries(b *testing.B) {
	conn := pgtest.Conn(b)
	table := pgtest.Table(b, conn)
	ctx := context.Background()
	store, err := OpenPG(ctx, pgtest.DSN(), table)
	require.NoError(b, err)
	defer store.Close()
	require.NoError(b, store.EnsureSchema(ctx))
	signer := testKey(b)
	const batch = 1000
	entries, _ := chain(b, "bench", batch*20, 1<<30, signer)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		start := (n % 20) * batch
		if n > 0 && n%20 == 0 {
			b.StopTimer()
			_, err := conn.Exec(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER; TRUNCATE `+table+`; ALTER TABLE `+table+` ENABLE TRIGGER USER`)
			require.NoError(b, err)
			b.StartTimer()
		}
		require.NoError(b, store.CopyEntries(ctx, entries[start:start+batch]))
		n++
	}
	b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "entries/s")
}
