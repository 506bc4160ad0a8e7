package auditledgerextension

import (
	"context"
	"fmt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadatatest"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

func testConfig(t testing.TB, dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.File.Directory = dir
	cfg.StreamID = "test-stream"
	cfg.Checkpoint.Entries = 100
	cfg.Checkpoint.SigningKeyFile = keyFile(dir, "signing.key")
	cfg.Checkpoint.CreateKey = true
	require.NoError(t, cfg.Validate())
	return cfg
}

// keyFile is where a test keeps a signing key: beside the ledger directory, not in it.
func keyFile(ledgerDir, name string) string { return filepath.Join(ledgerDir+".keys", name) }

func startLedger(t testing.TB, cfg *Config, tel *componenttest.Telemetry) *ledgerExtension {
	t.Helper()
	set := extensiontest.NewNopSettings(metadata.Type)
	if tel != nil {
		set = metadatatest.NewSettings(tel)
	}
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext.(*ledgerExtension)
}

func event(i int) audit.Event {
	return audit.Event{
		Actor:    audit.Actor{Type: audit.ActorService, ID: "exporter/audit"},
		Action:   "telemetry.export",
		Resource: audit.Resource{Type: "destination", ID: "otlp_grpc/backend"},
		Outcome:  audit.OutcomeSuccess,
		Counts:   map[string]int64{"records": int64(i)},
	}
}

func publicKey(t testing.TB, file string) *ledger.PublicKey {
	t.Helper()
	pub, err := ledger.LoadPublicKey(file)
	require.NoError(t, err)
	return pub
}

// verifyDir verifies dir trusting roots and returns the stream's report.
func verifyDir(t testing.TB, dir string, roots ...*ledger.PublicKey) ledger.StreamReport {
	t.Helper()
	r := (&ledger.Verifier{Roots: roots}).VerifyDir(dir)
	require.NoError(t, r.Err)
	require.Nil(t, r.Failure, "%v", r.Failure)
	require.Len(t, r.Reports, 1)
	return r.Reports[0]
}

func TestRecordConcurrentlyChainsAndVerifies(t *testing.T) {
	dir := t.TempDir()
	tel := componenttest.NewTelemetry()
	l := startLedger(t, testConfig(t, dir), tel)

	const workers, per = 8, 125
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				if i%5 == 0 {
					evs := []audit.Event{event(w), event(i)}
					assert.NoError(t, l.RecordBatch(context.Background(), evs))
					continue
				}
				assert.NoError(t, l.Record(context.Background(), event(i)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, l.Shutdown(context.Background()))

	total := workers * (per + per/5) // batches of two every fifth
	rep := verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub")))
	assert.Equal(t, uint64(total+2), rep.Entries, "every event plus the start and stop entries")
	assert.Zero(t, rep.Unsealed, "the shutdown checkpoint covers everything")
	assert.GreaterOrEqual(t, rep.SignedCheckpoints, total/100)

	metadatatest.AssertEqualAuditLedgerEntries(t, tel, []metricdata.DataPoint[int64]{{Value: int64(total + 2)}}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, tel.Shutdown(context.Background()))
}

func TestRecordIDIsStoredOnce(t *testing.T) {
	dir := t.TempDir()
	tel := componenttest.NewTelemetry()
	l := startLedger(t, testConfig(t, dir), tel)
	ev := event(1)
	ev.RecordID = "delivery-42"
	for range 3 {
		require.NoError(t, l.Record(context.Background(), ev))
	}
	require.NoError(t, l.Shutdown(context.Background()))
	assert.Equal(t, uint64(3), verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub"))).Entries)
	metadatatest.AssertEqualAuditLedgerDuplicates(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())

	// The window survives a restart: the id is read back from the journal.
	l = startLedger(t, testConfig(t, dir), nil)
	require.NoError(t, l.Record(context.Background(), ev))
	require.NoError(t, l.Shutdown(context.Background()))
	assert.Equal(t, uint64(5), verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub"))).Entries, "start and stop only")
	require.NoError(t, tel.Shutdown(context.Background()))
}

func TestInvalidEventIsRefusedAndCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	l := startLedger(t, testConfig(t, t.TempDir()), tel)
	err := l.Record(context.Background(), audit.Event{Action: "x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "actor id is required")
	require.NoError(t, l.Shutdown(context.Background()))
	require.ErrorIs(t, l.Record(context.Background(), event(1)), ErrClosed)
	metadatatest.AssertEqualAuditLedgerRecordErrors(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "invalid"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "closed"))},
	}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, tel.Shutdown(context.Background()))
}

func TestRestartResumesChainAndRepairsTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	l := startLedger(t, cfg, nil)
	for i := range 10 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.NoError(t, l.Shutdown(context.Background()))

	// A crash mid-write leaves half a line.
	segs, err := ledger.Segments(filepath.Join(dir, "test-stream"))
	require.NoError(t, err)
	f, err := os.OpenFile(segs[len(segs)-1].Path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"stream":"test-stream","seq":13,"record_i`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	tel := componenttest.NewTelemetry()
	l = startLedger(t, cfg, tel)
	for i := range 10 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.NoError(t, l.Shutdown(context.Background()))
	rep := verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub")))
	assert.Equal(t, uint64(24), rep.Entries, "two runs of start + 10 + stop, one chain")
	metadatatest.AssertEqualAuditLedgerRepairedBytes(t, tel, []metricdata.DataPoint[int64]{{Value: int64(len(`{"v":1,"stream":"test-stream","seq":13,"record_i`))}}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, tel.Shutdown(context.Background()))
}

func TestMissingSigningKeyIsAStartError(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Checkpoint.CreateKey = false
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "signing_key_file")
	require.NoError(t, ext.Shutdown(context.Background()))
}

