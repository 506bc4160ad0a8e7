package chfront

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
)

// BenchmarkInsertThroughFront measures what a test can push through the front: clickhouse-go
// batches of 10,000 log-shaped rows over HTTP into a MergeTree table, without and with LZ4.
func BenchmarkInsertThroughFront(b *testing.B) {
	f := StartForTest(b)
	ctx := context.Background()
	for _, method := range []clickhouse.CompressionMethod{clickhouse.CompressionNone, clickhouse.CompressionLZ4} {
		b.Run(method.String(), func(b *testing.B) {
			conn, err := clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{f.Addr()},
				Compression: &clickhouse.Compression{Method: method}})
			require.NoError(b, err)
			defer conn.Close()
			table := "bench_logs_" + method.String()
			require.NoError(b, conn.Exec(ctx, "DROP TABLE IF EXISTS "+table))
			require.NoError(b, conn.Exec(ctx, "CREATE TABLE "+table+` (Timestamp DateTime64(9), ServiceName LowCardinality(String),
				Body String, LogAttributes Map(LowCardinality(String), String)) ENGINE = MergeTree ORDER BY (ServiceName, Timestamp)`))
			const rows = 10000
			now := time.Now()
			attrs := map[string]string{"http.method": "GET", "http.route": "/cart/{id}", "user.email": "[HASH:email:v1:k1:3f9a]"}
			batches := 0
			b.ReportAllocs()
			for b.Loop() {
				batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
				require.NoError(b, err)
				for i := range rows {
					require.NoError(b, batch.Append(now.Add(time.Duration(i)), "shop", "order "+strconv.Itoa(i)+" shipped", attrs))
				}
				require.NoError(b, batch.Send())
				batches++
			}
			b.ReportMetric(float64(batches*rows)/b.Elapsed().Seconds(), "rows/s")
			out, err := f.engine.Query("SELECT count() FROM "+table, "TabSeparated")
			require.NoError(b, err)
			require.Equal(b, fmt.Sprint(batches*rows), strings.TrimSpace(string(out)))
		})
	}
}
