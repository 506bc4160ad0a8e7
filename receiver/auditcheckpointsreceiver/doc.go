//go:generate mdatagen metadata.yaml

// Package auditcheckpointsreceiver implements the `audit_checkpoints` receiver: a witness of
// the audit ledger that emits every checkpoint of the ledger's stream as one OTLP log record
// into a logs pipeline, so that a copy of each checkpoint lands outside the collector (another
// backend, a file on another disk) where `wardenctl audit verify` can hold the ledger to it.
package auditcheckpointsreceiver // import "github.com/otelwarden/warden/receiver/auditcheckpointsreceiver"