func pgConfig(t testing.TB, dir, dsn, table string) *Config {
	cfg := testConfig(t, dir)
	cfg.Postgres = configoptional.Some(PostgresConfig{
		DSN: "", Table: table, CreateSchema: true, BatchSize: 100, MaxBacklog: 1_000_000,
		RetryInterval: 50 * time.Millisecond, MaxRetryInterval: 200 * time.Millisecond,
	})
	cfg.Postgres.Get().DSN = configoptionalDSN(dsn)
	require.NoError(t, cfg.Validate())
	return cfg
}

func TestPostgresSinkShipsAndVerifies(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	dir := t.TempDir()
	tel := componenttest.NewTelemetry()
	l := startLedger(t, pgConfig(t, dir, pgtest.DSN(), table), tel)
	for i := range 250 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.NoError(t, l.Shutdown(context.Background()))

	store, err := ledger.OpenPG(context.Background(), pgtest.DSN(), table)
	require.NoError(t, err)
	defer store.Close()
	r := (&ledger.Verifier{Roots: []*ledger.PublicKey{publicKey(t, keyFile(dir, "signing.key.pub"))}}).VerifyPG(context.Background(), store)
	require.NoError(t, r.Err)
	require.Nil(t, r.Failure, "%v", r.Failure)
	assert.Equal(t, uint64(252), r.Reports[0].Entries)
	assert.Zero(t, r.Reports[0].Unsealed, "the shutdown checkpoint reached the database")
	metadatatest.AssertEqualAuditLedgerSinkEntries(t, tel, []metricdata.DataPoint[int64]{
		{Value: 252, Attributes: attribute.NewSet(attribute.String("sink", "postgres"))},
	}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, tel.Shutdown(context.Background()))
}

// outageProxy forwards TCP to PostgreSQL while up, and refuses (closes) connections while down.
type outageProxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newOutageProxy(t *testing.T, target string) *outageProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &outageProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.down() })
	return p
}

