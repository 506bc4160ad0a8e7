package walk_test

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelwarden/warden/internal/walk"
)

// A processor compiles its selector once, from its configuration, and walks each batch with
// a visitor that replaces each selected value whole (here with a stand-in for a ciphertext).
func ExampleWalker_SelectLogs() {
	sel, err := walk.CompileSelector(
		walk.Pattern{Key: "password"},
		walk.Pattern{Key: "*.api_key"},
		walk.Pattern{Key: "http.request.header.authorization", Levels: walk.Levels(walk.LevelLogRecord)},
		walk.Pattern{Key: "body.card.number"},
	)
	if err != nil {
		panic(err) // a configuration error: report it at start
	}

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("password", "hunter2")
	lr.Attributes().PutStr("payments.api_key", "sk_live_123")
	lr.Attributes().PutStr("user.id", "42")
	card := lr.Body().SetEmptyMap().PutEmptyMap("card")
	card.PutInt("number", 4111111111111111)
	card.PutStr("brand", "visa")

	encrypt := walk.ValueVisitorFunc(func(_ context.Context, loc *walk.Location, v pcommon.Value) (walk.Op, error) {
		// loc.AppendPath names the field, e.g. to bind a ciphertext to it.
		v.SetStr(fmt.Sprintf("enc(%s=%s)", loc.AppendPath(nil), v.AsString()))
		return walk.Replace, nil
	})
	var w walk.Walker // one per goroutine, or from a sync.Pool
	if err := w.SelectLogs(context.Background(), ld, sel, encrypt); err != nil {
		panic(err) // a visitor's error: refuse the batch
	}
	fmt.Println(lr.Attributes().AsRaw())
	fmt.Println(lr.Body().AsRaw())
	// Output:
	// map[password:enc(password=hunter2) payments.api_key:enc(payments.api_key=sk_live_123) user.id:42]
	// map[card:map[brand:visa number:enc(body.card.number=4111111111111111)]]
}

// A visitor's error stops the walk and comes back with where it happened.
func ExampleError() {
	sel, _ := walk.CompileSelector(walk.Pattern{Key: "password"})
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().PutStr("password", "hunter2")

	errNoKey := errors.New("no data key")
	fail := walk.ValueVisitorFunc(func(context.Context, *walk.Location, pcommon.Value) (walk.Op, error) {
		return walk.Keep, errNoKey
	})
	var w walk.Walker
	err := w.SelectLogs(context.Background(), ld, sel, fail)
	fmt.Println(err)
	fmt.Println(errors.Is(err, errNoKey))
	// Output:
	// walk: logs/log_record/attribute["password"]: no data key
	// true
}

// An element hook sees one data point at a time, with its metric and attribute map, and may
// drop it; a metric left without points is removed.
func ExampleWalker_EachDataPoint() {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	dps := m.SetEmptySum().DataPoints()
	for _, user := range []string{"", "u1", ""} {
		dp := dps.AppendEmpty()
		dp.Attributes().PutStr("http.request.method", "GET")
		if user != "" {
			dp.Attributes().PutStr("user.id", user)
		}
	}

	dropUserSeries := walk.ElementVisitorFunc(func(_ context.Context, e *walk.Element) (walk.Op, error) {
		if _, ok := e.Attributes.Get("user.id"); ok {
			return walk.Delete, nil
		}
		return walk.Keep, nil
	})
	var w walk.Walker
	if err := w.EachDataPoint(context.Background(), md, dropUserSeries); err != nil {
		panic(err)
	}
	fmt.Println(md.DataPointCount())
	// Output: 2
}
