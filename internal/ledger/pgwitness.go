package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGWitness is a PostgreSQL table that receives every checkpoint of one or more ledgers, kept
// under other credentials (ideally in another database) than the ledger itself, so that
// whoever can rewrite the ledger cannot rewrite what was witnessed.
type PGWitness struct {
	pool  *pgxpool.Pool
	table string
	t     string
	fn    string
	trRow string
	trTr  string
}

// OpenPGWitness connects to dsn. It does no schema work; see EnsureSchema.
func OpenPGWitness(ctx context.Context, dsn, table string) (*PGWitness, error) {
	if !ValidTableName(table) {
		return nil, fmt.Errorf("invalid witness table name %q (want [schema.]name of letters, digits and _)", table)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("witness postgres dsn: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	w := newPGWitnessNames(table)
	w.pool = pool
	return w, nil
}

func newPGWitnessNames(table string) *PGWitness {
	schema, name := "", table
	if i := strings.IndexByte(table, '.'); i >= 0 {
		schema, name = table[:i], table[i+1:]
	}
	return &PGWitness{
		table: table,
		t:     ident(schema, name),
		fn:    ident(schema, name+"_refuse_change"),
		trRow: pgx.Identifier{name + "_append_only"}.Sanitize(),
		trTr:  pgx.Identifier{name + "_no_truncate"}.Sanitize(),
	}
}

// WitnessSchemaSQL is the DDL of a witness table, append-only like the ledger's tables.
func WitnessSchemaSQL(table string) (string, error) {
	if !ValidTableName(table) {
		return "", fmt.Errorf("invalid witness table name %q", table)
	}
	return newPGWitnessNames(table).schemaSQL(), nil
}

func (w *PGWitness) schemaSQL() string {
	return strings.NewReplacer("{t}", w.t, "{fn}", w.fn, "{tr}", w.trRow, "{tt}", w.trTr).Replace(`CREATE TABLE IF NOT EXISTS {t} (
    stream_id       VARCHAR(64) NOT NULL,
    seq             BIGINT NOT NULL,
    first_seq       BIGINT NOT NULL,
    checkpoint_hash CHAR(64) NOT NULL,
    key_id          VARCHAR(32),
    checkpoint      TEXT NOT NULL,
    witnessed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, seq)
);
CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit witness table %: % is refused (the table is append-only)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS {tr} ON {t};
CREATE TRIGGER {tr} BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {fn}();
DROP TRIGGER IF EXISTS {tt} ON {t};
CREATE TRIGGER {tt} BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {fn}();
REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM PUBLIC;
`)
}

// Table is the witness table's name as configured.
func (w *PGWitness) Table() string { return w.table }

// Close closes the pool.
func (w *PGWitness) Close() { w.pool.Close() }

// EnsureSchema creates the witness table when it does not exist yet.
func (w *PGWitness) EnsureSchema(ctx context.Context) error {
	var exists bool
	if err := w.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, w.t).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, w.t); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, w.schemaSQL()); err != nil {
		return fmt.Errorf("creating the witness table: %w", err)
	}
	return tx.Commit(ctx)
}

// Publish stores checkpoints. One already stored is skipped; a different checkpoint already
// stored at the same stream and sequence number is ErrFork.
func (w *PGWitness) Publish(ctx context.Context, cps []Checkpoint) error {
	for i := range cps {
		c := &cps[i]
		line := c.AppendLine(nil)
		tag, err := w.pool.Exec(ctx, `INSERT INTO `+w.t+` (stream_id, seq, first_seq, checkpoint_hash, key_id, checkpoint)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, c.StreamID, int64(c.Seq), int64(c.FirstSeq), c.Hash, nullable(c.KeyID), string(line[:len(line)-1]))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			continue
		}
		var stored string
		if err := w.pool.QueryRow(ctx, `SELECT checkpoint_hash FROM `+w.t+` WHERE stream_id = $1 AND seq = $2`, c.StreamID, int64(c.Seq)).Scan(&stored); err != nil {
			return err
		}
		if stored != c.Hash {
			return fmt.Errorf("witness %s, stream %s checkpoint %d: %w", w.table, c.StreamID, c.Seq, ErrFork)
		}
	}
	return nil
}

// Read returns every checkpoint the witness holds.
func (w *PGWitness) Read(ctx context.Context) (*Witness, error) {
	rows, err := w.pool.Query(ctx, `SELECT stream_id, seq, checkpoint FROM `+w.t+` ORDER BY stream_id, seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &Witness{Name: "table " + w.table, Checkpoints: map[string][]Checkpoint{}}
	for rows.Next() {
		var stream, line string
		var seq int64
		if err := rows.Scan(&stream, &seq, &line); err != nil {
			return nil, err
		}
		c, err := ParseCheckpoint([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("witness table %s, stream %s seq %d: %w", w.table, stream, seq, err)
		}
		if c.StreamID != stream || c.Seq != uint64(seq) {
			return nil, fmt.Errorf("witness table %s, stream %s seq %d: the row holds the checkpoint of stream %s seq %d", w.table, stream, seq, c.StreamID, c.Seq)
		}
		out.add(c)
	}
	return out, rows.Err()
}
