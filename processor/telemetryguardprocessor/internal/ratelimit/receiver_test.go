package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otelwarden/warden/internal/loopback"
)

// startReceiver runs the real OTLP receiver (gRPC and HTTP, include_metadata on both) in front
// of the given consumers, and returns its two addresses.
func startReceiver(t *testing.T, logs consumer.Logs, traces consumer.Traces, metrics consumer.Metrics) (grpcAddr, httpAddr string) {
	t.Helper()
	grpcAddr, httpAddr = loopback.FreeAddr(t), loopback.FreeAddr(t)
	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": grpcAddr, "include_metadata": true},
		"http": map[string]any{"endpoint": httpAddr, "include_metadata": true},
	}}).Unmarshal(cfg))
	set := receivertest.NewNopSettings(factory.Type())
	ctx := context.Background()
	var started []component.Component
	if logs != nil {
		r, err := factory.CreateLogs(ctx, set, cfg, logs)
		require.NoError(t, err)
		started = append(started, r)
	}
	if traces != nil {
		r, err := factory.CreateTraces(ctx, set, cfg, traces)
		require.NoError(t, err)
		started = append(started, r)
	}
	if metrics != nil {
		r, err := factory.CreateMetrics(ctx, set, cfg, metrics)
		require.NoError(t, err)
		started = append(started, r)
	}
	for _, r := range started {
		require.NoError(t, r.Start(ctx, componenttest.NewNopHost()))
		t.Cleanup(func() { assert.NoError(t, r.Shutdown(context.Background())) })
	}
	return grpcAddr, httpAddr
}

// guard is the rate guard as a processor uses it: the source from client metadata, the whole
// request charged, a refusal wrapped in the processor's own words.
type guard struct{ lim *Limiter }

func (g guard) decide(ctx context.Context, records int) error {
	if err := RefusalError(g.lim.Allow(g.lim.SourceFromContext(ctx), records, 0)); err != nil {
		return fmt.Errorf("telemetry_guard: %w", err)
	}
	return nil
}

func oneLog() plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
	return ld
}

func oneSpan() ptrace.Traces {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("op")
	return td
}

func onePoint() pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	return md
}

