package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var tableNamePattern = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,50}$`)

// ValidTableName reports whether name can be used as the ledger table ([schema.]table).
func ValidTableName(name string) bool { return tableNamePattern.MatchString(name) }

// ErrFork is returned when the database already holds a different entry with the same
// stream and sequence number: two writers share a stream, or the table was edited.
var ErrFork = errors.New("the database holds a different entry with the same stream and sequence number")

// PGStore is the PostgreSQL sink and source of a ledger: the security design's audit_log
// columns plus the chain columns, and a checkpoints table beside it.
type PGStore struct {
	pool *pgxpool.Pool
	pgNames
}

// pgNames are the quoted identifiers of a ledger table and its companions.
type pgNames struct {
	table                                       string
	t, cp                                       string
	fn, trigRow, trigTrunc, cpTrigRow, cpTrigTr string
}

func newPGNames(table string) (pgNames, error) {
	if !ValidTableName(table) {
		return pgNames{}, fmt.Errorf("invalid table name %q (want [schema.]name of letters, digits and _)", table)
	}
	schema, name := "", table
	if i := strings.IndexByte(table, '.'); i >= 0 {
		schema, name = table[:i], table[i+1:]
	}
	return pgNames{
		table:     table,
		t:         ident(schema, name),
		cp:        ident(schema, name+"_checkpoints"),
		fn:        ident(schema, name+"_refuse_change"),
		trigRow:   pgx.Identifier{name + "_append_only"}.Sanitize(),
		trigTrunc: pgx.Identifier{name + "_no_truncate"}.Sanitize(),
		cpTrigRow: pgx.Identifier{name + "_checkpoints_append_only"}.Sanitize(),
		cpTrigTr:  pgx.Identifier{name + "_checkpoints_no_truncate"}.Sanitize(),
	}, nil
}

func ident(schema, name string) string {
	if schema == "" {
		return pgx.Identifier{name}.Sanitize()
	}
	return pgx.Identifier{schema, name}.Sanitize()
}

// OpenPG connects to dsn. It does no schema work; see EnsureSchema.
func OpenPG(ctx context.Context, dsn, table string) (*PGStore, error) {
	names, err := newPGNames(table)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &PGStore{pool: pool, pgNames: names}, nil
}

// Close closes the pool.
func (s *PGStore) Close() { s.pool.Close() }

// Table is the ledger table's name as configured.
func (s *PGStore) Table() string { return s.table }

// SchemaSQL is the DDL of the ledger tables: columns, indexes, and the triggers that refuse
// UPDATE, DELETE and TRUNCATE. Run it as the owner; the writer needs only INSERT and SELECT.
func SchemaSQL(table string) (string, error) {
	n, err := newPGNames(table)
	if err != nil {
		return "", err
	}
	return n.schemaSQL(), nil
}

func (n pgNames) schemaSQL() string {
	r := strings.NewReplacer("{t}", n.t, "{cp}", n.cp, "{fn}", n.fn, "{tr}", n.trigRow,
		"{tt}", n.trigTrunc, "{ctr}", n.cpTrigRow, "{ctt}", n.cpTrigTr,
		"{ix}", strings.ReplaceAll(strings.Trim(n.t, `"`), `"."`, "_"))
	return r.Replace(schemaTemplate)
}

