//go:generate mdatagen metadata.yaml

// Package piiredactionprocessor implements the `pii_redaction` processor. It finds personal
// data and secrets in every string of traces, logs and metrics (attributes at every level, log
// bodies recursively, span and event names, status messages, URL attributes part by part) with
// validated detectors, and redacts, hashes (keyed), masks, keeps or drops each finding by its
// type. Values already encrypted by the field_encryption processor are left alone.
package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"
