package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
)

// A processor builds one Limiter per configuration and asks it once per batch. With the source
// in client metadata, the whole request is one source.
func Example() {
	cfg := ratelimit.DefaultConfig()
	cfg.Source.MetadataKey = "x-tenant-id" // the receiver has include_metadata: true
	cfg.Limits = ratelimit.Limits{RecordsPerSecond: 100, RecordsBurst: 200, BytesPerSecond: 1 << 20, BytesBurst: 2 << 20}
	lim, err := ratelimit.New(cfg)
	if err != nil {
		panic(err)
	}

	ctx := client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{"x-tenant-id": {"acme"}}),
	})
	ld := plog.NewLogs()
	logs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 150 {
		logs.AppendEmpty().Body().SetStr("checkout failed")
	}
	size := (&plog.ProtoMarshaler{}).LogsSize(ld)

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	consume := func() error {
		d := lim.AllowAt(now, lim.SourceFromContext(ctx), ld.LogRecordCount(), size)
		if !d.Allowed && cfg.Mode == ratelimit.ModeEnforce && cfg.OnLimit == ratelimit.OnLimitRefuse {
			return fmt.Errorf("telemetry_guard: %w", ratelimit.RefusalError(d))
		}
		return nil // pass ld on
	}
	fmt.Println(consume())
	err = consume()
	fmt.Println(err)
	fmt.Println(errors.Is(err, ratelimit.ErrRateLimited))
	// Output:
	// <nil>
	// telemetry_guard: rate limit exceeded: over this source's records per second, retry after 1s
	// true
}

// With the source in a resource attribute, each resource is charged to its own source. To refuse,
// decide the whole batch at once: it is charged only if every source is within its limits.
func ExampleLimiter_AllowAllAt() {
	cfg := ratelimit.DefaultConfig()
	cfg.Source.ResourceAttribute = "service.name"
	cfg.Limits = ratelimit.Limits{RecordsPerSecond: 10, RecordsBurst: 10}
	cfg.Overrides = []ratelimit.Override{{Source: "checkout", Limits: ratelimit.Limits{RecordsPerSecond: 100, RecordsBurst: 100}}}
	lim, err := ratelimit.New(cfg)
	if err != nil {
		panic(err)
	}

	ld := plog.NewLogs()
	for _, part := range []struct {
		service string
		records int
	}{{"checkout", 50}, {"cart", 20}} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", part.service)
		for range part.records {
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		}
	}
	charges := make([]ratelimit.Charge, 0, ld.ResourceLogs().Len()) // reuse across batches
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		records := 0
		for j := range rl.ScopeLogs().Len() {
			records += rl.ScopeLogs().At(j).LogRecords().Len()
		}
		charges = append(charges, ratelimit.Charge{Source: lim.SourceFromResource(rl.Resource()), Records: records})
	}

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// cart sends 20 records with a burst of 10: admitted on a full bucket, 10 owed.
	d := lim.AllowAllAt(now, charges)
	fmt.Printf("allowed %v, oversized %v\n", d.Allowed, d.Oversized)
	// The same batch again: cart must first pay back and refill, so the whole batch waits.
	d = lim.AllowAllAt(now, charges)
	fmt.Printf("allowed %v, exceeded %s, retry after %s\n", d.Allowed, d.Exceeded, d.RetryAfter)
	// Output:
	// allowed true, oversized true
	// allowed false, exceeded records, retry after 2s
}
