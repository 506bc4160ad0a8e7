package schema

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/sample"
	"github.com/otelwarden/warden/internal/walk"
)

const benchItems = 500

// leveledMap is one attribute map of a batch with its level.
type leveledMap struct {
	level walk.Level
	attrs pcommon.Map
}

// batches are sample batches of benchItems spans, log records and data points.
type batches struct {
	td ptrace.Traces
	ld plog.Logs
	md pmetric.Metrics
}

func newBatches() batches {
	return batches{
		td: sample.Traces(sample.Options{Items: benchItems, PIIEvery: 20}),
		ld: sample.Logs(sample.Options{Items: benchItems, PIIEvery: 20}),
		md: sample.Metrics(sample.Options{Items: benchItems, PIIEvery: 20}),
	}
}

// benchMaps returns the attribute maps of new sample batches.
func benchMaps() map[string][]leveledMap { return newBatches().maps() }

// maps returns the attribute maps of the batches by signal: each resource once, then each
// element (and span event).
func (b batches) maps() map[string][]leveledMap {
	out := map[string][]leveledMap{}
	td, ld, md := b.td, b.ld, b.md
	for _, rs := range td.ResourceSpans().All() {
		out["traces"] = append(out["traces"], leveledMap{walk.LevelResource, rs.Resource().Attributes()})
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out["traces"] = append(out["traces"], leveledMap{walk.LevelSpan, sp.Attributes()})
				for _, ev := range sp.Events().All() {
					out["traces"] = append(out["traces"], leveledMap{walk.LevelSpanEvent, ev.Attributes()})
				}
			}
		}
	}
	for _, rl := range ld.ResourceLogs().All() {
		out["logs"] = append(out["logs"], leveledMap{walk.LevelResource, rl.Resource().Attributes()})
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out["logs"] = append(out["logs"], leveledMap{walk.LevelLogRecord, lr.Attributes()})
			}
		}
	}
	for _, rm := range md.ResourceMetrics().All() {
		out["metrics"] = append(out["metrics"], leveledMap{walk.LevelResource, rm.Resource().Attributes()})
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				for _, dp := range m.Gauge().DataPoints().All() {
					out["metrics"] = append(out["metrics"], leveledMap{walk.LevelDataPoint, dp.Attributes()})
				}
			}
		}
	}
	return out
}

// realisticRules hold for the sample batches: what an operator would write first.
var realisticRules = []Rule{
	{Name: "service", Keys: []string{"service.name", "deployment.environment.name"}, Levels: []string{"resource"}, Required: true, Type: TypeString},
	{Name: "secrets", Keys: []string{"*password*", "*.api_key", "http.request.header.authorization"}, Forbidden: true},
	{Name: "ids", Keys: []string{"order.id", "request.id"}, Type: TypeString, MaxLength: 64},
	{Name: "counts", Levels: []string{"resource", "span", "log_record", "datapoint"}, MaxAttributes: 64},
	{Name: "strings", MaxLength: 4096},
}

// violatedRules flag most elements of the sample batches.
var violatedRules = []Rule{
	{Name: "team", Keys: []string{"team.name"}, Levels: []string{"resource"}, Required: true},
	{Name: "path", Keys: []string{"url.path", "http.route"}, MaxLength: 16},
	{Name: "orders", Keys: []string{"order.id"}, Forbidden: true},
	{Name: "sku", Keys: []string{"sku"}, AllowedValues: []any{"SKU-1"}},
	{Name: "status", Keys: []string{"http.response.status_code"}, Type: TypeString},
}

// BenchmarkCheck checks every map of each sample batch; ns/element is per span, log record
// or data point (its resource's share and its events included).
func BenchmarkCheck(b *testing.B) {
	maps := benchMaps()
	cases := []struct {
		name string
		cfg  Config
		opts []Option
	}{
		{"semconv", Config{Semconv: SemconvConfig{Embedded: true}}, nil},
		{"rules", Config{Rules: realisticRules}, nil},
		{"rules+semconv", Config{Rules: realisticRules, Semconv: SemconvConfig{Embedded: true}}, nil},
		{"violations/report", Config{Rules: violatedRules, Semconv: SemconvConfig{Embedded: true}}, []Option{ReportOnly(true)}},
		// Tagging leaves the maps with the same violations run after run.
		{"violations/tag", Config{Rules: violatedRules, Semconv: SemconvConfig{Embedded: true}, Actions: allTag()}, nil},
	}
	for _, signal := range []string{"traces", "logs", "metrics"} {
		for _, bc := range cases {
			b.Run(signal+"/"+bc.name, func(b *testing.B) {
				c, err := Compile(bc.cfg, bc.opts...)
				if err != nil {
					b.Fatal(err)
				}
				ms := maps[signal]
				var v Verdict
				found := 0
				b.ReportAllocs()
				for b.Loop() {
					found = 0
					for _, m := range ms {
						v.Reset()
						c.Check(m.level, m.attrs, &v)
						found += v.Total()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/element")
				b.ReportMetric(float64(found), "violations/batch")
				if clean := bc.name == "semconv" || bc.name == "rules" || bc.name == "rules+semconv"; clean != (found == 0) {
					b.Fatalf("%d violations in a batch", found)
				}
			})
		}
	}
}

func allTag() ActionsConfig {
	return ActionsConfig{
		MissingRequired: ActionTag, WrongType: ActionTag, NotAllowedValue: ActionTag, TooManyAttributes: ActionTag,
		TooLong: ActionTag, ForbiddenKey: ActionTag, Deprecated: ActionTag,
	}
}
