// Package walk visits every string that traces, logs and metrics carry, with its location,
// and lets the visitor keep, replace or delete it.
//
// It is the one traversal shared by Warden's processors: pii_redaction scans what it visits,
// field_encryption encrypts it, telemetry_guard measures it. A Walker reuses its buffers, so
// a warm walk allocates nothing per visited value; it is not safe for concurrent use, so take
// one per call (or from a sync.Pool).
package walk
