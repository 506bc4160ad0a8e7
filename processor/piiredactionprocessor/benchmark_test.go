//go:build unix

// The pipeline benchmark reads the process CPU time with getrusage, hence the unix constraint.

package piiredactionprocessor_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/processor/piiredactionprocessor"
)

const (
	// batchItems is the number of spans, log records or data points per batch.
	batchItems = 100
	// poolSize is how many copies of the batch are prepared per refill (see runVersus).
	poolSize = 64
	// somePII plants personal data in one item out of somePII (5%).
	somePII = 20
)

var benchSignals = []string{"logs", "traces", "metrics"}

var piiShares = []struct {
	name  string
	every int
}{{"clean", 0}, {"some", somePII}}

// contribConfig configures the contrib redaction processor with the patterns equivalent to
// what pii_redaction detects by default: every key allowed, values checked against the
// blocked patterns, sensitive key names masked whole, plain masking and no summary
// attributes.
func contribConfig() component.Config {
	cfg := redactionprocessor.NewFactory().CreateDefaultConfig().(*redactionprocessor.Config)
	cfg.AllowAllKeys = true
	cfg.BlockedValues = []string{
		`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`,                        // e-mail
		`\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b`,                               // payment card
		`\b\d{3}-\d{2}-\d{4}\b`,                                                 // SSN
		`\b(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}\b`,                  // phone
		`\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b`, // IPv4
		`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`,                     // JWT
		`(?i)bearer\s+[A-Za-z0-9._~+/-]+=*`,                                     // bearer credential
		`AKIA[0-9A-Z]{16}`,                                                      // AWS access key id
	}
	cfg.BlockedKeyPatterns = []string{`(?i).*(password|secret|token|api[_-]?key|authorization|cvv|ssn).*`}
	cfg.Summary = "silent"
	cfg.HashFunction = redactionprocessor.None
	return cfg
}

var benchProcessors = []struct {
	name    string
	factory processor.Factory
	config  func() component.Config
}{
	{"pii_redaction", piiredactionprocessor.NewFactory(), func() component.Config {
		return piiredactionprocessor.NewFactory().CreateDefaultConfig()
	}},
	{"contrib_redaction", redactionprocessor.NewFactory(), contribConfig},
}

// fixture is one processor, fed from a pool of copies of one batch, with a sink behind it.
type fixture struct {
	// refill restores every pooled copy from the original batch and empties the sink.
	refill func()
	// consume sends pooled copy i through the processor.
	consume func(i int) error
	// received is the number of batches in the sink.
	received func() int
	// lastOutput is the last batch in the sink, as JSON.
	lastOutput func() string
	// input is the original batch, as JSON.
	input string
}

