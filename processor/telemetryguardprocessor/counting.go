package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// The schema guard's decisions are counted by reason and by action: the schema's actions, and
// drop for the spans, log records and data points a drop_record violation dropped.
const (
	numSchemaActions = 8
	dropItem         = numSchemaActions - 1
)

var schemaActions = func() [numSchemaActions]string {
	var out [numSchemaActions]string
	as := schema.Actions()
	if len(as) != dropItem {
		panic("telemetry_guard: the schema guard's actions changed; size numSchemaActions to them")
	}
	for i, a := range as {
		out[i] = string(a)
	}
	out[dropItem] = "drop"
	return out
}()

// schemaCounts are a batch's schema decisions.
type schemaCounts [schema.NumReasons][numSchemaActions]int64

// counting holds, built once, the attribute sets of the decisions metric and the names of the
// summaries' counts: <guard>.<action>.<reason> (cardinality, schema, rate), with .report. after
// the guard's name in report mode.
type counting struct {
	names       []string
	cardAttrs   [4][cardinality.NumActions][cardinality.NumReasons]metric.AddOption // by signal
	schemaAttrs [4][schema.NumReasons][numSchemaActions]metric.AddOption
	rateAttrs   [4][numRateActions][numRateReasons]metric.AddOption
}

const cardinalityCounts = int(cardinality.NumActions) * int(cardinality.NumReasons)

func cardinalityIndex(a cardinality.Action, r cardinality.Reason) int {
	return int(a)*int(cardinality.NumReasons) + int(r)
}

func schemaIndex(r schema.Reason, ai int) int {
	return cardinalityCounts + int(r)*numSchemaActions + ai
}

func rateIndex(action, reason int) int {
	return cardinalityCounts + schema.NumReasons*numSchemaActions + action*numRateReasons + reason
}

func newCounting(cfg *Config) counting {
	var c counting
	cardMode, schemaMode, rateMode := string(cfg.Cardinality.Mode), string(cfg.Schema.Mode), string(cfg.Rate.Mode)
	if cardMode == string(cardinality.ModeDisabled) {
		cardMode = string(cardinality.ModeEnforce)
	}
	prefix := func(guard, mode string) string {
		if mode == string(cardinality.ModeReport) {
			return guard + ".report."
		}
		return guard + "."
	}
	signals := []walk.Signal{walk.SignalTraces, walk.SignalLogs, walk.SignalMetrics}
	attrs := func(guard, action, reason string, s walk.Signal, mode string) metric.AddOption {
		return metric.WithAttributeSet(attribute.NewSet(
			attribute.String("guard", guard), attribute.String("action", action), attribute.String("reason", reason),
			attribute.String("signal", s.String()), attribute.String("mode", mode)))
	}
	for a := range cardinality.NumActions {
		for r := range cardinality.NumReasons {
			c.names = append(c.names, prefix("cardinality", cardMode)+a.String()+"."+r.String())
			for _, s := range signals {
				c.cardAttrs[s][a][r] = attrs("cardinality", a.String(), r.String(), s, cardMode)
			}
		}
	}
	for _, r := range schema.Reasons() {
		for ai, a := range schemaActions {
			c.names = append(c.names, prefix("schema", schemaMode)+a+"."+r.String())
			for _, s := range signals {
				c.schemaAttrs[s][r][ai] = attrs("schema", a, r.String(), s, schemaMode)
			}
		}
	}
	for a, action := range rateActions {
		for r, reason := range rateReasons {
			c.names = append(c.names, prefix("rate", rateMode)+action+"."+reason.String())
			for _, s := range signals {
				c.rateAttrs[s][a][r] = attrs("rate", action, reason.String(), s, rateMode)
			}
		}
	}
	return c
}

// setService notes the service of the next elements' schema decisions.
func (wk *work) setService(s string) {
	if s != wk.service {
		wk.service, wk.cur = s, nil
	}
}

// summary returns the summary counts of service, taking a spare slice for a new one.
func (wk *work) summary(service string) []int64 {
	c := wk.byService[service]
	if c == nil {
		if n := len(wk.spare); n > 0 {
			c, wk.spare = wk.spare[n-1], wk.spare[:n-1]
		} else {
			c = make([]int64, len(wk.p.counts.names))
		}
		wk.byService[service] = c
	}
	return c
}

// countSchema counts n schema decisions of the current service.
func (wk *work) countSchema(r schema.Reason, ai int, n int64) {
	wk.schemaTotal[r][ai] += n
	if wk.p.agg == nil {
		return
	}
	if wk.cur == nil {
		wk.cur = wk.summary(wk.service)
	}
	wk.cur[schemaIndex(r, ai)] += n
}

// countVerdict counts what the schema guard found in one map.
func (wk *work) countVerdict(v *schema.Verdict) {
	for _, r := range schema.Reasons() {
		if v.Found(r) == 0 {
			continue
		}
		for ai, a := range schema.Actions() {
			if n := v.Count(r, a); n > 0 {
				wk.countSchema(r, ai, int64(n))
			}
		}
	}
}

// count adds a batch's decisions to the metrics and the ledger's summaries.
func (p *guardProcessor) count(ctx context.Context, wk *work) {
	s := wk.signal
	if wk.b != nil {
		total := wk.b.Total()
		for a := range cardinality.NumActions {
			for r := range cardinality.NumReasons {
				if n := total[a][r]; n > 0 {
					p.tb.ProcessorTelemetryGuardDecisions.Add(ctx, n, p.counts.cardAttrs[s][a][r])
				}
			}
		}
	}
	for r := range wk.schemaTotal {
		for ai, n := range wk.schemaTotal[r] {
			if n > 0 {
				p.tb.ProcessorTelemetryGuardDecisions.Add(ctx, n, p.counts.schemaAttrs[s][r][ai])
			}
		}
	}
	if p.agg == nil {
		return
	}
	if wk.b != nil {
		wk.b.ByService(func(service string, c *cardinality.Counts) {
			var sum []int64
			for a := range cardinality.NumActions {
				for r := range cardinality.NumReasons {
					if n := c[a][r]; n != 0 {
						if sum == nil {
							sum = wk.summary(service)
						}
						sum[cardinalityIndex(a, r)] += n
					}
				}
			}
		})
	}
	for service, c := range wk.byService {
		p.agg.Add(audit.TelemetryKey(service, s.String()), p.counts.names, c)
	}
}