const schemaTemplate = `CREATE TABLE IF NOT EXISTS {t} (
    id                  UUID PRIMARY KEY,
    timestamp           TIMESTAMPTZ NOT NULL,
    actor_type          VARCHAR(20) NOT NULL,
    actor_id            VARCHAR(255) NOT NULL,
    actor_email         VARCHAR(255),
    actor_ip            INET,
    actor_user_agent    TEXT,
    action              VARCHAR(100) NOT NULL,
    resource_type       VARCHAR(50) NOT NULL,
    resource_id         VARCHAR(255),
    resource_name       VARCHAR(255),
    request_id          VARCHAR(64),
    session_id          VARCHAR(64),
    team_id             VARCHAR(64),
    details             JSONB,
    previous_state      JSONB,
    new_state           JSONB,
    status              VARCHAR(20) NOT NULL,
    error_message       TEXT,
    data_classification VARCHAR(20),
    compliance_tags     VARCHAR(50)[],
    -- chain columns
    schema_version      SMALLINT NOT NULL,
    stream_id           VARCHAR(64) NOT NULL,
    seq                 BIGINT NOT NULL CHECK (seq > 0),
    record_id           VARCHAR(128) NOT NULL,
    ledger_timestamp    TIMESTAMPTZ NOT NULL,
    key_id              VARCHAR(32),
    counts              JSONB,
    attributes          JSONB,
    prev_hash           CHAR(64) NOT NULL,
    entry_hash          CHAR(64) NOT NULL,
    UNIQUE (stream_id, seq)
);
CREATE INDEX IF NOT EXISTS "{ix}_timestamp_idx" ON {t} (timestamp);
CREATE INDEX IF NOT EXISTS "{ix}_actor_idx" ON {t} (actor_id, timestamp);
CREATE INDEX IF NOT EXISTS "{ix}_resource_idx" ON {t} (resource_type, resource_id, timestamp);
CREATE INDEX IF NOT EXISTS "{ix}_action_idx" ON {t} (action, timestamp);
CREATE TABLE IF NOT EXISTS {cp} (
    stream_id       VARCHAR(64) NOT NULL,
    seq             BIGINT NOT NULL,
    first_seq       BIGINT NOT NULL,
    schema_version  SMALLINT NOT NULL,
    tip_hash        CHAR(64) NOT NULL,
    prev_checkpoint CHAR(64),
    checkpoint_time TIMESTAMPTZ NOT NULL,
    reason          VARCHAR(16) NOT NULL,
    key_id          VARCHAR(32),
    signature       TEXT,
    checkpoint_hash CHAR(64) NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
ALTER TABLE {cp} ADD COLUMN IF NOT EXISTS alg VARCHAR(32);
CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit ledger table %: % is refused (the table is append-only)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS {tr} ON {t};
CREATE TRIGGER {tr} BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {fn}();
DROP TRIGGER IF EXISTS {tt} ON {t};
CREATE TRIGGER {tt} BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {fn}();
DROP TRIGGER IF EXISTS {ctr} ON {cp};
CREATE TRIGGER {ctr} BEFORE UPDATE OR DELETE ON {cp} FOR EACH ROW EXECUTE FUNCTION {fn}();
DROP TRIGGER IF EXISTS {ctt} ON {cp};
CREATE TRIGGER {ctt} BEFORE TRUNCATE ON {cp} FOR EACH STATEMENT EXECUTE FUNCTION {fn}();
REVOKE UPDATE, DELETE, TRUNCATE ON {t}, {cp} FROM PUBLIC;
`

// EnsureSchema creates the tables and triggers when the ledger table does not exist yet. An
// existing table is left alone, so a writer role with only INSERT and SELECT can start.
func (s *PGStore) EnsureSchema(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL
    AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'alg' AND NOT attisdropped)`,
		s.t, s.cp).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Serialise concurrent first starts.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.t); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, s.schemaSQL()); err != nil {
		return fmt.Errorf("creating the ledger tables: %w", err)
	}
	return tx.Commit(ctx)
}

// Ping checks the connection.
func (s *PGStore) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// HighWater returns the newest sequence number stored for a stream (0 when none) and its hash.
func (s *PGStore) HighWater(ctx context.Context, stream string) (uint64, string, error) {
	var seq int64
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT seq, entry_hash FROM `+s.t+` WHERE stream_id = $1 ORDER BY seq DESC LIMIT 1`, stream).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return uint64(seq), hash, err
}

