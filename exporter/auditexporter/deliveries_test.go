package auditexporter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/goleak"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadatatest"
	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/loopback"
	"github.com/otelwarden/warden/internal/sample"
)

// ignoreVolatile leaves out of metric comparisons what changes from run to run.
var ignoreVolatile = []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

var (
	ledgerID = component.MustNewID("audit_ledger")
	auditID  = component.MustNewIDWithName("audit", "test")
)

// newTestConfig decodes and validates an audit exporter configuration, as the collector does.
func newTestConfig(t testing.TB, m map[string]any) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(m).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}

// synchronous is the part of a test configuration that makes ConsumeX return the outcome of
// one attempt: no queue, no retries.
func synchronous(m map[string]any) map[string]any {
	m["ledger"] = ledgerID.String()
	m["sending_queue"] = map[string]any{"enabled": false}
	m["retry_on_failure"] = map[string]any{"enabled": false}
	return m
}

// closedPort returns a local TCP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	return loopback.FreeAddr(t)
}

func testSettings(tt *componenttest.Telemetry) exporter.Settings {
	set := metadatatest.NewSettings(tt)
	set.ID = auditID
	return set
}

// signalCase drives one signal through a created exporter.
type signalCase struct {
	signal  string
	records int
	bytes   int
	create  func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error)
	consume func(ctx context.Context, c component.Component) error
	// countFile counts the records in a file written by the file exporter.
	countFile func(t *testing.T, line []byte) int
}

func signalCases(items int) []signalCase {
	td, ld, md := sample.Traces(sample.Options{Items: items}), sample.Logs(sample.Options{Items: items}), sample.Metrics(sample.Options{Items: items})
	f := NewFactory()
	return []signalCase{
		{
			signal:  "traces",
			records: td.SpanCount(),
			bytes:   (&ptrace.ProtoMarshaler{}).TracesSize(td),
			create: func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error) {
				return f.CreateTraces(ctx, set, cfg)
			},
			consume: func(ctx context.Context, c component.Component) error {
				return c.(exporter.Traces).ConsumeTraces(ctx, td)
			},
			countFile: func(t *testing.T, line []byte) int {
				got, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
				require.NoError(t, err)
				return got.SpanCount()
			},
		},
		{
			signal:  "logs",
			records: ld.LogRecordCount(),
			bytes:   (&plog.ProtoMarshaler{}).LogsSize(ld),
			create: func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error) {
				return f.CreateLogs(ctx, set, cfg)
			},
			consume: func(ctx context.Context, c component.Component) error {
				return c.(exporter.Logs).ConsumeLogs(ctx, ld)
			},
			countFile: func(t *testing.T, line []byte) int {
				got, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
				require.NoError(t, err)
				return got.LogRecordCount()
			},
		},
		{
			signal:  "metrics",
			records: md.DataPointCount(),
			bytes:   (&pmetric.ProtoMarshaler{}).MetricsSize(md),
			create: func(ctx context.Context, set exporter.Settings, cfg component.Config) (component.Component, error) {
				return f.CreateMetrics(ctx, set, cfg)
			},
			consume: func(ctx context.Context, c component.Component) error {
				return c.(exporter.Metrics).ConsumeMetrics(ctx, md)
			},
			countFile: func(t *testing.T, line []byte) int {
				got, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
				require.NoError(t, err)
				return got.DataPointCount()
			},
		},
	}
}

func withTenant(ctx context.Context, key, tenant string) context.Context {
	return client.NewContext(ctx, client.Info{Metadata: client.NewMetadata(map[string][]string{key: {tenant}})})
}