// The receiver answers a refusal with RESOURCE_EXHAUSTED and its RetryInfo over gRPC, and with
// 429 and Retry-After over HTTP, for every signal; a second tenant is not affected.
func TestReceiverAnswersRefusal(t *testing.T) {
	lim := newLimiter(t, func(c *Config) {
		c.Source.MetadataKey = "X-Tenant-ID"
		c.Limits = Limits{RecordsPerSecond: 0.5, RecordsBurst: 1} // a second record waits 2s
	})
	g := guard{lim}
	grpcAddr, httpAddr := startReceiver(t,
		must(consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error { return g.decide(ctx, ld.LogRecordCount()) })),
		must(consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error { return g.decide(ctx, td.SpanCount()) })),
		must(consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error { return g.decide(ctx, md.DataPointCount()) })))

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	grpcExport := map[string]func(context.Context) error{
		"logs": func(ctx context.Context) error {
			_, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(oneLog()))
			return err
		},
		"traces": func(ctx context.Context) error {
			_, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(oneSpan()))
			return err
		},
		"metrics": func(ctx context.Context) error {
			_, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(onePoint()))
			return err
		},
	}
	for signal, export := range grpcExport {
		t.Run("grpc/"+signal, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-tenant-id", "grpc-"+signal)
			require.NoError(t, export(ctx), "first record: within the burst")
			err := export(ctx)
			st, ok := grpcstatus.FromError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, codes.ResourceExhausted, st.Code())
			assert.Contains(t, st.Message(), "telemetry_guard: rate limit exceeded: over this source's records per second")
			assert.Equal(t, 2*time.Second, retryDelay(t, st))
			t.Logf("gRPC %s: %s, RetryInfo %s", signal, st.Code(), retryDelay(t, st))

			other := metadata.AppendToOutgoingContext(context.Background(), "x-tenant-id", "grpc-"+signal+"-other")
			assert.NoError(t, export(other), "another tenant has its own bucket")
		})
	}

	logs, _ := plogotlp.NewExportRequestFromLogs(oneLog()).MarshalProto()
	logsJSON, _ := plogotlp.NewExportRequestFromLogs(oneLog()).MarshalJSON()
	traces, _ := ptraceotlp.NewExportRequestFromTraces(oneSpan()).MarshalProto()
	metrics, _ := pmetricotlp.NewExportRequestFromMetrics(onePoint()).MarshalProto()
	for _, tc := range []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"logs", "/v1/logs", "application/x-protobuf", logs},
		{"logs_json", "/v1/logs", "application/json", logsJSON},
		{"traces", "/v1/traces", "application/x-protobuf", traces},
		{"metrics", "/v1/metrics", "application/x-protobuf", metrics},
	} {
		t.Run("http/"+tc.name, func(t *testing.T) {
			post := func(tenant string) *http.Response {
				req, err := http.NewRequest(http.MethodPost, "http://"+httpAddr+tc.path, bytes.NewReader(tc.body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", tc.contentType)
				req.Header.Set("X-Tenant-ID", tenant)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				return resp
			}
			tenant := "http-" + tc.name
			first := post(tenant)
			first.Body.Close()
			require.Equal(t, http.StatusOK, first.StatusCode)

			resp := post(tenant)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Equal(t, "2", resp.Header.Get("Retry-After"))
			var st status.Status
			if tc.contentType == "application/json" {
				require.NoError(t, protojson.Unmarshal(body, &st))
			} else {
				require.NoError(t, proto.Unmarshal(body, &st))
			}
			assert.Equal(t, int32(codes.ResourceExhausted), st.GetCode())
			assert.Contains(t, st.GetMessage(), "rate limit exceeded")
			t.Logf("HTTP %s: %d, Retry-After %s, status code %d", tc.name, resp.StatusCode, resp.Header.Get("Retry-After"), st.GetCode())

			other := post(tenant + "-other")
			other.Body.Close()
			assert.Equal(t, http.StatusOK, other.StatusCode, "another tenant has its own bucket")
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// refuseOnce refuses the first batch with a one-second retry hint, then passes batches on,
// and remembers when each attempt came.
type refuseOnce struct {
	mu       sync.Mutex
	attempts []time.Time
	sink     consumertest.LogsSink
}

func (r *refuseOnce) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	r.mu.Lock()
	r.attempts = append(r.attempts, time.Now())
	first := len(r.attempts) == 1
	r.mu.Unlock()
	if first {
		return fmt.Errorf("telemetry_guard: %w", RefusalError(refused(ExceededRecords, 300*time.Millisecond)))
	}
	return r.sink.ConsumeLogs(ctx, ld)
}

func (r *refuseOnce) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// The collector's own OTLP exporters, as senders, keep the batch, wait as told (not their
// 10ms backoff) and send it again.
func TestSendersRetryAfterTheHint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		factory exporter.Factory
		config  func(cfg component.Config, grpcAddr, httpAddr string)
	}{
		{"otlp_grpc", otlpexporter.NewFactory(), func(cfg component.Config, grpcAddr, _ string) {
			c := cfg.(*otlpexporter.Config)
			c.ClientConfig.Endpoint = grpcAddr
			c.ClientConfig.TLS.Insecure = true
			c.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			c.RetryConfig.InitialInterval, c.RetryConfig.MaxInterval = 10*time.Millisecond, 10*time.Millisecond
		}},
		{"otlp_http", otlphttpexporter.NewFactory(), func(cfg component.Config, _, httpAddr string) {
			c := cfg.(*otlphttpexporter.Config)
			c.ClientConfig.Endpoint = "http://" + httpAddr
			c.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			c.RetryConfig.InitialInterval, c.RetryConfig.MaxInterval = 10*time.Millisecond, 10*time.Millisecond
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := &refuseOnce{}
			grpcAddr, httpAddr := startReceiver(t, next, nil, nil)
			cfg := tc.factory.CreateDefaultConfig()
			tc.config(cfg, grpcAddr, httpAddr)
			exp, err := tc.factory.CreateLogs(context.Background(), exportertest.NewNopSettings(tc.factory.Type()), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { assert.NoError(t, exp.Shutdown(context.Background())) }()

			require.NoError(t, exp.ConsumeLogs(context.Background(), oneLog()), "delivered after the retry")
			next.mu.Lock()
			defer next.mu.Unlock()
			require.Len(t, next.attempts, 2)
			waited := next.attempts[1].Sub(next.attempts[0])
			assert.GreaterOrEqual(t, waited, 900*time.Millisecond, "waited for the hint, not the 10ms backoff")
			assert.Equal(t, 1, next.sink.LogRecordCount())
			t.Logf("%s: refused, retried after %s, delivered", tc.name, waited.Round(time.Millisecond))
		})
	}
}