// rowID is the row's primary key, derived from stream and sequence number so that a
// re-delivered entry collides with itself. It is laid out like a UUIDv7 (stream hash, then the
// sequence number), so a stream's rows append at the end of the index instead of at random.
func rowID(stream string, seq uint64) string {
	sum := sha256.Sum256([]byte(stream))
	var u [16]byte
	copy(u[0:6], sum[0:6])
	binary.BigEndian.PutUint64(u[6:14], seq<<8) // 56 bits of sequence number
	u[14], u[15] = sum[6], sum[7]
	u[6] = 0x80 | (u[6] & 0x0f) // version 8: custom
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 4122 variant
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableJSON(raw json.RawMessage) *string {
	if len(raw) == 0 {
		return nil
	}
	s := string(raw)
	return &s
}

func jsonOf[V any](m map[string]V) *string {
	if len(m) == 0 {
		return nil
	}
	raw, _ := json.Marshal(m)
	s := string(raw)
	return &s
}

var entryColumns = []string{"id", "timestamp", "actor_type", "actor_id", "actor_email", "actor_ip",
	"actor_user_agent", "action", "resource_type", "resource_id", "resource_name", "request_id", "session_id",
	"team_id", "details", "previous_state", "new_state", "status", "error_message", "data_classification",
	"compliance_tags", "schema_version", "stream_id", "seq", "record_id", "ledger_timestamp", "key_id", "counts",
	"attributes", "prev_hash", "entry_hash"}

// CopyEntries stores entries with COPY, the fast path for entries that are not in the table
// yet. When any of them is (a re-delivery after a crash), the whole COPY fails and the
// entries go through InsertEntries, which skips the stored ones.
func (s *PGStore) CopyEntries(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i := range entries {
		e := &entries[i]
		ts, err := time.Parse(TimeLayout, e.Time)
		if err != nil {
			return fmt.Errorf("entry %d: time %q: %w", e.Seq, e.Time, err)
		}
		lts, err := time.Parse(TimeLayout, e.LedgerTime)
		if err != nil {
			return fmt.Errorf("entry %d: ledger time %q: %w", e.Seq, e.LedgerTime, err)
		}
		ev := &e.Event
		var ip any
		if ev.ActorIP != "" {
			addr, err := netip.ParseAddr(ev.ActorIP)
			if err != nil {
				return fmt.Errorf("entry %d: actor ip: %w", e.Seq, err)
			}
			ip = addr
		}
		var tags any
		if len(ev.ComplianceTags) > 0 {
			tags = ev.ComplianceTags
		}
		rows[i] = []any{rowID(e.StreamID, e.Seq), ts, ev.ActorType, ev.ActorID, nullable(ev.ActorEmail), ip,
			nullable(ev.ActorUserAgent), ev.Action, ev.ResourceType, nullable(ev.ResourceID), nullable(ev.ResourceName),
			nullable(ev.RequestID), nullable(ev.SessionID), nullable(ev.TeamID), nullableJSON(ev.Details),
			nullableJSON(ev.PreviousState), nullableJSON(ev.NewState), ev.Status, nullable(ev.ErrorMessage),
			nullable(ev.DataClassification), tags, int16(e.Version), e.StreamID, int64(e.Seq), e.RecordID, lts,
			nullable(e.KeyID), jsonOf(ev.Counts), jsonOf(ev.Attributes), e.PrevHash, e.Hash}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier(strings.Split(s.table, ".")), entryColumns, pgx.CopyFromRows(rows))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: some are stored already
		return s.InsertEntries(ctx, entries)
	}
	return err
}

