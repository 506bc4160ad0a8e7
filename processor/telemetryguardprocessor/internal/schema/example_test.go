package schema_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

// A processor compiles its schema configuration once (at create or Start), then checks each
// element on the shared walker's element hook: its resource's map once per resource, its own
// map every time, and drops what a drop_record rule asks it to drop. Verdicts are reused, so
// a clean batch allocates nothing.
func Example() {
	checker, err := schema.Compile(schema.Config{
		Rules: []schema.Rule{
			{Name: "service", Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true, Action: schema.ActionDropRecord},
			{Name: "no-secrets", Keys: []string{"*password*"}, Forbidden: true},
			{Name: "routes", Keys: []string{"http.route"}, MaxLength: 24},
		},
		Semconv: schema.SemconvConfig{Embedded: true},
	}, schema.ReportOnly(false)) // the processor's mode: report
	if err != nil {
		panic(err) // a configuration error: report it at start
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	sp := spans.AppendEmpty()
	sp.Attributes().PutStr("http.request.method", "PURGE")
	sp.Attributes().PutStr("http.route", "/api/v1/orders/{order_id}/items/{item_id}")
	sp.Attributes().PutStr("db.password", "hunter2")
	sp.Attributes().PutInt("http.response.status_code", 200)
	orphan := td.ResourceSpans().AppendEmpty() // a resource without service.name
	orphan.ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutStr("http.route", "/")

	var (
		lastResource pcommon.Resource
		resource     schema.Verdict // the current resource's
		element      schema.Verdict
		found        [schema.NumReasons]int
	)
	hook := walk.ElementVisitorFunc(func(_ context.Context, e *walk.Element) (walk.Op, error) {
		if e.Resource != lastResource {
			lastResource = e.Resource
			resource.Reset()
			checker.Check(walk.LevelResource, e.Resource.Attributes(), &resource)
			for _, r := range schema.Reasons() {
				found[r] += resource.Found(r)
			}
		}
		element.Reset()
		checker.Check(e.Level, e.Attributes, &element)
		for _, r := range schema.Reasons() {
			found[r] += element.Found(r)
		}
		// element.Offenders() name the rule and key of each violation, for a top list.
		if resource.Drop || element.Drop {
			return walk.Delete, nil // counted above with its reason: never a silent drop
		}
		return walk.Keep, nil
	})
	if err := new(walk.Walker).EachSpan(context.Background(), td, hook); err != nil {
		panic(err)
	}

	fmt.Println("resources left:", td.ResourceSpans().Len())
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	for k, v := range attrs.All() {
		fmt.Printf("%s = %s\n", k, v.AsString())
	}
	for _, r := range schema.Reasons() {
		if found[r] > 0 {
			fmt.Printf("%s: %d\n", r, found[r])
		}
	}
	// Output:
	// resources left: 1
	// http.request.method = _OTHER
	// http.route = /api/v1/ord~2f765da72836
	// http.response.status_code = 200
	// http.request.method_original = PURGE
	// missing_required: 1
	// not_allowed_value: 1
	// too_long: 1
	// forbidden_key: 1
}
