// Package cardinality is telemetry_guard's cardinality guard: per metric (a name and a
// resource) a budget of distinct series, per attribute key a budget of distinct values (per
// metric for data points, per service for spans and log records), and global caps on what it
// tracks, so that its memory is bounded by its configuration whatever comes in.
//
// Series are told apart by exact 64-bit identities: the sum of the maphash (random seed) of
// each attribute, mixed with the point's scope and kind. A budget holds the identities seen in
// a sliding window of two generations (table): an identity not seen for a whole window is
// forgotten at the start of the next, and frees its place.
//
// A series past its metric's budget is folded into the metric's overflow series (the
// specification's otel.metric.overflow=true point, in the same resource and scope), keeping
// sums, counts and histogram buckets, or dropped. A value past its key's budget is replaced
// by the overflow value (or its key removed); the data points that then share a series are
// merged the same way. Cumulative points are folded into running totals (fold.go), so that
// nothing is counted twice.
//
// Wiring, in a processor, per batch:
//
//	b := guard.NewBatch(walk.SignalMetrics)
//	// in the walker's element hook: op := b.DataPoint(e)  (spans, log records: b.Record(e))
//	b.End()   // writes the overflow points' totals, releases the lock it holds
//	// read b.Total() and b.ByService(...)
//	b.Release()
//
// and Sweep once per window.
package cardinality