// InsertEntries stores entries (of one stream, in order) in one statement. Entries already
// stored are skipped; an already stored entry with another hash is ErrFork.
func (s *PGStore) InsertEntries(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	cols := struct {
		id, actorType, actorID, action, resType, status, stream, recordID, prev, hash []string
		ts, lts                                                                       []time.Time
		email, ip, ua, resID, resName, reqID, sessID, teamID, errMsg, class, kid      []*string
		details, prevState, newState, tags, counts, attrs                             []*string
		seq                                                                           []int64
		version                                                                       []int16
	}{}
	for i := range entries {
		e := &entries[i]
		ts, err := time.Parse(TimeLayout, e.Time)
		if err != nil {
			return fmt.Errorf("entry %d: time %q: %w", e.Seq, e.Time, err)
		}
		lts, err := time.Parse(TimeLayout, e.LedgerTime)
		if err != nil {
			return fmt.Errorf("entry %d: ledger time %q: %w", e.Seq, e.LedgerTime, err)
		}
		ev := &e.Event
		cols.id = append(cols.id, rowID(e.StreamID, e.Seq))
		cols.ts = append(cols.ts, ts)
		cols.lts = append(cols.lts, lts)
		cols.actorType = append(cols.actorType, ev.ActorType)
		cols.actorID = append(cols.actorID, ev.ActorID)
		cols.email = append(cols.email, nullable(ev.ActorEmail))
		cols.ip = append(cols.ip, nullable(ev.ActorIP))
		cols.ua = append(cols.ua, nullable(ev.ActorUserAgent))
		cols.action = append(cols.action, ev.Action)
		cols.resType = append(cols.resType, ev.ResourceType)
		cols.resID = append(cols.resID, nullable(ev.ResourceID))
		cols.resName = append(cols.resName, nullable(ev.ResourceName))
		cols.reqID = append(cols.reqID, nullable(ev.RequestID))
		cols.sessID = append(cols.sessID, nullable(ev.SessionID))
		cols.teamID = append(cols.teamID, nullable(ev.TeamID))
		cols.details = append(cols.details, nullableJSON(ev.Details))
		cols.prevState = append(cols.prevState, nullableJSON(ev.PreviousState))
		cols.newState = append(cols.newState, nullableJSON(ev.NewState))
		cols.status = append(cols.status, ev.Status)
		cols.errMsg = append(cols.errMsg, nullable(ev.ErrorMessage))
		cols.class = append(cols.class, nullable(ev.DataClassification))
		var tags *string
		if len(ev.ComplianceTags) > 0 {
			raw, _ := json.Marshal(ev.ComplianceTags)
			t := string(raw)
			tags = &t
		}
		cols.tags = append(cols.tags, tags)
		cols.version = append(cols.version, int16(e.Version))
		cols.stream = append(cols.stream, e.StreamID)
		cols.seq = append(cols.seq, int64(e.Seq))
		cols.recordID = append(cols.recordID, e.RecordID)
		cols.kid = append(cols.kid, nullable(e.KeyID))
		cols.counts = append(cols.counts, jsonOf(ev.Counts))
		cols.attrs = append(cols.attrs, jsonOf(ev.Attributes))
		cols.prev = append(cols.prev, e.PrevHash)
		cols.hash = append(cols.hash, e.Hash)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.t+` (id, timestamp, actor_type, actor_id, actor_email, actor_ip,
    actor_user_agent, action, resource_type, resource_id, resource_name, request_id, session_id, team_id,
    details, previous_state, new_state, status, error_message, data_classification, compliance_tags,
    schema_version, stream_id, seq, record_id, ledger_timestamp, key_id, counts, attributes, prev_hash, entry_hash)
SELECT u.id, u.ts, u.actor_type, u.actor_id, u.email, u.ip, u.ua, u.action, u.res_type, u.res_id, u.res_name,
    u.req_id, u.sess_id, u.team_id, u.details, u.prev_state, u.new_state, u.status, u.err, u.class,
    CASE WHEN u.tags IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.tags)) END,
    u.version, u.stream, u.seq, u.record_id, u.lts, u.kid, u.counts, u.attrs, u.prev, u.hash
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::inet[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::jsonb[], $16::jsonb[],
    $17::jsonb[], $18::text[], $19::text[], $20::text[], $21::jsonb[], $22::int2[], $23::text[], $24::int8[],
    $25::text[], $26::timestamptz[], $27::text[], $28::jsonb[], $29::jsonb[], $30::text[], $31::text[])
    AS u(id, ts, actor_type, actor_id, email, ip, ua, action, res_type, res_id, res_name, req_id, sess_id, team_id,
    details, prev_state, new_state, status, err, class, tags, version, stream, seq, record_id, lts, kid, counts,
    attrs, prev, hash)
ON CONFLICT DO NOTHING`,
		cols.id, cols.ts, cols.actorType, cols.actorID, cols.email, cols.ip, cols.ua, cols.action, cols.resType,
		cols.resID, cols.resName, cols.reqID, cols.sessID, cols.teamID, cols.details, cols.prevState, cols.newState,
		cols.status, cols.errMsg, cols.class, cols.tags, cols.version, cols.stream, cols.seq, cols.recordID, cols.lts,
		cols.kid, cols.counts, cols.attrs, cols.prev, cols.hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == int64(n) {
		return nil
	}
	// Some were there already: a re-delivery after a crash is fine, a different entry is not.
	rows, err := s.pool.Query(ctx, `SELECT seq, entry_hash FROM `+s.t+` WHERE stream_id = $1 AND seq BETWEEN $2 AND $3`,
		entries[0].StreamID, int64(entries[0].Seq), int64(entries[n-1].Seq))
	if err != nil {
		return err
	}
	stored := map[uint64]string{}
	for rows.Next() {
		var seq int64
		var h string
		if err := rows.Scan(&seq, &h); err != nil {
			rows.Close()
			return err
		}
		stored[uint64(seq)] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range entries {
		if h, ok := stored[entries[i].Seq]; !ok || h != entries[i].Hash {
			return fmt.Errorf("stream %s entry %d: %w", entries[i].StreamID, entries[i].Seq, ErrFork)
		}
	}
	return nil
}

// InsertCheckpoints stores checkpoints; already stored ones are skipped.
func (s *PGStore) InsertCheckpoints(ctx context.Context, cps []Checkpoint) error {
	batch := &pgx.Batch{}
	for _, c := range cps {
		ts, err := time.Parse(TimeLayout, c.Time)
		if err != nil {
			return fmt.Errorf("checkpoint %d: time %q: %w", c.Seq, c.Time, err)
		}
		batch.Queue(`INSERT INTO `+s.cp+` (stream_id, seq, first_seq, schema_version, tip_hash, prev_checkpoint,
    checkpoint_time, reason, key_id, alg, signature, checkpoint_hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
ON CONFLICT DO NOTHING`, c.StreamID, int64(c.Seq), int64(c.FirstSeq), int16(c.Version), c.TipHash,
			nullable(c.PrevCheckpoint), ts, c.Reason, nullable(c.KeyID), nullable(c.Alg), nullable(c.Signature), c.Hash)
	}
	return s.pool.SendBatch(ctx, batch).Close()
}

// Streams lists the streams stored in the table.
func (s *PGStore) Streams(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT stream_id FROM `+s.t+` ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ReadEntries calls fn with every entry of a stream in sequence order.
func (s *PGStore) ReadEntries(ctx context.Context, stream string, fn func(*Entry) error) error {
	rows, err := s.pool.Query(ctx, `SELECT timestamp, actor_type, actor_id, actor_email, host(actor_ip), actor_user_agent,
    action, resource_type, resource_id, resource_name, request_id, session_id, team_id, details::text,
    previous_state::text, new_state::text, status, error_message, data_classification, compliance_tags,
    schema_version, stream_id, seq, record_id, ledger_timestamp, key_id, counts::text, attributes::text,
    prev_hash, entry_hash
FROM `+s.t+` WHERE stream_id = $1 ORDER BY seq`, stream)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e                                                                 Entry
			ts, lts                                                           time.Time
			email, ip, ua, resID, resName, reqID, sessID, teamID, errMsg, kid *string
			details, prevState, newState, class, counts, attrs                *string
			version                                                           int16
			seq                                                               int64
		)
		ev := &e.Event
		if err := rows.Scan(&ts, &ev.ActorType, &ev.ActorID, &email, &ip, &ua, &ev.Action, &ev.ResourceType, &resID,
			&resName, &reqID, &sessID, &teamID, &details, &prevState, &newState, &ev.Status, &errMsg, &class,
			&ev.ComplianceTags, &version, &e.StreamID, &seq, &e.RecordID, &lts, &kid, &counts, &attrs,
			&e.PrevHash, &e.Hash); err != nil {
			return err
		}
		e.Version, e.Seq = int(version), uint64(seq)
		e.Time, e.LedgerTime = FormatTime(ts), FormatTime(lts)
		ev.ActorEmail, ev.ActorIP, ev.ActorUserAgent = str(email), str(ip), str(ua)
		ev.ResourceID, ev.ResourceName, ev.RequestID = str(resID), str(resName), str(reqID)
		ev.SessionID, ev.TeamID, ev.ErrorMessage = str(sessID), str(teamID), str(errMsg)
		ev.DataClassification, e.KeyID = str(class), str(kid)
		if details != nil {
			ev.Details = json.RawMessage(*details)
		}
		if prevState != nil {
			ev.PreviousState = json.RawMessage(*prevState)
		}
		if newState != nil {
			ev.NewState = json.RawMessage(*newState)
		}
		if counts != nil {
			if err := json.Unmarshal([]byte(*counts), &ev.Counts); err != nil {
				return fmt.Errorf("entry %d: counts: %w", e.Seq, err)
			}
		}
		if attrs != nil {
			if err := json.Unmarshal([]byte(*attrs), &ev.Attributes); err != nil {
				return fmt.Errorf("entry %d: attributes: %w", e.Seq, err)
			}
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ReadCheckpoints returns a stream's checkpoints in sequence order.
func (s *PGStore) ReadCheckpoints(ctx context.Context, stream string) ([]Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT schema_version, stream_id, first_seq, seq, tip_hash, prev_checkpoint,
    checkpoint_time, reason, key_id, alg, signature, checkpoint_hash FROM `+s.cp+` WHERE stream_id = $1 ORDER BY seq`, stream)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var version int16
		var first, seq int64
		var prev, kid, alg, sig *string
		var ts time.Time
		if err := rows.Scan(&version, &c.StreamID, &first, &seq, &c.TipHash, &prev, &ts, &c.Reason, &kid, &alg, &sig, &c.Hash); err != nil {
			return nil, err
		}
		c.Version, c.FirstSeq, c.Seq = int(version), uint64(first), uint64(seq)
		c.PrevCheckpoint, c.KeyID, c.Alg, c.Signature, c.Time = str(prev), str(kid), str(alg), str(sig), FormatTime(ts)
		out = append(out, c)
	}
	return out, rows.Err()
}

// VerifyPG verifies every stream stored in a PostgreSQL ledger table.
func (v *Verifier) VerifyPG(ctx context.Context, s *PGStore) Result {
	return v.verifyPG(ctx, s, nil)
}

func (v *Verifier) verifyPG(ctx context.Context, s *PGStore, probe func(*StreamCheck)) Result {
	streams, err := s.Streams(ctx)
	if err != nil {
		return Result{Err: err}
	}
	cpStreams, err := s.CheckpointStreams(ctx)
	if err != nil {
		return Result{Err: err}
	}
	streams = append(streams, cpStreams...)
	slices.Sort(streams)
	streams = slices.Compact(streams)
	if len(streams) == 0 && len(v.Streams) == 0 && len(v.Anchors) == 0 {
		return Result{Err: fmt.Errorf("table %s holds no audit ledger entries", s.table)}
	}
	var r Result
	for _, stream := range streams {
		check := v.NewStreamCheck(stream)
		if probe != nil {
			probe(check)
		}
		cps, err := s.ReadCheckpoints(ctx, stream)
		if err != nil {
			r.Err = err
			return r
		}
		where := make([]string, len(cps))
		for i, c := range cps {
			where[i] = fmt.Sprintf("table %s_checkpoints, seq %d", s.table, c.Seq)
		}
		if f := check.Checkpoints(cps, where); f != nil {
			r.Reports, r.Failure = append(r.Reports, check.rep), f
			return r
		}
		var failure *Failure
		err = s.ReadEntries(ctx, stream, func(e *Entry) error {
			if f := check.Entry(e, fmt.Sprintf("table %s, seq %d", s.table, e.Seq)); f != nil {
				failure = f
				return errStop
			}
			return nil
		})
		if failure != nil {
			r.Reports, r.Failure = append(r.Reports, check.rep), failure
			return r
		}
		if err != nil {
			r.Err = err
			return r
		}
		rep, f := check.Finish()
		r.Reports = append(r.Reports, rep)
		if f != nil {
			r.Failure = f
			return r
		}
	}
	v.checkRequired(&r, "table "+s.table)
	return r
}

// CheckpointStreams lists the streams that have checkpoints in the table.
func (s *PGStore) CheckpointStreams(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT stream_id FROM `+s.cp+` ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

var errStop = errors.New("stop")

func pgxConnect(ctx context.Context, dsn string) (*pgx.Conn, error) { return pgx.Connect(ctx, dsn) }
