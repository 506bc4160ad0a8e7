// Package walk is the one traversal of pdata shared by Warden's processors. No component
// writes its own loops over resources, scopes, spans, log records or data points: it walks
// with a Walker, which can do three things, alone or together in one pass.
//
// # Strings
//
// Traces, Logs and Metrics show every string of the levels and fields the Walker selects to
// its Visitor, with its Location, and let it keep, replace or delete each; pii_redaction
// scans what it is shown. These are the strings:
//
//   - attribute values, at any depth of maps and slices, of resources, scopes, spans, span
//     events, span links, log records, metrics (the metadata map), data points of every
//     metric type, and exemplars;
//   - log bodies (a string, or the strings in a map or slice, at any depth);
//   - span names, span event names, span status messages and log record event names;
//   - instrumentation scope names and versions, and metric descriptions;
//   - int and double values too, as decimal text, when Numbers is set.
//
// Deliberately not shown: trace and span ids (bytes, and the keys that join telemetry
// together); span and link trace state (W3C propagation state that vendors parse); metric
// names and units (a series' identity: changing them splits or merges series); schema URLs
// (they name a semantic-conventions version, not data); log severity text (the logger's level
// name); bool and bytes values; timestamps, flags, kinds, status codes and counts.
//
// # Selected values
//
// A Selector, compiled once from Patterns (exact attribute keys such as `password`, globs
// such as `*.api_key` or `http.request.header.*`, each possibly restricted to levels, and
// paths into log bodies such as `body.user.card`), picks values out of a batch without
// looking at the others: exact keys are looked up with Map.Get, globs are matched against
// the top-level keys of the maps of the levels they apply to, and nothing under a value that
// is not selected is visited. SelectTraces, SelectLogs and SelectMetrics show each selected
// value, whatever its type, to a ValueVisitor, which may replace it with a value of any type
// or delete it, and whose error stops the walk and comes back as an *Error that says where
// (field_encryption must fail a batch when it cannot have a key, not skip a field).
//
// # Elements
//
// EachSpan, EachLogRecord and EachDataPoint show an ElementVisitor one span, log record or
// data point at a time, as an Element: with its resource, scope, metric (for data points)
// and attribute map. The visitor keeps or drops it; a metric left without data points by
// drops is removed, and so are scopes and resources left empty. telemetry_guard counts
// series and enforces schemas with it. Without an element hook a walk does not look at
// elements at all; with one it allocates nothing per element.
//
// WalkTraces, WalkLogs and WalkMetrics combine the three in one pass: for each element, its
// selected values, then its strings, then the element hook.
//
// A Walker reuses its buffers, so a warm walk allocates nothing per visited value; it is not
// safe for concurrent use, so take one per call (or from a sync.Pool). A Selector is
// immutable and shared.
package walk
