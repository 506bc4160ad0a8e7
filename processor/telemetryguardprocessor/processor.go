package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// guardProcessor runs the guards over every batch in one walk: for each span, log record or
// data point, the schema guard, then the cardinality guard. One instance serves every signal
// of a configuration.
type guardProcessor struct {
	cfg    *Config
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder
	id     component.ID

	card   *cardinality.Guard // nil when disabled
	schema *schema.Checker    // nil without rules; compiled at Start
	rate   *rateGuard         // nil without limits
	// walks says, by signal, whether a batch is walked at all; set at Start.
	walks [4]bool

	rec    audit.Recorder
	agg    *audit.Aggregator
	works  sync.Pool
	counts counting

	stop             chan struct{}
	done             chan struct{}
	offendersFailing bool // used by endWindow only
}

func newProcessor(set processor.Settings, cfg *Config) (*guardProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &guardProcessor{cfg: cfg, logger: set.Logger, tb: tb, id: set.ID}
	if card := cardinality.Config(cfg.Cardinality); card.Enabled() {
		if p.card, err = cardinality.New(card); err != nil {
			return nil, fmt.Errorf("cardinality: %w", err)
		}
	}
	if p.rate, err = newRateGuard(ratelimit.Config(cfg.Rate)); err != nil {
		return nil, fmt.Errorf("rate: %w", err)
	}
	p.counts = newCounting(cfg)
	p.works.New = func() any { return p.newWork() }
	if err := p.registerGauges(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start compiles the schema (reading its rule files and registry), finds the ledger, starts
// its summaries and the cardinality guard's windows.
func (p *guardProcessor) Start(_ context.Context, host component.Host) error {
	if err := p.compileSchema(); err != nil {
		return fmt.Errorf("telemetry_guard: schema: %w", err)
	}
	for _, s := range []walk.Signal{walk.SignalTraces, walk.SignalLogs, walk.SignalMetrics} {
		p.walks[s] = p.schema != nil || (p.card != nil && (s == walk.SignalMetrics || p.card.LimitsAttributes(s)))
	}
	rec, err := audit.FromHost(host, p.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("telemetry_guard: %w", err)
	}
	if !audit.IsNop(rec) {
		p.rec = rec
		if p.agg, err = p.newSummaries(rec); err != nil {
			return fmt.Errorf("telemetry_guard: %w", err)
		}
		p.agg.Start()
	}
	if p.card != nil {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.sweep()
	}
	return nil
}

// compileSchema compiles the schema guard, unless it is disabled or has nothing to check.
func (p *guardProcessor) compileSchema() error {
	if p.cfg.Schema.Mode == cardinality.ModeDisabled {
		return nil
	}
	checker, err := schema.Compile(schema.Config(p.cfg.Schema.Checks), schema.ReportOnly(p.cfg.Schema.Mode == cardinality.ModeReport))
	if err != nil {
		return err
	}
	for l := range walk.LevelExemplar + 1 {
		if checker.Checks(l) {
			p.schema = checker
		}
	}
	return nil
}

func (p *guardProcessor) Shutdown(ctx context.Context) error {
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
	var errs []error
	if p.agg != nil {
		errs = append(errs, p.agg.Shutdown(ctx))
	}
	p.tb.Shutdown()
	return errors.Join(errs...)
}

func (p *guardProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if p.rate == nil && !p.walks[walk.SignalTraces] {
		return td, nil
	}
	wk := p.works.Get().(*work)
	var b resources // only with a rate guard, and kept in wk: no allocation
	if p.rate != nil {
		wk.traces = traceResources{td}
		b = &wk.traces
	}
	err := p.run(ctx, wk, walk.SignalTraces, b, func(wk *work) error { return wk.w.EachSpan(ctx, td, wk) })
	return td, outcome(err, td.ResourceSpans().Len() == 0)
}

func (p *guardProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if p.rate == nil && !p.walks[walk.SignalLogs] {
		return ld, nil
	}
	wk := p.works.Get().(*work)
	var b resources
	if p.rate != nil {
		wk.logs = logResources{ld}
		b = &wk.logs
	}
	err := p.run(ctx, wk, walk.SignalLogs, b, func(wk *work) error { return wk.w.EachLogRecord(ctx, ld, wk) })
	return ld, outcome(err, ld.ResourceLogs().Len() == 0)
}

func (p *guardProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if p.rate == nil && !p.walks[walk.SignalMetrics] {
		return md, nil
	}
	wk := p.works.Get().(*work)
	var b resources
	if p.rate != nil {
		wk.metrics = metricResources{md}
		b = &wk.metrics
	}
	err := p.run(ctx, wk, walk.SignalMetrics, b, func(wk *work) error { return wk.w.EachDataPoint(ctx, md, wk) })
	return md, outcome(err, md.ResourceMetrics().Len() == 0)
}

// run puts a batch through the guards: the rate guard (when b is set) decides it as a whole
// first; then one walk shows each span, log record or data point to the schema and
// cardinality guards.
func (p *guardProcessor) run(ctx context.Context, wk *work, signal walk.Signal, b resources, walkBatch func(*work) error) error {
	wk.begin(signal)
	defer func() {
		wk.end()
		p.works.Put(wk)
	}()
	if b != nil {
		if err := p.admit(ctx, wk, signal, b); err != nil {
			p.count(ctx, wk)
			return err
		}
	}
	var err error
	if p.walks[signal] {
		err = walkBatch(wk)
		wk.finish()
	}
	p.count(ctx, wk)
	return err
}

// outcome is the result of a batch: its error (a refusal keeps its status for the receiver),
// or ErrSkipProcessingData when nothing is left of it (every drop is counted).
func outcome(err error, empty bool) error {
	switch {
	case errors.Is(err, processorhelper.ErrSkipProcessingData):
		return err
	case err != nil:
		return fmt.Errorf("telemetry_guard: %w", err)
	case empty:
		return processorhelper.ErrSkipProcessingData
	}
	return nil
}
