// Package ratelimit is telemetry_guard's rate guard: token buckets per source, in records per
// second and bytes per second, each with a burst, built on golang.org/x/time/rate.
//
// A source is who sends a batch: the value of a client metadata key (an API key or tenant
// header; the receiver needs include_metadata: true) or of a resource attribute
// (service.name). Sources are tracked in a bounded least-recently-used set (max_sources);
// overridden sources and data without a source have buckets of their own that are never
// forgotten.
//
// Wiring, in a processor:
//
//	lim, err := ratelimit.New(cfg.Rate) // once per configuration, shared by all signals
//
//	// per batch, source from client metadata: the whole request is one source
//	d := lim.AllowAt(now, lim.SourceFromContext(ctx), records, bytes)
//
//	// per batch, source from a resource attribute: one Charge per resource
//	d := lim.AllowAllAt(now, charges) // all or nothing, for on_limit: refuse
//	d := lim.AllowAt(now, lim.SourceFromResource(res), n, size) // per resource, for on_limit: drop
//
//	if !d.Allowed && cfg.Rate.Mode == ratelimit.ModeEnforce {
//		// refuse: return ratelimit.RefusalError(d) (wrapping it with %w keeps its status)
//		// drop: drop the batch or resource, count it with reason d.Exceeded.String()
//	}
//
// Records are spans, log records or metric data points; bytes are the size of the data's OTLP
// protobuf encoding (ptrace.ProtoMarshaler's TracesSize for a batch, ResourceSpansSize for one
// resource, and their plog and pmetric siblings). A refused batch is not charged, so report mode and enforce mode see the same
// decisions.
//
// RefusalError makes the OTLP receiver answer gRPC RESOURCE_EXHAUSTED with a RetryInfo delay
// and HTTP 429 with Retry-After: senders retry after the delay and keep their data.
package ratelimit // import "github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
