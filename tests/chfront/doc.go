// Package chfront is a test-only ClickHouse server: ClickHouse's HTTP interface on a loopback
// port, in front of chDB (libchdb.so, the ClickHouse engine as an in-process library, loaded
// at run time). The tests point the contrib clickhouse exporter at it with an http:// endpoint
// and query the real engine to see what landed. It is imported by tests only and never linked
// into the collector.
//
// What it speaks, as a ClickHouse server does:
//   - POST and GET on /, the statement in the query parameter `query`, in the body, or in
//     both (the body continues the query); /ping;
//   - any statement the engine runs: the hello query of clickhouse-go, DDL (MergeTree, Map,
//     DateTime64, codecs, TTL, skip indexes, materialized views), SELECT and INSERT;
//   - INSERT ... FORMAT <format> with the data in the body (Native included), streamed into the
//     engine as it is: clients encode INSERT data at revision 0, the engine's own;
//   - results in default_format or the statement's FORMAT; Native results re-encoded for the
//     client_protocol_version the client sent (block info, custom-serialization flags);
//   - the database parameter, and every other query-string parameter as a setting for that
//     request alone (an unknown one fails with UNKNOWN_SETTING, as on a server);
//   - compress=1 and decompress=1 (ClickHouse's compressed blocks, LZ4), as clickhouse-go
//     sends with compression lz4 or zstd;
//   - errors as ClickHouse sends them: the status its HTTP handler gives the code, the code in
//     X-ClickHouse-Exception-Code, and "Code: N. DB::Exception: ... (NAME)" in the body.
//
// What it does not support, and refuses with a ClickHouse error (NOT_IMPLEMENTED, code 48,
// HTTP 501) unless said otherwise:
//   - HTTP sessions (session_id), query parameters (param_*), external tables (*_structure);
//   - HTTP compression by Content-Encoding (gzip, deflate, br, zstd) of request bodies; answers
//     are never compressed that way (enable_http_compression is passed on as a setting only);
//   - Native results with a column type that ch-go's ColAuto cannot infer, such as
//     Map(LowCardinality(String), String): UNKNOWN_TYPE (50); cast in the SELECT, or ask for
//     another format;
//   - the native TCP protocol (port 9000), TLS, and the interserver, MySQL and PostgreSQL
//     interfaces: it listens for HTTP only.
//
// And what it does differently from a server, without an error:
//   - users and passwords are accepted and not checked, and there are no grants or quotas;
//   - statements run one at a time in the one chDB session of the process (chDB runs one
//     engine per process), in their request's database and with their request's settings;
//     SET without a session applies to nothing, as on a server; GET is not made read-only;
//   - answers are buffered whole, not streamed, and send no progress or X-ClickHouse-Summary
//     headers; a text that holds several statements runs as chDB runs it;
//   - INSERT data after the statement in the same body (no query parameter) goes to the
//     engine with the text, as clickhouse-local reads it.
//
// libchdb.so is found through WARDEN_CHDB_LIB, which the Makefile sets after `make chdb` has
// fetched the npm package @chdb/lib-linux-x64-gnu into .tools/chdb; SharedEngine skips a test
// when neither is there. Calling the library needs cgo.
package chfront
