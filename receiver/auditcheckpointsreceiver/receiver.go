package auditcheckpointsreceiver // import "github.com/otelwarden/warden/receiver/auditcheckpointsreceiver"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/ledger"
)

// format is the format reported with the receiver's telemetry: checkpoints as the ledger
// stores them.
const format = "audit_checkpoint"

// checkpointsReceiver is a witness of the ledger: the ledger hands it every checkpoint of its
// stream, in order, from the cursor kept under the receiver's ID, and retries whatever the
// pipeline refuses.
type checkpointsReceiver struct {
	id      component.ID
	ledger  component.ID
	next    consumer.Logs
	obsrecv *receiverhelper.ObsReport
	now     func() time.Time

	unregister func(context.Context)
}

var _ receiver.Logs = (*checkpointsReceiver)(nil)

func newCheckpointsReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*checkpointsReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "audit_ledger",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &checkpointsReceiver{id: set.ID, ledger: cfg.Ledger, next: next, obsrecv: obsrecv, now: time.Now}, nil
}

// Start finds the ledger and registers the receiver as one of its witnesses, under the
// receiver's own ID: the ledger keeps the receiver's place in the stream by that name.
func (r *checkpointsReceiver) Start(_ context.Context, host component.Host) error {
	registry, err := witnessRegistry(host, r.ledger)
	if err != nil {
		return fmt.Errorf("%s: %w", r.id, err)
	}
	unregister, err := registry.RegisterWitness(r.id.String(), r.publish)
	if err != nil {
		return fmt.Errorf("%s: registering as a witness of ledger %q: %w", r.id, r.ledger, err)
	}
	r.unregister = unregister
	return nil
}

// witnessRegistry finds the ledger named id among the host's extensions.
func witnessRegistry(host component.Host, id component.ID) (auditledgerextension.WitnessRegistry, error) {
	recorder, err := audit.FromHost(host, &id)
	if err != nil {
		return nil, err
	}
	registry, ok := recorder.(auditledgerextension.WitnessRegistry)
	if !ok {
		return nil, fmt.Errorf("ledger %q: %w (it takes no witnesses: name an audit_ledger extension)", id, audit.ErrNotALedger)
	}
	return registry, nil
}

// publish hands cps to the pipeline as one batch of log records. An error makes the ledger
// offer them again later, so nothing the pipeline refused is lost.
func (r *checkpointsReceiver) publish(ctx context.Context, cps []ledger.Checkpoint) error {
	ld := plog.NewLogs()
	observed := pcommon.NewTimestampFromTime(r.now())
	for i := range cps {
		ledger.AppendWitnessLog(ld, &cps[i], observed)
	}
	ctx = r.obsrecv.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(ctx, ld)
	r.obsrecv.EndLogsOp(ctx, format, len(cps), err)
	return err
}

// Shutdown stops the witness after the ledger's last delivery within ctx. Receivers stop
// before extensions, so the checkpoint the ledger writes at its own shutdown reaches the
// pipeline at the next start.
func (r *checkpointsReceiver) Shutdown(ctx context.Context) error {
	if r.unregister != nil {
		r.unregister(ctx)
		r.unregister = nil
	}
	return nil
}
