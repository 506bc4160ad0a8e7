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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
)

// guardProcessor runs the guards over every batch in one walk. One instance serves every
// signal of a configuration.
type guardProcessor struct {
	cfg    *Config
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder
	id     component.ID

	card *cardinality.Guard // nil when disabled

	rec   audit.Recorder
	agg   *audit.Aggregator
	works sync.Pool

	decisionAttrs [4][cardinality.NumActions][cardinality.NumReasons]metric.AddOption // by signal
	summaryNames  []string

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
	if cfg.Cardinality.Enabled() {
		if p.card, err = cardinality.New(cfg.Cardinality); err != nil {
			return nil, fmt.Errorf("cardinality: %w", err)
		}
	}
	p.works.New = func() any { return &work{p: p, counts: make([]int64, len(p.summaryNames))} }
	mode := string(cfg.Cardinality.Mode)
	if mode == string(cardinality.ModeDisabled) {
		mode = string(cardinality.ModeEnforce)
	}
	for a := range cardinality.NumActions {
		for r := range cardinality.NumReasons {
			name := "cardinality." + a.String() + "." + r.String()
			if mode == string(cardinality.ModeReport) {
				name = "cardinality.report." + a.String() + "." + r.String()
			}
			p.summaryNames = append(p.summaryNames, name)
			for _, s := range []walk.Signal{walk.SignalTraces, walk.SignalLogs, walk.SignalMetrics} {
				p.decisionAttrs[s][a][r] = metric.WithAttributeSet(attribute.NewSet(
					attribute.String("guard", "cardinality"), attribute.String("action", a.String()),
					attribute.String("reason", r.String()), attribute.String("signal", s.String()),
					attribute.String("mode", mode)))
			}
		}
	}
	if err := p.registerGauges(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start finds the ledger, starts its summaries and the window's sweep.
func (p *guardProcessor) Start(_ context.Context, host component.Host) error {
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

// work is what one batch needs: a walker, the guard's batch and the hook that joins them.
type work struct {
	p      *guardProcessor
	w      walk.Walker
	b      *cardinality.Batch
	counts []int64
}

// VisitElement is the walk's element hook: each data point, span or log record goes through
// the guards.
func (wk *work) VisitElement(_ context.Context, e *walk.Element) (walk.Op, error) {
	if e.Level == walk.LevelDataPoint {
		return wk.b.DataPoint(e), nil
	}
	return wk.b.Record(e), nil
}

func (p *guardProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if p.card == nil || !p.card.LimitsAttributes(walk.SignalTraces) {
		return td, nil
	}
	err := p.walk(ctx, walk.SignalTraces, func(wk *work) error { return wk.w.EachSpan(ctx, td, wk) })
	return td, p.outcome(err, td.ResourceSpans().Len() == 0)
}

func (p *guardProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if p.card == nil || !p.card.LimitsAttributes(walk.SignalLogs) {
		return ld, nil
	}
	err := p.walk(ctx, walk.SignalLogs, func(wk *work) error { return wk.w.EachLogRecord(ctx, ld, wk) })
	return ld, p.outcome(err, ld.ResourceLogs().Len() == 0)
}

func (p *guardProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if p.card == nil {
		return md, nil
	}
	err := p.walk(ctx, walk.SignalMetrics, func(wk *work) error { return wk.w.EachDataPoint(ctx, md, wk) })
	return md, p.outcome(err, md.ResourceMetrics().Len() == 0)
}

// outcome is the result of a batch: its walk's error, or ErrSkipProcessingData when nothing is
// left of it (every drop is counted).
func (p *guardProcessor) outcome(err error, empty bool) error {
	if err != nil {
		return fmt.Errorf("telemetry_guard: %w", err)
	}
	if empty {
		return processorhelper.ErrSkipProcessingData
	}
	return nil
}

// walk runs one walk of a batch with the guards and counts their decisions.
func (p *guardProcessor) walk(ctx context.Context, signal walk.Signal, run func(*work) error) error {
	wk := p.works.Get().(*work)
	wk.b = p.card.NewBatch(signal)
	defer func() {
		wk.b.Release()
		wk.b = nil
		p.works.Put(wk)
	}()
	err := run(wk)
	wk.b.End()
	p.count(ctx, signal, wk)
	return err
}

// count adds a batch's decisions to the metrics and the ledger's summaries.
func (p *guardProcessor) count(ctx context.Context, signal walk.Signal, wk *work) {
	total := wk.b.Total()
	for a := range cardinality.NumActions {
		for r := range cardinality.NumReasons {
			if n := total[a][r]; n > 0 {
				p.tb.ProcessorTelemetryGuardDecisions.Add(ctx, n, p.decisionAttrs[signal][a][r])
			}
		}
	}
	if p.agg == nil {
		return
	}
	wk.b.ByService(func(service string, c *cardinality.Counts) {
		some := false
		for a := range cardinality.NumActions {
			for r := range cardinality.NumReasons {
				n := c[a][r]
				wk.counts[int(a)*int(cardinality.NumReasons)+int(r)] = n
				some = some || n != 0
			}
		}
		if some {
			p.agg.Add(audit.SummaryKey{Service: service, Signal: signal.String()}, p.summaryNames, wk.counts)
		}
	})
}