func newFixture(tb testing.TB, signal string, f processor.Factory, cfg component.Config, piiEvery int, host component.Host) *fixture {
	tb.Helper()
	ctx := context.Background()
	set := processortest.NewNopSettings(f.Type())
	opts := sample.Options{Items: batchItems, PIIEvery: piiEvery}
	var (
		fx   fixture
		comp component.Component
	)
	switch signal {
	case "logs":
		orig := sample.Logs(opts)
		sink := new(consumertest.LogsSink)
		p, err := f.CreateLogs(ctx, set, cfg, sink)
		require.NoError(tb, err)
		comp = p
		pool := make([]plog.Logs, poolSize)
		for i := range pool {
			pool[i] = plog.NewLogs()
		}
		fx = fixture{
			refill: func() {
				for _, ld := range pool {
					orig.CopyTo(ld)
				}
				sink.Reset()
			},
			consume:  func(i int) error { return p.ConsumeLogs(ctx, pool[i]) },
			received: func() int { return len(sink.AllLogs()) },
			lastOutput: func() string {
				all := sink.AllLogs()
				return logsJSON(tb, all[len(all)-1])
			},
			input: logsJSON(tb, orig),
		}
	case "traces":
		orig := sample.Traces(opts)
		sink := new(consumertest.TracesSink)
		p, err := f.CreateTraces(ctx, set, cfg, sink)
		require.NoError(tb, err)
		comp = p
		pool := make([]ptrace.Traces, poolSize)
		for i := range pool {
			pool[i] = ptrace.NewTraces()
		}
		fx = fixture{
			refill: func() {
				for _, td := range pool {
					orig.CopyTo(td)
				}
				sink.Reset()
			},
			consume:  func(i int) error { return p.ConsumeTraces(ctx, pool[i]) },
			received: func() int { return len(sink.AllTraces()) },
			lastOutput: func() string {
				all := sink.AllTraces()
				return tracesJSON(tb, all[len(all)-1])
			},
			input: tracesJSON(tb, orig),
		}
	case "metrics":
		orig := sample.Metrics(opts)
		sink := new(consumertest.MetricsSink)
		p, err := f.CreateMetrics(ctx, set, cfg, sink)
		require.NoError(tb, err)
		comp = p
		pool := make([]pmetric.Metrics, poolSize)
		for i := range pool {
			pool[i] = pmetric.NewMetrics()
		}
		fx = fixture{
			refill: func() {
				for _, md := range pool {
					orig.CopyTo(md)
				}
				sink.Reset()
			},
			consume:  func(i int) error { return p.ConsumeMetrics(ctx, pool[i]) },
			received: func() int { return len(sink.AllMetrics()) },
			lastOutput: func() string {
				all := sink.AllMetrics()
				return metricsJSON(tb, all[len(all)-1])
			},
			input: metricsJSON(tb, orig),
		}
	default:
		tb.Fatalf("unknown signal %q", signal)
	}
	require.NoError(tb, comp.Start(ctx, host))
	tb.Cleanup(func() { require.NoError(tb, comp.Shutdown(context.Background())) })
	return &fx
}

// loop sends pooled copies through the processor for b.Loop, refilling the pool with the
// timer stopped, reports items/s, and returns how many batches were sent since the last
// refill.
func (fx *fixture) loop(b *testing.B) int {
	fx.refill()
	b.ReportAllocs()
	next, iterations := 0, 0
	for b.Loop() {
		if next == poolSize {
			b.StopTimer()
			fx.refill()
			next = 0
			b.StartTimer()
		}
		if err := fx.consume(next); err != nil {
			b.Fatal(err)
		}
		next++
		iterations++
	}
	b.ReportMetric(float64(iterations*batchItems)/b.Elapsed().Seconds(), "items/s")
	return next
}

func logsJSON(tb testing.TB, ld plog.Logs) string {
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(tb, err)
	return string(b)
}

func tracesJSON(tb testing.TB, td ptrace.Traces) string {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(tb, err)
	return string(b)
}

func metricsJSON(tb testing.TB, md pmetric.Metrics) string {
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(tb, err)
	return string(b)
}

// planted counts the occurrences of sample.Planted values in s.
func planted(s string) int {
	n := 0
	for _, v := range sample.Planted {
		n += strings.Count(s, v)
	}
	return n
}

// BenchmarkVersusContribRedaction compares pii_redaction (default configuration) with the
// contrib redaction processor configured with equivalent patterns, per signal and share of
// items carrying personal data, on 100-item batches.
//
// Both processors rewrite their input in place, so every iteration must get a fresh copy of
// the batch. Copying inside the timed loop would add the cost of a deep copy (which is of the
// same order as the cheaper processor's own work) and make the ratio between the processors
// meaningless. Instead a pool of poolSize copies is restored with CopyTo while the timer is
// stopped, once every poolSize iterations, so ns/op, B/op and allocs/op are the processor's
// alone (the sink's append is included; it is the same for both). CopyTo still allocates
// every attribute value, and the garbage collector may reclaim that garbage while the timer
// runs; a real pipeline decodes fresh batches too, and the cost is the same for both.
func BenchmarkVersusContribRedaction(b *testing.B) {
	for _, signal := range benchSignals {
		for _, share := range piiShares {
			for _, proc := range benchProcessors {
				b.Run(signal+"/"+share.name+"/"+proc.name, func(b *testing.B) {
					fx := newFixture(b, signal, proc.factory, proc.config(), share.every, componenttest.NewNopHost())
					in := planted(fx.input)
					if (in > 0) != (share.every > 0) {
						b.Fatalf("the %s batch holds %d planted values", share.name, in)
					}
					next := fx.loop(b)

					// A benchmark that silently does nothing is worthless: every batch since the
					// last refill must have reached the sink, and pii_redaction must have removed
					// every planted value.
					if got := fx.received(); got != next {
						b.Fatalf("the sink received %d batches since the last refill, want %d", got, next)
					}
					if share.every > 0 {
						left := planted(fx.lastOutput())
						if proc.name == "pii_redaction" && left > 0 {
							b.Fatalf("%d of %d planted values survived pii_redaction", left, in)
						}
						b.ReportMetric(float64(left), "planted-left")
					}
				})
			}
		}
	}
}