func TestDeliveryToFileIsRecorded(t *testing.T) {
	for _, sc := range signalCases(50) {
		t.Run(sc.signal, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "telemetry.jsonl")
			cfg := newTestConfig(t, synchronous(map[string]any{
				"tenant_metadata_key": "X-Tenant",
				"tenant_attribute":    "tenant.id",
				"destination":         map[string]any{"file": map[string]any{"path": path}},
			}))
			tt := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
			ledger := &audittest.Ledger{}

			exp, err := sc.create(t.Context(), testSettings(tt), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
			before := time.Now()
			require.NoError(t, sc.consume(withTenant(t.Context(), "x-tenant", "acme"), exp))
			require.NoError(t, exp.Shutdown(t.Context()))

			// The destination really delivered: the file holds the batch.
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			scanner := bufio.NewScanner(f)
			scanner.Buffer(make([]byte, 0, 1<<20), 16<<20)
			written := 0
			for scanner.Scan() {
				written += sc.countFile(t, scanner.Bytes())
			}
			require.NoError(t, scanner.Err())
			assert.Equal(t, sc.records, written)

			evs := ledger.Events()
			require.Len(t, evs, 1)
			ev := evs[0]
			assert.Equal(t, audit.Actor{Type: audit.ActorService, ID: "audit/test"}, ev.Actor)
			assert.Equal(t, "telemetry.export", ev.Action)
			assert.Equal(t, audit.Resource{Type: "destination", ID: "file/audit/test", Name: "file"}, ev.Resource)
			assert.Equal(t, audit.OutcomeSuccess, ev.Outcome)
			assert.Empty(t, ev.Error)
			assert.Equal(t, audit.ClassInternal, ev.DataClassification)
			assert.Equal(t, map[string]int64{"records": int64(sc.records), "bytes": int64(sc.bytes)}, ev.Counts)
			assert.Positive(t, ev.Counts["bytes"])
			assert.WithinRange(t, ev.Time, before, time.Now())
			require.NoError(t, ev.Validate())

			assert.Equal(t, sc.signal, ev.Attributes["signal"])
			assert.Equal(t, "checkout,gateway,payments,search,users", ev.Attributes["services"])
			assert.Equal(t, "acme", ev.Attributes["tenant"])
			ms, err := strconv.ParseFloat(ev.Attributes["duration_ms"], 64)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, ms, 0.0)
			assert.NotContains(t, ev.Attributes, "permanent")

			metadatatest.AssertEqualExporterAuditDeliveries(t, tt, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: deliveryAttributes("file/audit/test", "success")},
			}, ignoreVolatile...)
		})
	}
}

// deliveryAttributes are the deliveries metric's attributes of the test exporter audit/test.
func deliveryAttributes(destination, outcome string) attribute.Set {
	return attribute.NewSet(attribute.String("destination", destination),
		attribute.String("exporter", "audit/test"), attribute.String("outcome", outcome))
}

func TestDescribeTenantAndServices(t *testing.T) {
	resources := func(attrs ...map[string]any) ptrace.Traces {
		td := ptrace.NewTraces()
		for _, a := range attrs {
			require.NoError(t, td.ResourceSpans().AppendEmpty().Resource().Attributes().FromRaw(a))
		}
		return td
	}
	tests := []struct {
		name         string
		key, attr    string
		ctx          context.Context
		td           ptrace.Traces
		wantTenant   string
		wantServices string
	}{
		{
			name: "metadata wins over the attribute",
			key:  "x-tenant", attr: "tenant.id",
			ctx:          withTenant(context.Background(), "x-tenant", "from-header"),
			td:           resources(map[string]any{"service.name": "a", "tenant.id": "from-resource"}),
			wantTenant:   "from-header",
			wantServices: "a",
		},
		{
			name: "first resource with the attribute",
			key:  "x-tenant", attr: "tenant.id",
			ctx:          context.Background(),
			td:           resources(map[string]any{"service.name": "b"}, map[string]any{"service.name": "a", "tenant.id": "t2"}, map[string]any{"tenant.id": "t3"}),
			wantTenant:   "t2",
			wantServices: "a,b",
		},
		{
			name: "non-string attribute as text",
			attr: "tenant.id",
			ctx:  context.Background(),
			td:   resources(map[string]any{"tenant.id": int64(42)}),
			// No service.name anywhere: no services.
			wantTenant: "42",
		},
		{
			name:         "no tenant configured",
			ctx:          withTenant(context.Background(), "x-tenant", "ignored"),
			td:           resources(map[string]any{"service.name": "a", "tenant.id": "ignored"}, map[string]any{"service.name": "a"}),
			wantServices: "a",
		},
		{
			name:         "non-string service names are skipped",
			ctx:          context.Background(),
			td:           resources(map[string]any{"service.name": int64(1)}, map[string]any{"service.name": ""}, map[string]any{"service.name": "z"}),
			wantServices: "z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &deliveryExporter{tenantKey: tt.key, tenantRes: tt.attr}
			var d delivery
			rss := tt.td.ResourceSpans()
			e.describe(tt.ctx, &d, rss.Len(), func(i int) pcommon.Resource { return rss.At(i).Resource() })
			assert.Equal(t, tt.wantTenant, d.tenant)
			assert.Equal(t, tt.wantServices, d.services)
		})
	}
}

