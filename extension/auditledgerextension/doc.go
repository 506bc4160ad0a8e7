// Package auditledgerextension implements the audit_ledger extension: the collector's
// tamper-evident audit trail. Components record audit events into it through the
// internal/audit API; it chains them by hash, signs checkpoints, keeps them durable in an
// append-only file journal and ships them to PostgreSQL.
//
//go:generate mdatagen metadata.yaml
package auditledgerextension