// BenchmarkLedgerSummaries is what summarising findings for the audit ledger adds to the data
// path: the same 100-item logs batches with 5% personal data through pii_redaction, without a
// ledger and with an in-memory one.
func BenchmarkLedgerSummaries(b *testing.B) {
	ledgerID := component.MustNewID("audit_ledger")
	for _, withLedger := range []bool{false, true} {
		name := map[bool]string{false: "without_ledger", true: "with_ledger"}[withLedger]
		b.Run(name, func(b *testing.B) {
			f := piiredactionprocessor.NewFactory()
			cfg := f.CreateDefaultConfig().(*piiredactionprocessor.Config)
			host := component.Host(componenttest.NewNopHost())
			if withLedger {
				cfg.Ledger = &ledgerID
				host = audittest.Host{ledgerID: &audittest.Ledger{}}
			}
			fx := newFixture(b, "logs", f, cfg, somePII, host)
			next := fx.loop(b)
			if got := fx.received(); got != next {
				b.Fatalf("the sink received %d batches since the last refill, want %d", got, next)
			}
		})
	}
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// TestCleanBatchDoesNotAllocatePerValue checks that a clean batch costs a constant number of
// allocations, whatever the number of values in it: the per-call state comes from a pool
// that is warm after the first batch, and clean values are scanned without allocating. The
// constant is processorhelper's (span events and obsreport), not the processor's.
//
// The batch is measured after one pass, so it is clean to the detectors: sample's clean
// traces carry 16-digit order numbers in url.path, and the Luhn-valid ones (4000000000000002,
// ...) are redacted as cards on the first pass.
func TestCleanBatchDoesNotAllocatePerValue(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	const maxAllocs = 10
	f := piiredactionprocessor.NewFactory()
	ctx := context.Background()
	for _, signal := range benchSignals {
		for _, items := range []int{batchItems, 10 * batchItems} {
			t.Run(fmt.Sprintf("%s/%d", signal, items), func(t *testing.T) {
				set := processortest.NewNopSettings(f.Type())
				cfg := f.CreateDefaultConfig()
				opts := sample.Options{Items: items}
				var (
					comp    component.Component
					consume func() error
					dump    func() string
				)
				switch signal {
				case "logs":
					p, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
					require.NoError(t, err)
					ld := sample.Logs(opts)
					comp, consume = p, func() error { return p.ConsumeLogs(ctx, ld) }
					dump = func() string { return logsJSON(t, ld) }
				case "traces":
					p, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
					require.NoError(t, err)
					td := sample.Traces(opts)
					comp, consume = p, func() error { return p.ConsumeTraces(ctx, td) }
					dump = func() string { return tracesJSON(t, td) }
				case "metrics":
					p, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
					require.NoError(t, err)
					md := sample.Metrics(opts)
					comp, consume = p, func() error { return p.ConsumeMetrics(ctx, md) }
					dump = func() string { return metricsJSON(t, md) }
				}
				require.NoError(t, comp.Start(ctx, componenttest.NewNopHost()))
				t.Cleanup(func() { require.NoError(t, comp.Shutdown(context.Background())) })

				before := dump()
				require.NoError(t, consume()) // warms the state pool
				warm := dump()
				if warm != before {
					t.Logf("%s: the first pass redacted %d values of the sample's clean batch",
						signal, strings.Count(warm, "[REDACTED:"))
				}
				allocs := testing.AllocsPerRun(50, func() {
					if err := consume(); err != nil {
						t.Fatal(err)
					}
				})
				require.Equal(t, warm, dump(), "the measured batch must be clean: nothing may change")
				t.Logf("%s, %d items: %.1f allocations per batch", signal, items, allocs)
				assert.LessOrEqual(t, allocs, float64(maxAllocs),
					"a clean batch of %d items must cost O(1) allocations, not one per value", items)
			})
		}
	}
}

// pipeline is otlp (protobuf decoding) -> batch -> [pii_redaction] -> next, built with the
// real factories.
type pipeline struct {
	// consume decodes an OTLP export request and hands it to the batch processor, as the OTLP
	// receiver does.
	consume func(payload []byte) error
	// stop shuts the pipeline down in the service's order; the batch processor flushes the
	// items it holds.
	stop func()
}

func newPipeline(tb testing.TB, signal string, withPII bool, next consumer.Logs, nextT consumer.Traces, nextM consumer.Metrics) *pipeline {
	tb.Helper()
	ctx := context.Background()
	host := componenttest.NewNopHost()
	pf, bf := piiredactionprocessor.NewFactory(), batchprocessor.NewFactory()
	pset, bset := processortest.NewNopSettings(pf.Type()), processortest.NewNopSettings(bf.Type())
	var comps []component.Component // downstream first, the service's start order
	var pl pipeline
	switch signal {
	case "logs":
		if withPII {
			p, err := pf.CreateLogs(ctx, pset, pf.CreateDefaultConfig(), next)
			require.NoError(tb, err)
			comps, next = append(comps, p), p
		}
		bp, err := bf.CreateLogs(ctx, bset, bf.CreateDefaultConfig(), next)
		require.NoError(tb, err)
		comps = append(comps, bp)
		pl.consume = func(payload []byte) error {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(payload); err != nil {
				return err
			}
			return bp.ConsumeLogs(ctx, req.Logs())
		}
	case "traces":
		if withPII {
			p, err := pf.CreateTraces(ctx, pset, pf.CreateDefaultConfig(), nextT)
			require.NoError(tb, err)
			comps, nextT = append(comps, p), p
		}
		bp, err := bf.CreateTraces(ctx, bset, bf.CreateDefaultConfig(), nextT)
		require.NoError(tb, err)
		comps = append(comps, bp)
		pl.consume = func(payload []byte) error {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(payload); err != nil {
				return err
			}
			return bp.ConsumeTraces(ctx, req.Traces())
		}
	case "metrics":
		if withPII {
			p, err := pf.CreateMetrics(ctx, pset, pf.CreateDefaultConfig(), nextM)
			require.NoError(tb, err)
			comps, nextM = append(comps, p), p
		}
		bp, err := bf.CreateMetrics(ctx, bset, bf.CreateDefaultConfig(), nextM)
		require.NoError(tb, err)
		comps = append(comps, bp)
		pl.consume = func(payload []byte) error {
			req := pmetricotlp.NewExportRequest()
			if err := req.UnmarshalProto(payload); err != nil {
				return err
			}
			return bp.ConsumeMetrics(ctx, req.Metrics())
		}
	default:
		tb.Fatalf("unknown signal %q", signal)
	}
	for _, c := range comps {
		require.NoError(tb, c.Start(ctx, host))
	}
	stopped := false
	pl.stop = func() {
		if stopped {
			return
		}
		stopped = true
		for _, c := range slices.Backward(comps) {
			require.NoError(tb, c.Shutdown(ctx))
		}
	}
	tb.Cleanup(pl.stop)
	return &pl
}

// otlpPayload is a 100-item batch with some personal data, as an OTLP protobuf export
// request.
func otlpPayload(tb testing.TB, signal string) []byte {
	opts := sample.Options{Items: batchItems, PIIEvery: somePII}
	var (
		b   []byte
		err error
	)
	switch signal {
	case "logs":
		b, err = plogotlp.NewExportRequestFromLogs(sample.Logs(opts)).MarshalProto()
	case "traces":
		b, err = ptraceotlp.NewExportRequestFromTraces(sample.Traces(opts)).MarshalProto()
	case "metrics":
		b, err = pmetricotlp.NewExportRequestFromMetrics(sample.Metrics(opts)).MarshalProto()
	}
	require.NoError(tb, err)
	return b
}

// checkPipeline sends a few payloads through the pipeline into a sink and checks that every
// item arrives and that pii_redaction, when present, removed every planted value.
func checkPipeline(tb testing.TB, signal string, withPII bool, payload []byte) {
	tb.Helper()
	const sends = 3
	logs, traces, metrics := new(consumertest.LogsSink), new(consumertest.TracesSink), new(consumertest.MetricsSink)
	pl := newPipeline(tb, signal, withPII, logs, traces, metrics)
	for range sends {
		require.NoError(tb, pl.consume(payload))
	}
	pl.stop()
	var items int
	var out strings.Builder
	for _, ld := range logs.AllLogs() {
		items += ld.LogRecordCount()
		out.WriteString(logsJSON(tb, ld))
	}
	for _, td := range traces.AllTraces() {
		items += td.SpanCount()
		out.WriteString(tracesJSON(tb, td))
	}
	for _, md := range metrics.AllMetrics() {
		items += md.DataPointCount()
		out.WriteString(metricsJSON(tb, md))
	}
	require.Equal(tb, sends*batchItems, items, "items out of the pipeline")
	if left := planted(out.String()); withPII && left > 0 {
		tb.Fatalf("%d planted values survived the pipeline", left)
	} else if !withPII && left == 0 {
		tb.Fatal("the batches hold no planted value: the check above would prove nothing")
	}
}

// cpuTime is the CPU time used by the process so far (user and system, every thread).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline measures the cost of pii_redaction inside an in-process
// otlp -> batch -> [pii_redaction] -> nop pipeline, per 100-item OTLP request with 5% of the
// items carrying personal data. Each iteration decodes the protobuf payload into pdata (the
// receiving cost is in the baseline) and hands it to the batch processor (default
// configuration: batches of 8192 items or 200 ms), which forwards merged batches to
// pii_redaction on its own goroutine.
//
// Because the batch processor works asynchronously, wall time per request (ns/op, items/s)
// only shows the slower of the two goroutines once two cores are available; the CPU figure
// is therefore measured too: cpu-ns/item is the process CPU time (getrusage: every thread,
// garbage collection included) from the first request until the batch processor has flushed
// the last item at shutdown, divided by the items sent. The CPU added by pii_redaction is
// (with - without) / without of cpu-ns/item, logged per signal.
func BenchmarkPipeline(b *testing.B) {
	for _, signal := range benchSignals {
		payload := otlpPayload(b, signal)
		cpuPerItem := map[bool][]float64{}
		wallPerItem := map[bool][]float64{}
		for _, withPII := range []bool{false, true} {
			name := "without"
			if withPII {
				name = "with"
			}
			b.Run(signal+"/"+name, func(b *testing.B) {
				checkPipeline(b, signal, withPII, payload)
				nop := consumertest.NewNop()
				pl := newPipeline(b, signal, withPII, nop, nop, nop)
				b.ReportAllocs()
				iterations := 0
				cpu0 := cpuTime(b)
				for b.Loop() {
					if err := pl.consume(payload); err != nil {
						b.Fatal(err)
					}
					iterations++
				}
				wall := b.Elapsed()
				pl.stop() // flushes the items still held by the batch processor
				cpu := cpuTime(b) - cpu0
				items := float64(iterations * batchItems)
				b.ReportMetric(items/wall.Seconds(), "items/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/items, "cpu-ns/item")
				cpuPerItem[withPII] = append(cpuPerItem[withPII], float64(cpu.Nanoseconds())/items)
				wallPerItem[withPII] = append(wallPerItem[withPII], float64(wall.Nanoseconds())/items)
			})
		}
		if len(cpuPerItem[false]) > 0 && len(cpuPerItem[true]) > 0 {
			without, with := median(cpuPerItem[false]), median(cpuPerItem[true])
			wWithout, wWith := median(wallPerItem[false]), median(wallPerItem[true])
			b.Logf("%s: pii_redaction adds %+.1f%% CPU per item (%.0f -> %.0f cpu-ns/item) and %+.1f%% wall time per item (%.0f -> %.0f ns/item)",
				signal, 100*(with-without)/without, without, with, 100*(wWith-wWithout)/wWithout, wWithout, wWith)
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