func TestJoinServicesIsBounded(t *testing.T) {
	var services []string
	for i := range 25 {
		services = append(services, fmt.Sprintf("svc-%02d", 24-i), fmt.Sprintf("svc-%02d", i))
	}
	got := joinServices(services)
	parts := strings.Split(got, ",")
	require.Len(t, parts, maxServices+1)
	assert.Equal(t, "svc-00", parts[0])
	assert.Equal(t, "svc-19", parts[maxServices-1])
	assert.Equal(t, "+5 more", parts[maxServices])
	assert.Empty(t, joinServices(nil))
}

// runFailedDelivery delivers one batch of logs to a destination that cannot take it and
// returns the one recorded event, the telemetry and the error.
func runFailedDelivery(t *testing.T, destination map[string]any) (audit.Event, *componenttest.Telemetry, error) {
	t.Helper()
	cfg := newTestConfig(t, synchronous(map[string]any{"timeout": "5s", "destination": destination}))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	ledger := &audittest.Ledger{}
	exp, err := NewFactory().CreateLogs(t.Context(), testSettings(tt), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	start := time.Now()
	err = exp.ConsumeLogs(t.Context(), sample.Logs(sample.Options{Items: 10}))
	assert.Less(t, time.Since(start), 5*time.Second, "a refused connection fails the attempt at once")
	evs := ledger.Events()
	require.Len(t, evs, 1)
	return evs[0], tt, err
}

func TestFailedDeliveryIsRecorded(t *testing.T) {
	tests := []struct {
		name        string
		destination func(t *testing.T) map[string]any
		destID      string
		wantErr     string
		permanent   bool
	}{
		{
			name: "otlp_grpc at a closed port",
			destination: func(t *testing.T) map[string]any {
				return map[string]any{"otlp_grpc": map[string]any{"endpoint": closedPort(t), "tls": map[string]any{"insecure": true}, "timeout": "2s"}}
			},
			destID:  "otlp_grpc/audit/test",
			wantErr: "connection refused",
		},
		{
			// The ClickHouse test: no server runs on this machine, so the insert is refused.
			name: "clickhouse at a closed port",
			destination: func(t *testing.T) map[string]any {
				return map[string]any{"clickhouse": map[string]any{"endpoint": "tcp://" + closedPort(t), "create_schema": false, "timeout": "2s"}}
			},
			destID:  "clickhouse/audit/test",
			wantErr: "connection refused",
		},
		{
			name: "otlp_http answering 503",
			destination: func(t *testing.T) map[string]any {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusServiceUnavailable)
				}))
				t.Cleanup(srv.Close)
				return map[string]any{"otlp_http": map[string]any{"endpoint": srv.URL}}
			},
			destID:  "otlp_http/audit/test",
			wantErr: "HTTP Status Code 503",
		},
		{
			name: "otlp_http answering 400",
			destination: func(t *testing.T) map[string]any {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusBadRequest)
				}))
				t.Cleanup(srv.Close)
				return map[string]any{"otlp_http": map[string]any{"endpoint": srv.URL}}
			},
			destID:    "otlp_http/audit/test",
			wantErr:   "HTTP Status Code 400",
			permanent: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, tt, err := runFailedDelivery(t, tc.destination(t))
			require.Error(t, err)
			assert.Contains(t, ev.Error, tc.wantErr)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(err), "the destination's error is returned as is: %v", err)

			assert.Equal(t, audit.OutcomeFailure, ev.Outcome)
			assert.Equal(t, err.Error(), ev.Error)
			assert.Equal(t, tc.destID, ev.Resource.ID)
			assert.Equal(t, "logs", ev.Attributes["signal"])
			assert.Equal(t, strconv.FormatBool(tc.permanent), ev.Attributes["permanent"])
			assert.Equal(t, int64(10), ev.Counts["records"])
			require.NoError(t, ev.Validate())

			metadatatest.AssertEqualExporterAuditDeliveries(t, tt, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: deliveryAttributes(tc.destID, "failure")},
			}, ignoreVolatile...)
		})
	}
}

