//go:generate mdatagen metadata.yaml

// Package telemetryguardprocessor implements the `telemetry_guard` processor. It bounds the
// cardinality of what passes (per metric a budget of distinct series, folded past it into the
// specification's overflow series with totals kept; per attribute key a budget of distinct
// values), with its memory bounded by its configuration whatever comes in. Every decision is
// counted and summarised to the audit ledger; each guard enforces or only reports.
package telemetryguardprocessor // import "github.com/otelwarden/warden/processor/telemetryguardprocessor"
