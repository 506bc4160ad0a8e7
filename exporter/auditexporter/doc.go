//go:generate mdatagen metadata.yaml

// Package auditexporter implements the `audit` exporter. In deliveries mode it wraps one
// destination exporter (clickhouse, otlp_grpc, otlp_http, file, debug or nop), forwards every
// batch to it and records one audit entry per delivery attempt in the collector's ledger. In
// records mode it has no destination: log records that carry audit events become ledger entries.
package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"
