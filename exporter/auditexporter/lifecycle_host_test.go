package auditexporter

import (
	"go.opentelemetry.io/collector/component"

	"github.com/otelwarden/warden/internal/audit/audittest"
)

// newLifecycleTestHost is the host of the generated lifecycle test (tests.host in
// metadata.yaml): it serves an in-memory ledger under the ID that tests.config names, since
// the audit exporter refuses to start without its ledger.
func newLifecycleTestHost() component.Host {
	return audittest.Host{component.MustNewID("audit_ledger"): &audittest.Ledger{}}
}
