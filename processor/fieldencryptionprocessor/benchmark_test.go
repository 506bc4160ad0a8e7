//go:build unix

// The pipeline benchmark reads the process CPU time with getrusage, hence the unix constraint.

package fieldencryptionprocessor

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadata"
)

const benchItems = 100

// benchLogs is a realistic 100-record batch in which every record carries one field to
// encrypt, user.password, of size bytes.
func benchLogs(size int) plog.Logs {
	ld := sample.Logs(sample.Options{Items: benchItems})
	secret := strings.Repeat("s", size)
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lrs.At(k).Attributes().PutStr("user.password", secret)
			}
		}
	}
	return ld
}

func benchProcessor(tb testing.TB, cfg *Config, next consumer.Logs) processor.Logs {
	tb.Helper()
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

// BenchmarkEncryptField measures the processor's cost per encrypted field: a 100-record batch
// with one 20-byte or 200-byte field per record, copied fresh for every iteration (the copy is
// measured separately in the "copy only" case and is to be subtracted).
func BenchmarkEncryptField(b *testing.B) {
	for _, size := range []int{20, 100, 200} {
		for _, provider := range []string{"keyring", "local-kms"} {
			b.Run(provider+"/"+sizeName(size), func(b *testing.B) {
				cfg := benchConfig(b, provider)
				p := benchProcessor(b, cfg, consumertest.NewNop())
				src := benchLogs(size)
				batch := plog.NewLogs()
				b.ReportAllocs()
				for b.Loop() {
					src.CopyTo(batch)
					if err := p.ConsumeLogs(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/field")
			})
		}
		b.Run("copy only/"+sizeName(size), func(b *testing.B) {
			src := benchLogs(size)
			batch := plog.NewLogs()
			b.ReportAllocs()
			for b.Loop() {
				src.CopyTo(batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/field")
		})
	}
}

func sizeName(size int) string {
	switch size {
	case 20:
		return "20B"
	case 100:
		return "100B"
	}
	return "200B"
}

func benchConfig(tb testing.TB, provider string) *Config {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Fields = []FieldConfig{{Key: "*password"}, {Key: "*api_key"}, {Key: "http.request.header.authorization"}}
	cfg.ContextAttributes = []string{"service.name"}
	switch provider {
	case "keyring":
		path := tb.TempDir() + "/keyring.json"
		cfg.Provider.Local = configoptional.Some(LocalConfig{Keyring: path, Create: true})
	case "local-kms":
		kms := kmstest.Start(tb)
		kms.Setenv(tb)
		cfg.Provider.AWSKMS = configoptional.Some(awskms.Config{KeyID: kms.CreateSymmetricKey(tb), Endpoint: kms.Endpoint(), Region: kms.Region()})
	}
	require.NoError(tb, cfg.Validate())
	return cfg
}

// BenchmarkKMSCallsPerMillion sends a million records, each with a field to encrypt, over the
// sample's five services through the processor against local-kms, and reports the KMS
// GenerateDataKey calls made: one per data key (service x field), not per record.
func BenchmarkKMSCallsPerMillion(b *testing.B) {
	cfg := benchConfig(b, "local-kms")
	for b.Loop() {
		p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
		require.NoError(b, err)
		require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
		src := benchLogs(20)
		batch := plog.NewLogs()
		const records = 1_000_000
		for range records / benchItems {
			src.CopyTo(batch)
			if _, err := p.processLogs(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		stats := p.encryptor.Stats()
		require.Equal(b, uint64(records), stats.Encryptions)
		b.ReportMetric(float64(stats.DataKeys), "kms-calls/1M-records")
		require.NoError(b, p.Shutdown(context.Background()))
	}
}

// BenchmarkPipeline measures field_encryption inside an in-process otlp -> batch ->
// [field_encryption] -> nop pipeline: each iteration decodes a 100-record OTLP request (every
// record with a 20-byte password) and hands it to the batch processor, which forwards merged
// batches on its own goroutine. cpu-ns/item is the process CPU time (every thread) until the
// last item is flushed at shutdown, per item; compare with and without.
func BenchmarkPipeline(b *testing.B) {
	payload, err := plogotlp.NewExportRequestFromLogs(benchLogs(20)).MarshalProto()
	require.NoError(b, err)
	for _, with := range []bool{false, true} {
		name := "without"
		if with {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			var next consumer.Logs = consumertest.NewNop()
			if with {
				next = benchProcessor(b, benchConfig(b, "keyring"), next)
			}
			bp, err := batchprocessor.NewFactory().CreateLogs(context.Background(),
				processortest.NewNopSettings(batchprocessor.NewFactory().Type()), batchprocessor.NewFactory().CreateDefaultConfig(), next)
			require.NoError(b, err)
			require.NoError(b, bp.Start(context.Background(), componenttest.NewNopHost()))
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			iterations := 0
			for b.Loop() {
				req := plogotlp.NewExportRequest()
				if err := req.UnmarshalProto(payload); err != nil {
					b.Fatal(err)
				}
				if err := bp.ConsumeLogs(context.Background(), req.Logs()); err != nil {
					b.Fatal(err)
				}
				iterations++
			}
			wall := b.Elapsed()
			require.NoError(b, bp.Shutdown(context.Background()))
			cpu := cpuTime(b) - cpu0
			items := float64(iterations * benchItems)
			b.ReportMetric(items/wall.Seconds(), "items/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/items, "cpu-ns/item")
		})
	}
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