func (p *outageProxy) down() {
	p.up.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestPostgresOutageBuffersAndDrainsInOrder(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn)
	u, err := url.Parse(pgtest.DSN())
	require.NoError(t, err)
	proxy := newOutageProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	dir := t.TempDir()
	cfg := pgConfig(t, dir, u.String(), table)
	cfg.Postgres.Get().MaxBacklog = 60
	tel := componenttest.NewTelemetry()
	l := startLedger(t, cfg, tel) // the database is unreachable from the start

	// Entries are durable locally and acknowledged while the database is down...
	for i := range 59 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	// ...until the backlog is full: then the caller is told.
	require.ErrorIs(t, l.Record(context.Background(), event(99)), ErrBacklogFull)
	assert.Equal(t, uint64(60), l.shipper.backlog())

	proxy.up.Store(true)
	require.Eventually(t, func() bool { return l.shipper.backlog() == 0 }, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, l.Record(context.Background(), event(100)), "accepted again once drained")
	require.NoError(t, l.Shutdown(context.Background()))

	store, err := ledger.OpenPG(context.Background(), pgtest.DSN(), table)
	require.NoError(t, err)
	defer store.Close()
	r := (&ledger.Verifier{Roots: []*ledger.PublicKey{publicKey(t, keyFile(dir, "signing.key.pub"))}}).VerifyPG(context.Background(), store)
	require.NoError(t, r.Err)
	require.Nil(t, r.Failure, "%v", r.Failure)
	assert.Equal(t, uint64(62), r.Reports[0].Entries, "start, 59, the one after the drain, stop")
	assert.Equal(t, uint64(62), verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub"))).Entries)

	metadatatest.AssertEqualAuditLedgerRecordErrors(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "backlog_full"))},
	}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, tel.Shutdown(context.Background()))
}

func BenchmarkRecordToFile(b *testing.B) {
	for _, parallel := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("callers=%d", parallel*2), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.Checkpoint.Entries = 10000
			l := startLedger(b, cfg, nil)
			ev := event(1)
			b.SetParallelism(parallel)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Record(context.Background(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			require.NoError(b, l.Shutdown(context.Background()))
		})
	}
}

// BenchmarkRecordBatchToFile measures the path of components that record a batch of events at
// once (the records mode of the audit exporter): b.N is the number of entries.
func BenchmarkRecordBatchToFile(b *testing.B) {
	for _, size := range []int{10, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.Checkpoint.Entries = 10000
			l := startLedger(b, cfg, nil)
			evs := make([]audit.Event, size)
			for i := range evs {
				evs[i] = event(i)
			}
			var left atomic.Int64
			left.Store(int64(b.N))
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Each call records size entries; stop once b.N entries are recorded.
					if left.Add(-int64(size)) < -int64(size) {
						continue
					}
					if err := l.RecordBatch(context.Background(), evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			require.NoError(b, l.Shutdown(context.Background()))
		})
	}
}

func BenchmarkRecordToPostgres(b *testing.B) {
	conn := pgtest.Conn(b)
	table := pgtest.Table(b, conn)
	cfg := pgConfig(b, b.TempDir(), pgtest.DSN(), table)
	cfg.Postgres.Get().BatchSize = 1000
	cfg.Checkpoint.Entries = 10000 // the default
	l := startLedger(b, cfg, nil)
	ev := event(1)
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(context.Background(), ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// Durable in PostgreSQL, not just locally: wait for the shipper.
	for l.shipper.backlog() > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	require.NoError(b, l.Shutdown(context.Background()))
}

var _ component.Component = (*ledgerExtension)(nil)

func configoptionalDSN(s string) configopaque.String { return configopaque.String(s) }

// TestShutdownDoesNotWaitForAnUnansweringDatabase: a database that accepts connections and
// never answers (as a host that cannot be resolved or reached keeps a connection attempt
// waiting) bounds shutdown by the drain time, and the entries left are named in the log and
// stay in the journal.
func TestShutdownDoesNotWaitForAnUnansweringDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})

	core, logs := observer.New(zap.InfoLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	dsn := "postgres://warden@" + ln.Addr().String() + "/audit?sslmode=disable"
	ext, err := NewFactory().Create(context.Background(), set, pgConfig(t, t.TempDir(), dsn, "audit_log"))
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	l := ext.(*ledgerExtension)
	for i := range 3 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}

	start := time.Now()
	require.NoError(t, ext.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), shutdownDrain+5*time.Second, "shutdown is bounded by the drain time")
	left := logs.FilterMessageSnippet("not yet in PostgreSQL").All()
	require.Len(t, left, 1)
	assert.Positive(t, left[0].ContextMap()["backlog"])
}
