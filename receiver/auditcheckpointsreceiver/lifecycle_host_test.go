package auditcheckpointsreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"

	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

// newLifecycleTestHost is the host of the generated lifecycle test (tests.host in
// metadata.yaml): it serves a stand-in ledger that takes witnesses under the ID that
// tests.config names, since the receiver refuses to start without its ledger.
func newLifecycleTestHost() component.Host {
	return audittest.Host{component.MustNewID("audit_ledger"): &registryLedger{}}
}

// registryLedger is an in-memory ledger that accepts witness registrations and delivers
// nothing to them.
type registryLedger struct {
	audittest.Ledger
}

var _ auditledgerextension.WitnessRegistry = (*registryLedger)(nil)

func (*registryLedger) RegisterWitness(string, auditledgerextension.WitnessFunc) (func(context.Context), error) {
	return func(context.Context) {}, nil
}
