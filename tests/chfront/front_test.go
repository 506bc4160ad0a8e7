package chfront

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	CloseShared()
	os.Exit(code)
}

// open connects clickhouse-go to the front over HTTP, as the contrib exporter does.
func open(t *testing.T, f *Front, database string, method clickhouse.CompressionMethod) clickhouse.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol:    clickhouse.HTTP,
		Addr:        []string{f.Addr()},
		Auth:        clickhouse.Auth{Database: database, Username: "warden_insert", Password: "not checked"},
		Compression: &clickhouse.Compression{Method: method},
		Settings:    clickhouse.Settings{"async_insert": "false"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

type span struct {
	ID      uint64
	Name    string
	Service string
	At      time.Time
	Attrs   map[string]string
}

// TestClickHouseGoCreatesInsertsAndSelects drives the front with clickhouse-go over HTTP, with
// and without compression: the hello query, DDL in the contrib schema's style (MergeTree,
// Map(LowCardinality(String), String), DateTime64(9), codecs, a TTL and skip indexes), a
// batch INSERT in Native and a SELECT read back in Native at the client's revision.
func TestClickHouseGoCreatesInsertsAndSelects(t *testing.T) {
	f := StartForTest(t)
	for _, tc := range []struct {
		name   string
		method clickhouse.CompressionMethod
	}{{"uncompressed", clickhouse.CompressionNone}, {"lz4", clickhouse.CompressionLZ4}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := "clickhouse_go_" + tc.name
			require.NoError(t, open(t, f, "", tc.method).Exec(ctx, `CREATE DATABASE IF NOT EXISTS "`+db+`"`))
			conn := open(t, f, db, tc.method)
			v, err := conn.ServerVersion()
			require.NoError(t, err)
			assert.Equal(t, uint64(26), v.Version.Major, "the hello query answers with the engine's version")
			require.NoError(t, conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS "`+db+`"."spans" (
				Id UInt64 CODEC(ZSTD(1)),
				Name LowCardinality(String) CODEC(ZSTD(1)),
				Service String,
				Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
				Attrs Map(LowCardinality(String), String) CODEC(ZSTD(1)),
				INDEX idx_attr_key mapKeys(Attrs) TYPE bloom_filter(0.01) GRANULARITY 1
			) ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (Service, toDateTime(Timestamp))
			TTL toDateTime(Timestamp) + toIntervalDay(90) SETTINGS ttl_only_drop_parts = 1`))

			now := time.Now().UTC().Truncate(time.Microsecond)
			sent := []span{
				{1, "GET /cart", "shop", now, map[string]string{"http.method": "GET", "user": "[REDACTED:email]"}},
				{2, "charge", "payments", now.Add(time.Millisecond), map[string]string{"amount": "12.50"}},
				{3, "ünïcode ✓", "shop", now.Add(2 * time.Millisecond), map[string]string{}},
			}
			batch, err := conn.PrepareBatch(ctx, `INSERT INTO "`+db+`"."spans" (Id, Name, Service, Timestamp, Attrs)`)
			require.NoError(t, err)
			for _, s := range sent {
				require.NoError(t, batch.Append(s.ID, s.Name, s.Service, s.At, s.Attrs))
			}
			require.NoError(t, batch.Send())

			rows, err := conn.Query(ctx, `SELECT Id, Name, Service, Timestamp, CAST(Attrs, 'Map(String, String)') FROM spans ORDER BY Id`)
			require.NoError(t, err)
			var got []span
			for rows.Next() {
				var s span
				require.NoError(t, rows.Scan(&s.ID, &s.Name, &s.Service, &s.At, &s.Attrs))
				s.At = s.At.UTC()
				got = append(got, s)
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, sent, got)
		})
	}
}

// noKeepAlive connects for every request, so that a front started again is reached at once.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// post sends a statement to the front as curl would and returns status, exception code and body.
func post(t *testing.T, f *Front, params url.Values, body string) (int, string, string) {
	t.Helper()
	resp, err := noKeepAlive.Post(f.URL()+"/?"+params.Encode(), "text/plain", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("X-ClickHouse-Exception-Code"), string(b)
}

// TestErrorsAreClickHouseExceptions: the engine's errors and the front's own refusals come
// back as ClickHouse's HTTP interface sends them.
func TestErrorsAreClickHouseExceptions(t *testing.T) {
	f := StartForTest(t)
	for _, tc := range []struct {
		name   string
		params url.Values
		body   string
		status int
		code   string
		want   string
	}{
		{"syntax error", nil, "SELECT (", 400, "62", "Code: 62. DB::Exception: Syntax error"},
		{"unknown table", nil, "SELECT * FROM no_such_table", 404, "60", "(UNKNOWN_TABLE)"},
		{"unknown database", url.Values{"database": {"no_such_db"}}, "SELECT 1", 404, "81", "(UNKNOWN_DATABASE)"},
		{"unknown setting", url.Values{"no_such_setting": {"1"}}, "SELECT 1", 404, "115", "Unknown setting 'no_such_setting'"},
		{"query parameters", url.Values{"param_x": {"1"}}, "SELECT {x:UInt8}", 501, "48", "Code: 48. DB::Exception: the ClickHouse test front does not support query parameters (param_x). (NOT_IMPLEMENTED)"},
		{"sessions", url.Values{"session_id": {"s"}}, "SELECT 1", 501, "48", "does not support HTTP sessions"},
		{"a type it cannot re-encode", url.Values{"default_format": {"Native"}, "client_protocol_version": {"54460"}},
			"SELECT CAST(map('k', 'v'), 'Map(LowCardinality(String), String)')", 404, "50", "(UNKNOWN_TYPE)"},
		{"empty query", nil, "", 400, "62", "Empty query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := post(t, f, tc.params, tc.body)
			assert.Equal(t, tc.status, status, body)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, body, tc.want)
			assert.True(t, strings.HasPrefix(body, "Code: "+tc.code+". DB::Exception: "), body)
		})
	}
}

// TestSettingsApplyToTheirRequestOnly: a setting in the query string holds for its statement
// and not for the next one, though both run in the one engine session.
func TestSettingsApplyToTheirRequestOnly(t *testing.T) {
	f := StartForTest(t)
	q := "SELECT value FROM system.settings WHERE name = 'max_block_size'"
	_, _, before := post(t, f, nil, q)
	status, _, with := post(t, f, url.Values{"max_block_size": {"1234"}}, q)
	require.Equal(t, 200, status, with)
	assert.Equal(t, "1234\n", with)
	_, _, after := post(t, f, nil, q)
	assert.Equal(t, before, after)
	assert.NotEqual(t, with, after)
	status, _, body := post(t, f, nil, "SET max_block_size = 7")
	assert.Equal(t, 200, status, body)
	_, _, after = post(t, f, nil, q)
	assert.Equal(t, before, after, "SET outside a session changes nothing, as on a server")
}

// TestStopAndStartOnTheSamePort: a stopped front refuses connections; started again on its
// address it serves the same data.
func TestStopAndStartOnTheSamePort(t *testing.T) {
	f := StartForTest(t)
	status, _, body := post(t, f, nil, "CREATE TABLE IF NOT EXISTS kept (n UInt8) ENGINE = MergeTree ORDER BY n")
	require.Equal(t, 200, status, body)
	status, _, body = post(t, f, url.Values{"query": {"INSERT INTO kept FORMAT TabSeparated"}}, "1\n2\n3\n")
	require.Equal(t, 200, status, body)
	addr := f.Addr()
	f.Stop()
	_, err := noKeepAlive.Post("http://"+addr+"/", "text/plain", strings.NewReader("SELECT 1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")

	again, err := Start(SharedEngine(t), addr)
	require.NoError(t, err)
	t.Cleanup(again.Stop)
	_, _, body = post(t, again, nil, "SELECT sum(n) FROM kept")
	assert.Equal(t, "6\n", body)
	resp, err := noKeepAlive.Get(again.URL() + "/ping")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "Ok.\n", string(b))
}

// TestNativeIsReencodedForTheClientRevision decodes what the front answers at each client
// revision with ch-go at that revision: block info from 51903, the custom-serialization flag
// from 54454, and nothing of either at revision 0 (the engine's own).
func TestNativeIsReencodedForTheClientRevision(t *testing.T) {
	f := StartForTest(t)
	for _, rev := range []int{0, 51903, 54454, 54460} {
		params := url.Values{"default_format": {"Native"}}
		if rev > 0 {
			params.Set("client_protocol_version", strconv.Itoa(rev))
		}
		status, _, body := post(t, f, params, "SELECT number AS n, toString(number) AS s, [number] AS a, toLowCardinality('x') AS l FROM numbers(3)")
		require.Equal(t, 200, status, body)
		var (
			block   proto.Block
			results proto.Results
		)
		r := proto.NewReader(strings.NewReader(body))
		if rev > 0 {
			require.NoError(t, block.DecodeBlock(r, rev, results.Auto()), "revision %d", rev)
		} else {
			require.NoError(t, block.DecodeRawBlock(r, rev, results.Auto()))
		}
		require.Len(t, results, 4)
		assert.Equal(t, 3, block.Rows)
		assert.Equal(t, proto.ColumnType("UInt64"), results[0].Data.Type())
		assert.Equal(t, []uint64{0, 1, 2}, []uint64(*results[0].Data.(*proto.ColUInt64)), "revision %d", rev)
		assert.Equal(t, "2", results[1].Data.(*proto.ColStr).Row(2))
	}
}