func TestUnrecordedDeliveryIsRetryable(t *testing.T) {
	tests := []struct {
		name      string
		ledgerErr error
	}{
		{name: "plain ledger error", ledgerErr: errors.New("disk full")},
		{name: "permanent ledger error", ledgerErr: consumererror.NewPermanent(errors.New("ledger closed"))},
		{name: "backlog full", ledgerErr: auditledgerextension.ErrBacklogFull},
		{name: "permanent backlog full", ledgerErr: consumererror.NewPermanent(fmt.Errorf("postgres sink: %w", auditledgerextension.ErrBacklogFull))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTestConfig(t, synchronous(map[string]any{"destination": map[string]any{"nop": nil}}))
			tt := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
			ledger := &audittest.Ledger{Err: tc.ledgerErr}
			exp, err := NewFactory().CreateTraces(t.Context(), testSettings(tt), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))

			err = exp.ConsumeTraces(t.Context(), sample.Traces(sample.Options{Items: 5}))
			require.Error(t, err)
			assert.False(t, consumererror.IsPermanent(err), "an unaudited delivery must be retried: %v", err)
			assert.ErrorContains(t, err, "recording the delivery in ledger audit_ledger failed")
			assert.ErrorContains(t, err, tc.ledgerErr.Error())
			assert.ErrorIs(t, err, tc.ledgerErr, "the ledger's error keeps its identity")
			if errors.Is(tc.ledgerErr, auditledgerextension.ErrBacklogFull) {
				assert.ErrorIs(t, err, auditledgerextension.ErrBacklogFull)
			}
			require.NoError(t, exp.Shutdown(t.Context()))

			metadatatest.AssertEqualExporterAuditDeliveries(t, tt, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: deliveryAttributes("nop/audit/test", "success")},
			}, ignoreVolatile...)
			metadatatest.AssertEqualExporterAuditRecordFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignoreVolatile...)
		})
	}
}

