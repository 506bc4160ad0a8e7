package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"
	"crypto/rand"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
)

// Bounds of the ledger summaries: services x signals per interval, and retries of a refused
// round.
const (
	summaryMaxKeys    = 1000
	summaryMaxRetries = 6
	recordTimeout     = 30 * time.Second
)

// newSummaries returns the aggregator of the ledger summaries: per service and signal, counts
// by guard, action and reason ("cardinality.overflow.series_limit": 3), never values.
func (p *guardProcessor) newSummaries(rec audit.Recorder) (*audit.Aggregator, error) {
	return audit.NewAggregator(audit.AggregatorSettings{
		Recorder:       rec,
		Actor:          p.id.String(),
		Action:         "telemetry.guard",
		Classification: audit.ClassInternal,
		Interval:       p.cfg.SummaryInterval,
		MaxKeys:        summaryMaxKeys,
		MaxRetries:     summaryMaxRetries,
		Logger:         p.logger,
		OnFailed: func(ctx context.Context, n int) {
			p.tb.ProcessorTelemetryGuardLedgerFailures.Add(ctx, int64(n))
		},
		OnDropped: func(ctx context.Context, n int) {
			p.tb.ProcessorTelemetryGuardSummariesDropped.Add(ctx, int64(n))
		},
	})
}

var kinds = [4]metric.ObserveOption{
	metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "series"))),
	metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "values"))),
	metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "keys"))),
	metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "sources"))),
}

// registerGauges reports what the guards track, their bounds and the cardinality guard's top
// offenders when the collector's metrics are read.
func (p *guardProcessor) registerGauges() error {
	if p.card == nil && p.rate == nil {
		return nil
	}
	if err := p.tb.RegisterProcessorTelemetryGuardTrackedCallback(func(_ context.Context, o metric.Int64Observer) error {
		if p.card != nil {
			st := p.card.Stats()
			o.Observe(st.Series, kinds[0])
			o.Observe(st.Values, kinds[1])
			o.Observe(st.Keys, kinds[2])
		}
		if p.rate != nil {
			o.Observe(int64(p.rate.lim.Tracked()), kinds[3])
		}
		return nil
	}); err != nil {
		return err
	}
	if err := p.tb.RegisterProcessorTelemetryGuardTrackedLimitCallback(func(_ context.Context, o metric.Int64Observer) error {
		if p.card != nil {
			st := p.card.Stats()
			o.Observe(st.MaxSeries, kinds[0])
			o.Observe(st.MaxValues, kinds[1])
			o.Observe(st.MaxKeys, kinds[2])
		}
		if p.rate != nil {
			o.Observe(int64(p.cfg.Rate.MaxSources), kinds[3])
		}
		return nil
	}); err != nil {
		return err
	}
	if p.card == nil {
		return nil
	}
	return p.tb.RegisterProcessorTelemetryGuardTopOffendersCallback(func(_ context.Context, o metric.Int64Observer) error {
		for _, off := range p.card.TopOffenders() {
			o.Observe(off.Items, metric.WithAttributes(
				attribute.String("signal", off.Signal.String()), attribute.String("metric_name", off.Metric),
				attribute.String("service_name", off.Service), attribute.String("key", off.Key)))
		}
		return nil
	})
}

// sweep ends every window of the cardinality guard on time.
func (p *guardProcessor) sweep() {
	defer close(p.done)
	tick := time.NewTicker(p.card.Window())
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.endWindow()
		case <-p.stop:
			return
		}
	}
}

// endWindow starts the guard's next window (what was not seen for one is forgotten) and
// records the top offenders of the window that ended. A ledger that refuses them is counted,
// and logged once until it accepts them again; they stay in the top_offenders metric.
func (p *guardProcessor) endWindow() {
	p.card.Sweep()
	err := p.recordOffenders()
	if err == nil {
		p.offendersFailing = false
		return
	}
	p.tb.ProcessorTelemetryGuardLedgerFailures.Add(context.Background(), 1)
	if !p.offendersFailing {
		p.logger.Error("the top offenders of a window could not be recorded in the audit ledger; they stay in the top_offenders metric",
			zap.Error(err))
	}
	p.offendersFailing = true
}

// recordOffenders records the top offenders of the last window in the ledger: names of
// metrics, services and attribute keys, and counts; never values.
func (p *guardProcessor) recordOffenders() error {
	offenders := p.card.TopOffenders()
	if p.rec == nil || len(offenders) == 0 {
		return nil
	}
	list := make([]any, len(offenders))
	for i, o := range offenders {
		list[i] = map[string]any{"signal": o.Signal.String(), "metric": o.Metric, "service": o.Service, "key": o.Key, "items": o.Items}
	}
	now := time.Now()
	ev := audit.Event{
		RecordID:           rand.Text(),
		Time:               now,
		Actor:              audit.Actor{Type: audit.ActorSystem, ID: p.id.String()},
		Action:             "telemetry.guard.top_offenders",
		Resource:           audit.Resource{Type: "telemetry", ID: audit.OverflowResource, Name: "cardinality"},
		Outcome:            audit.OutcomeSuccess,
		Counts:             map[string]int64{"offenders": int64(len(offenders))},
		Attributes:         map[string]string{"window": p.card.Window().String(), audit.AttrIntervalEnd: now.UTC().Format(time.RFC3339Nano)},
		Details:            map[string]any{"offenders": list},
		DataClassification: audit.ClassInternal,
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	return audit.RecordAll(ctx, p.rec, []audit.Event{ev})
}
