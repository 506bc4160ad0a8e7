// Package sample builds realistic telemetry batches for tests and benchmarks: several
// services and scopes, the attributes that instrumentation libraries really emit, and an
// optional share of records that carry personal data.
package sample

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Services are the service names that batches are spread over.
var Services = []string{"checkout", "payments", "users", "search", "gateway"}

// Planted PII values used by batches built WithPII. Tests assert that none of them survive.
var Planted = []string{
	"jane.doe@example.com",
	"4111 1111 1111 1111",
	"078-05-1120",
	"+44 20 7946 0958",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}

// Options shapes a batch.
type Options struct {
	// Items is the number of spans, log records or data points.
	Items int
	// PIIEvery plants personal data in one item out of PIIEvery; 0 plants none.
	PIIEvery int
	// Offset is the sequence number of the first item, so that consecutive batches continue
	// one sequence: with PIIEvery 20, batches of 10 items at offsets 0, 10, 20, ... carry
	// personal data in every other batch, 5% overall.
	Offset int
}

var baseTime = pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

func fillResource(res pcommon.Resource, svc string) {
	a := res.Attributes()
	a.PutStr("service.name", svc)
	a.PutStr("service.version", "1.14.2")
	a.PutStr("deployment.environment.name", "production")
	a.PutStr("host.name", "ip-10-0-12-34.ec2.internal")
	a.PutStr("k8s.pod.name", svc+"-7d9f8b6c5-x2x9q")
	a.PutStr("cloud.region", "eu-west-1")
}

// Traces returns a batch of o.Items spans spread over Services.
func Traces(o Options) ptrace.Traces {
	td := ptrace.NewTraces()
	per := perService(o.Items)
	n := o.Offset
	for s, svc := range Services {
		rs := td.ResourceSpans().AppendEmpty()
		fillResource(rs.Resource(), svc)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
		ss.Scope().SetVersion("0.61.0")
		for i := 0; i < per[s]; i++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetName("GET /api/v1/orders/{id}")
			sp.SetTraceID(pcommon.TraceID{byte(s), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			sp.SetSpanID(pcommon.SpanID{byte(s), byte(i), 3, 4, 5, 6, 7, 8})
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(baseTime)
			sp.SetEndTimestamp(baseTime + 1_500_000)
			a := sp.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("http.route", "/api/v1/orders/{id}")
			// 16-digit order numbers: a card regex without validation takes them for cards.
			a.PutStr("url.path", fmt.Sprintf("/api/v1/orders/%d", 1000000000000000+i))
			a.PutInt("http.response.status_code", 200)
			a.PutStr("server.address", "api.example.com")
			a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
			a.PutStr("order.id", fmt.Sprintf("ORD-2026-%08d", i))
			a.PutStr("request.id", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736")
			ev := sp.Events().AppendEmpty()
			ev.SetName("cache.miss")
			ev.Attributes().PutStr("cache.key", fmt.Sprintf("orders:%d", i))
			if o.PIIEvery > 0 && n%o.PIIEvery == 0 {
				a.PutStr("url.full", "https://api.example.com/v1/users?email="+Planted[0]+"&page=2")
				a.PutStr("enduser.email", Planted[0])
				ev.Attributes().PutStr("exception.message", "card "+Planted[1]+" declined")
			}
			n++
		}
	}
	return td
}

// Logs returns a batch of o.Items log records spread over Services.
func Logs(o Options) plog.Logs {
	ld := plog.NewLogs()
	per := perService(o.Items)
	n := o.Offset
	for s, svc := range Services {
		rl := ld.ResourceLogs().AppendEmpty()
		fillResource(rl.Resource(), svc)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("log/slog")
		for i := 0; i < per[s]; i++ {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(baseTime)
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr(fmt.Sprintf("order ORD-2026-%08d shipped to warehouse 12 in 1532 ms", i))
			a := lr.Attributes()
			a.PutStr("code.function.name", "github.com/acme/shop/orders.(*Service).Ship")
			a.PutStr("order.id", fmt.Sprintf("ORD-2026-%08d", i))
			a.PutStr("request.id", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736")
			a.PutStr("trace.id", "4bf92f3577b34da6a3ce929d0e0e4736")
			a.PutStr("sku", "SKU-88213-XL")
			a.PutStr("event.name", "order.shipped")
			a.PutInt("duration_ms", 1532)
			if o.PIIEvery > 0 && n%o.PIIEvery == 0 {
				lr.Body().SetStr("payment for " + Planted[0] + " with card " + Planted[1] + " failed")
				a.PutStr("user.phone", Planted[3])
				a.PutStr("http.request.header.authorization", "Bearer "+Planted[4])
			}
			n++
		}
	}
	return ld
}

// Metrics returns a batch of o.Items number data points spread over Services.
func Metrics(o Options) pmetric.Metrics {
	md := pmetric.NewMetrics()
	per := perService(o.Items)
	n := o.Offset
	for s, svc := range Services {
		rm := md.ResourceMetrics().AppendEmpty()
		fillResource(rm.Resource(), svc)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
		m := sm.Metrics().AppendEmpty()
		m.SetName("http.server.request.duration")
		m.SetUnit("s")
		dps := m.SetEmptyGauge().DataPoints()
		for i := 0; i < per[s]; i++ {
			dp := dps.AppendEmpty()
			dp.SetTimestamp(baseTime)
			dp.SetDoubleValue(0.015 * float64(i%17))
			a := dp.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("http.route", fmt.Sprintf("/api/v1/items/%d", i%50))
			a.PutInt("http.response.status_code", int64(200+i%3))
			a.PutStr("network.protocol.version", "1.1")
			if o.PIIEvery > 0 && n%o.PIIEvery == 0 {
				a.PutStr("enduser.id", Planted[0])
			}
			n++
		}
	}
	return md
}

func perService(items int) []int {
	per := make([]int, len(Services))
	for i := 0; i < items; i++ {
		per[i%len(Services)]++
	}
	return per
}