func TestFailedDeliveryAndLedgerIsRetryable(t *testing.T) {
	cfg := newTestConfig(t, synchronous(map[string]any{"destination": map[string]any{"otlp_http": map[string]any{"endpoint": "http://" + closedPort(t)}}}))
	ledger := &audittest.Ledger{Err: errors.New("disk full")}
	exp, err := NewFactory().CreateLogs(t.Context(), testSettings(componenttest.NewTelemetry()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	err = exp.ConsumeLogs(t.Context(), sample.Logs(sample.Options{Items: 3}))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "recording the failed delivery")
	assert.ErrorContains(t, err, "disk full")
	require.NoError(t, exp.Shutdown(t.Context()))
}

func TestEachRetryIsRecorded(t *testing.T) {
	// The audit exporter's own retries: every attempt is a delivery of its own in the ledger.
	cfg := newTestConfig(t, map[string]any{
		"ledger":        ledgerID.String(),
		"sending_queue": map[string]any{"enabled": false},
		"retry_on_failure": map[string]any{
			"enabled": true, "initial_interval": "10ms", "max_interval": "10ms", "max_elapsed_time": "300ms", "randomization_factor": 0,
		},
		"destination": map[string]any{"otlp_http": map[string]any{"endpoint": "http://" + closedPort(t)}},
	})
	ledger := &audittest.Ledger{}
	exp, err := NewFactory().CreateMetrics(t.Context(), testSettings(componenttest.NewTelemetry()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	require.Error(t, exp.ConsumeMetrics(t.Context(), sample.Metrics(sample.Options{Items: 3})))
	require.NoError(t, exp.Shutdown(t.Context()))

	evs := ledger.Events()
	require.Greater(t, len(evs), 1, "several attempts were made and recorded")
	for _, ev := range evs {
		assert.Equal(t, audit.OutcomeFailure, ev.Outcome)
		assert.Equal(t, "metrics", ev.Attributes["signal"])
	}
}

// notALedger is an extension that records nothing.
type notALedger struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestStartNeedsTheLedger(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		host component.Host
		want error
	}{
		{
			name: "deliveries, no extension",
			cfg:  synchronous(map[string]any{"destination": map[string]any{"nop": nil}}),
			host: componenttest.NewNopHost(),
			want: audit.ErrLedgerNotFound,
		},
		{
			name: "records, no extension",
			cfg:  synchronous(map[string]any{"mode": "records"}),
			host: componenttest.NewNopHost(),
			want: audit.ErrLedgerNotFound,
		},
		{
			name: "deliveries, not a ledger",
			cfg:  synchronous(map[string]any{"destination": map[string]any{"nop": nil}}),
			host: audittest.Host{ledgerID: notALedger{}},
			want: audit.ErrNotALedger,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := NewFactory().CreateLogs(t.Context(), testSettings(componenttest.NewTelemetry()), newTestConfig(t, tt.cfg))
			require.NoError(t, err)
			err = exp.Start(t.Context(), tt.host)
			require.ErrorIs(t, err, tt.want)
			assert.ErrorContains(t, err, `ledger "audit_ledger"`)
			require.NoError(t, exp.Shutdown(t.Context()))
		})
	}
}

func TestCreateWithoutDestinationFails(t *testing.T) {
	_, err := NewFactory().CreateTraces(t.Context(), testSettings(componenttest.NewTelemetry()), createDefaultConfig())
	require.ErrorIs(t, err, errNoDestination)
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	tests := []struct {
		name        string
		destination func(t *testing.T) map[string]any
		fails       bool
	}{
		{name: "file", destination: func(t *testing.T) map[string]any {
			return map[string]any{"file": map[string]any{"path": filepath.Join(t.TempDir(), "out.jsonl")}}
		}},
		{name: "otlp_grpc", fails: true, destination: func(t *testing.T) map[string]any {
			return map[string]any{"otlp_grpc": map[string]any{"endpoint": closedPort(t), "tls": map[string]any{"insecure": true}}}
		}},
		{name: "clickhouse", fails: true, destination: func(t *testing.T) map[string]any {
			return map[string]any{"clickhouse": map[string]any{"endpoint": "tcp://" + closedPort(t), "create_schema": false}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			// With the audit exporter's default queue and batching: the call returns with the
			// delivery's outcome, once it is recorded; shutdown stops the queue and the destination.
			cfg := newTestConfig(t, map[string]any{
				"ledger":           ledgerID.String(),
				"timeout":          "1s",
				"retry_on_failure": map[string]any{"enabled": false},
				"destination":      tc.destination(t),
			})
			ledger := &audittest.Ledger{}
			exp, err := NewFactory().CreateTraces(context.Background(), testSettings(componenttest.NewTelemetry()), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(context.Background(), audittest.Host{ledgerID: ledger}))
			err = exp.ConsumeTraces(context.Background(), sample.Traces(sample.Options{Items: 5}))
			assert.Equal(t, tc.fails, err != nil, "the sender gets the delivery's outcome: %v", err)
			assert.Len(t, ledger.Events(), 1, "the batch was delivered (or failed) and recorded before the call returned")
			require.NoError(t, exp.Shutdown(context.Background()))
		})
	}
}
