package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/pgtest"
)

// chain builds n sealed entries and a signed checkpoint every cpEvery entries, in memory.
func chain(t testing.TB, stream string, n, cpEvery int, signer Signer) ([]Entry, []Checkpoint) {
	t.Helper()
	var entries []Entry
	var cps []Checkpoint
	prev := ZeroHash
	var last Checkpoint
	for i := 1; i <= n; i++ {
		e, _ := sealed(t, stream, uint64(i), prev)
		e.KeyID = signer.Public().ID()
		_, err := e.Seal(nil)
		require.NoError(t, err)
		entries = append(entries, e)
		prev = e.Hash
		if i%cpEvery == 0 {
			c := Checkpoint{StreamID: stream, FirstSeq: last.Seq + 1, Seq: e.Seq, TipHash: e.Hash, PrevCheckpoint: last.Hash, Time: FormatTime(time.Now()), Reason: "entries"}
			_, err := c.Seal(context.Background(), signer)
			require.NoError(t, err)
			cps = append(cps, c)
			last = c
		}
	}
	return entries, cps
}

func TestPostgresStoreRoundTripAndImmutability(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	ctx := context.Background()
	signer := testKey(t)
	v := &Verifier{Roots: []*PublicKey{signer.Public()}}

	store, err := OpenPG(ctx, pgtest.DSN(), table)
	require.NoError(t, err)
	defer store.Close()
	require.NoError(t, store.EnsureSchema(ctx))
	require.NoError(t, store.EnsureSchema(ctx), "idempotent")

	entries, _ := chain(t, "pg-stream", 30, 10, signer)
	entries[3].Event.ActorIP = "::ffff:10.1.2.3"
	entries[3].Event.Details = []byte(`{"a":{"b":null},"z":[1,2.5,"x"]}`) // canonical, as Prepare makes it
	_, err = entries[3].Seal(nil)
	require.NoError(t, err)
	for i := 4; i < len(entries); i++ { // re-chain after the edit
		entries[i].PrevHash = entries[i-1].Hash
		_, err = entries[i].Seal(nil)
		require.NoError(t, err)
	}
	var cps []Checkpoint
	var last Checkpoint
	for i := 9; i < 30; i += 10 {
		c := Checkpoint{StreamID: "pg-stream", FirstSeq: last.Seq + 1, Seq: entries[i].Seq, TipHash: entries[i].Hash, PrevCheckpoint: last.Hash, Time: FormatTime(time.Now()), Reason: "entries"}
		_, err := c.Seal(ctx, signer)
		require.NoError(t, err)
		cps = append(cps, c)
		last = c
	}

	require.NoError(t, store.InsertEntries(ctx, entries[:20]))
	require.NoError(t, store.InsertEntries(ctx, entries[10:]), "re-delivery of stored entries is skipped")
	require.NoError(t, store.CopyEntries(ctx, entries[15:25]), "COPY of stored entries falls back to the skipping insert")
	require.NoError(t, store.InsertCheckpoints(ctx, cps))
	require.NoError(t, store.InsertCheckpoints(ctx, cps))
	seq, hash, err := store.HighWater(ctx, "pg-stream")
	require.NoError(t, err)
	assert.Equal(t, uint64(30), seq)
	assert.Equal(t, entries[29].Hash, hash)

	r := v.VerifyPG(ctx, store)
	requireVerified(t, r)
	assert.Equal(t, uint64(30), r.Reports[0].Entries)
	assert.Equal(t, 3, r.Reports[0].SignedCheckpoints)

	// A different entry under a stored sequence number is a fork.
	other := entries[5]
	other.Event.ActorID = "intruder"
	_, err = other.Seal(nil)
	require.NoError(t, err)
	require.ErrorIs(t, store.InsertEntries(ctx, []Entry{other}), ErrFork)
	require.ErrorIs(t, store.CopyEntries(ctx, []Entry{other}), ErrFork)

	// Triggers refuse changes, even by the owner.
	for _, stmt := range []string{
		`UPDATE ` + table + ` SET actor_id = 'x' WHERE seq = 1`,
		`DELETE FROM ` + table + ` WHERE seq = 1`,
		`TRUNCATE ` + table,
		`DELETE FROM ` + table + `_checkpoints`,
	} {
		_, err := conn.Exec(ctx, stmt)
		require.Error(t, err, stmt)
		assert.Contains(t, err.Error(), "append-only", stmt)
	}

	// The writer role may insert and select, nothing else.
	writerDSN := pgtest.Role(t, conn, "GRANT INSERT, SELECT ON "+table+", "+table+"_checkpoints")
	writer, err := OpenPG(ctx, writerDSN, table)
	require.NoError(t, err)
	defer writer.Close()
	require.NoError(t, writer.EnsureSchema(ctx), "an existing schema needs no DDL rights")
	more, _ := chain(t, "writer-stream", 3, 10, signer)
	require.NoError(t, writer.InsertEntries(ctx, more))
	wconn, err := pgxConnect(ctx, writerDSN)
	require.NoError(t, err)
	defer wconn.Close(ctx)
	for _, stmt := range []string{
		`UPDATE ` + table + ` SET actor_id = 'x' WHERE seq = 1`,
		`DELETE FROM ` + table + ` WHERE seq = 1`,
		`TRUNCATE ` + table,
	} {
		_, err := wconn.Exec(ctx, stmt)
		require.Error(t, err, stmt)
		assert.Contains(t, err.Error(), "permission denied", stmt)
	}

	// A superuser can disable the triggers and edit; verification names the edited entry.
	_, err = conn.Exec(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE `+table+` SET details = '{"z":[1,2.5,"y"]}' WHERE stream_id = 'pg-stream' AND seq = 4`)
	require.NoError(t, err)
	r = v.VerifyPG(ctx, store)
	requireFailure(t, r, Tampered, fmt.Sprintf("table %s, seq 4", table))
	assert.Equal(t, uint64(4), r.Failure.Seq)

	_, err = conn.Exec(ctx, `UPDATE `+table+` SET details = '{"z":[1,2.5,"x"],"a":{"b":null}}' WHERE stream_id = 'pg-stream' AND seq = 4`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `DELETE FROM `+table+` WHERE stream_id = 'pg-stream' AND seq = 17`)
	require.NoError(t, err)
	r = v.VerifyPG(ctx, store)
	requireFailure(t, r, Tampered, "entry 17 is missing")
	assert.Equal(t, uint64(17), r.Failure.Seq)
}
