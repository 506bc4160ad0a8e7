package telemetryguardprocessor

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Hand-built batches for the golden tests: every metric type past its budgets, in delta and
// cumulative, and spans and log records of two services past their keys' budgets.

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(epoch.Add(time.Duration(sec) * time.Second))
}

// goldenConfig: 4 series per metric, 3 users per metric; queue.depth unlimited.
func goldenConfig(c *Config) {
	c.Cardinality.Series.MaxPerMetric = 4
	c.Cardinality.Attributes.Keys = map[string]cardinalityKey{"user.id": {MaxValues: 3}}
	c.Cardinality.Attributes.Signals = []string{"metrics", "traces", "logs"}
	c.Cardinality.Attributes.ExemptKeys = []string{"tenant.id"}
	c.Cardinality.Metrics = map[string]cardinalityMetric{"queue.depth": {MaxSeries: 100}}
}

// goldenMetrics is round (1, 2, ...) of a service's exports: six series of each metric, the
// cumulative ones growing by round.
func goldenMetrics(round int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("service.instance.id", "checkout-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("checkout.instrumentation")
	sm.Scope().SetVersion("1.2.0")
	now := at(60 * round)
	routes := []string{"/cart", "/pay", "/items", "/cart", "/pay", "/items"}

	requests := sm.Metrics().AppendEmpty()
	requests.SetName("http.server.requests")
	requests.SetUnit("{request}")
	delta := requests.SetEmptySum()
	delta.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	delta.SetIsMonotonic(true)
	for i := range 6 {
		dp := delta.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("http.route", routes[i])
		dp.Attributes().PutInt("http.response.status_code", int64(200+300*(i/3)))
		dp.SetIntValue(int64(10 * (i + 1)))
		dp.SetStartTimestamp(at(60 * (round - 1)))
		dp.SetTimestamp(now)
	}

	jobs := sm.Metrics().AppendEmpty()
	jobs.SetName("jobs.processed")
	cum := jobs.SetEmptySum()
	cum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	cum.SetIsMonotonic(true)
	for i := range 6 {
		dp := cum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("user.id", fmt.Sprintf("user-%d", i))
		dp.Attributes().PutStr("tenant.id", "acme")
		dp.SetIntValue(int64(round * (i + 1)))
		dp.SetStartTimestamp(at(0))
		dp.SetTimestamp(now)
	}

	latency := sm.Metrics().AppendEmpty()
	latency.SetName("http.server.request.duration")
	latency.SetUnit("s")
	h := latency.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for i := range 6 {
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("http.route", fmt.Sprintf("/r%d", i))
		dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
		dp.BucketCounts().FromRaw([]uint64{uint64(i), 1, 2, 0})
		dp.SetCount(uint64(i + 3))
		dp.SetSum(float64(i) * 0.2)
		dp.SetMin(0.01 * float64(i+1))
		dp.SetMax(0.9)
		dp.SetStartTimestamp(at(60 * (round - 1)))
		dp.SetTimestamp(now)
	}

	sizes := sm.Metrics().AppendEmpty()
	sizes.SetName("rpc.message.size")
	sizes.SetUnit("By")
	eh := sizes.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i := range 6 {
		dp := eh.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("rpc.method", fmt.Sprintf("Method%d", i))
		dp.SetScale(int32(2 - i%3))
		dp.Positive().SetOffset(int32(i))
		dp.Positive().BucketCounts().FromRaw([]uint64{uint64(round), uint64(2 * round)})
		dp.SetZeroCount(uint64(round))
		dp.SetCount(uint64(4 * round))
		dp.SetSum(float64(100 * round))
		dp.SetStartTimestamp(at(0))
		dp.SetTimestamp(now)
	}

	depth := sm.Metrics().AppendEmpty()
	depth.SetName("queue.depth")
	g := depth.SetEmptyGauge()
	for i := range 6 {
		dp := g.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("queue", fmt.Sprintf("q%d", i))
		dp.SetDoubleValue(float64(i) + 0.5)
		dp.SetTimestamp(now)
	}

	rpc := sm.Metrics().AppendEmpty()
	rpc.SetName("legacy.rpc.latency")
	s := rpc.SetEmptySummary()
	for i := range 6 {
		dp := s.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("peer", fmt.Sprintf("10.0.0.%d", i))
		dp.SetCount(uint64(round * 10))
		dp.SetSum(float64(round) * 1.5)
		q := dp.QuantileValues().AppendEmpty()
		q.SetQuantile(0.99)
		q.SetValue(0.3)
		dp.SetStartTimestamp(at(0))
		dp.SetTimestamp(now)
	}
	return md
}

// goldenLogs: log records of two services, each with a user id (3 allowed per service), a
// tenant (exempt) and a message.
func goldenLogs() plog.Logs {
	ld := plog.NewLogs()
	for _, svc := range []string{"checkout", "payments"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range 5 {
			lr := lrs.AppendEmpty()
			lr.Body().SetStr("order placed")
			lr.Attributes().PutStr("user.id", fmt.Sprintf("user-%d", i))
			lr.Attributes().PutStr("tenant.id", fmt.Sprintf("t%d", i))
			lr.SetTimestamp(at(i))
		}
	}
	return ld
}

// goldenTraces: spans of two services, as goldenLogs.
func goldenTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	for s, svc := range []string{"checkout", "payments"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 5 {
			sp := spans.AppendEmpty()
			sp.SetName("POST /orders")
			sp.SetTraceID(pcommon.TraceID{byte(s + 1), byte(i + 1)})
			sp.SetSpanID(pcommon.SpanID{byte(s + 1), byte(i + 1)})
			sp.Attributes().PutStr("user.id", fmt.Sprintf("user-%d", i))
			sp.Attributes().PutStr("http.route", "/orders")
			sp.SetStartTimestamp(at(i))
			sp.SetEndTimestamp(at(i + 1))
		}
	}
	return td
}
