package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
)

const (
	// actionExport is the action of every delivery entry.
	actionExport = "telemetry.export"
	// resourceTypeDestination is the resource type of every delivery entry.
	resourceTypeDestination = "destination"
	// maxServices bounds the services attribute of an entry.
	maxServices = 20
)

// deliveryAttrs are the attributes of the deliveries metric for one outcome: the audit
// exporter and its destination tell apart the destinations of a collector (a few per
// configuration, so the labels stay bounded).
func deliveryAttrs(id, destID component.ID, outcome audit.Outcome) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.String("exporter", id.String()),
		attribute.String("destination", destID.String()),
		attribute.String("outcome", string(outcome))))
}

// deliveryExporter forwards each batch to the destination exporter and records the attempt.
type deliveryExporter struct {
	id        component.ID
	destID    component.ID
	destType  string
	ledgerID  component.ID
	tenantKey string
	tenantRes string
	// recordTimeout bounds recording an attempt, on a context of its own: an attempt that used
	// up its deadline must still be recorded.
	recordTimeout time.Duration

	telemetry *metadata.TelemetryBuilder
	// succeeded and failed are the deliveries metric's attributes for each outcome.
	succeeded, failed metric.AddOption
	recorder          audit.Recorder
	logger            *zap.Logger
	// jsonLinesFile is the file of a file destination written as JSON lines, whose torn last
	// line is cut off at start.
	jsonLinesFile string

	// dest is the destination exporter; one of traces, metrics, logs is set to it.
	dest    component.Component
	traces  consumer.Traces
	metrics consumer.Metrics
	logs    consumer.Logs
}

func newDeliveries(id, destID component.ID, cfg *Config, telemetry *metadata.TelemetryBuilder, logger *zap.Logger) *deliveryExporter {
	return &deliveryExporter{
		id:            id,
		destID:        destID,
		destType:      destID.Type().String(),
		ledgerID:      cfg.Ledger,
		tenantKey:     cfg.TenantMetadataKey,
		tenantRes:     cfg.TenantAttribute,
		recordTimeout: cfg.TimeoutConfig.Timeout,
		telemetry:     telemetry,
		succeeded:     deliveryAttrs(id, destID, audit.OutcomeSuccess),
		failed:        deliveryAttrs(id, destID, audit.OutcomeFailure),
		logger:        logger,
		jsonLinesFile: jsonLinesFile(cfg.destination.cfg),
	}
}

// start finds the ledger, then starts the destination: without a ledger nothing is delivered.
func (e *deliveryExporter) start(ctx context.Context, host component.Host) error {
	r, err := audit.FromHost(host, &e.ledgerID)
	if err != nil {
		return fmt.Errorf("audit exporter %s: %w", e.id, err)
	}
	e.recorder = r
	if e.jsonLinesFile != "" {
		cut, err := cutTornLine(e.jsonLinesFile)
		if err != nil {
			return fmt.Errorf("audit exporter %s: checking the last line of %s: %w", e.id, e.jsonLinesFile, err)
		}
		if cut > 0 {
			e.logger.Warn("Cut off the torn last line of the file, left by a crash while writing it (it was never recorded as delivered)",
				zap.String("path", e.jsonLinesFile), zap.Int64("bytes", cut))
		}
	}
	if err := e.dest.Start(ctx, host); err != nil {
		return fmt.Errorf("audit exporter %s: starting destination %s: %w", e.id, e.destID, err)
	}
	return nil
}

func (e *deliveryExporter) shutdown(ctx context.Context) error {
	defer e.telemetry.Shutdown()
	if e.dest == nil {
		return nil
	}
	return e.dest.Shutdown(ctx)
}

// delivery describes one batch for its audit entry.
type delivery struct {
	signal   string
	records  int64
	bytes    int64
	services string
	tenant   string
}

func (e *deliveryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	rss := td.ResourceSpans()
	d := delivery{signal: "traces", records: int64(td.SpanCount()), bytes: int64(tracesSizer.TracesSize(td))}
	e.describe(ctx, &d, rss.Len(), func(i int) pcommon.Resource { return rss.At(i).Resource() })
	start := time.Now()
	err := e.traces.ConsumeTraces(ctx, td)
	return e.record(ctx, &d, start, err)
}

func (e *deliveryExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	d := delivery{signal: "metrics", records: int64(md.DataPointCount()), bytes: int64(metricsSizer.MetricsSize(md))}
	e.describe(ctx, &d, rms.Len(), func(i int) pcommon.Resource { return rms.At(i).Resource() })
	start := time.Now()
	err := e.metrics.ConsumeMetrics(ctx, md)
	return e.record(ctx, &d, start, err)
}

func (e *deliveryExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	rls := ld.ResourceLogs()
	d := delivery{signal: "logs", records: int64(ld.LogRecordCount()), bytes: int64(logsSizer.LogsSize(ld))}
	e.describe(ctx, &d, rls.Len(), func(i int) pcommon.Resource { return rls.At(i).Resource() })
	start := time.Now()
	err := e.logs.ConsumeLogs(ctx, ld)
	return e.record(ctx, &d, start, err)
}

var (
	tracesSizer  ptrace.ProtoMarshaler
	metricsSizer pmetric.ProtoMarshaler
	logsSizer    plog.ProtoMarshaler
)

// describe fills the services and tenant of d from the batch's n resources and ctx.
func (e *deliveryExporter) describe(ctx context.Context, d *delivery, n int, resource func(int) pcommon.Resource) {
	if e.tenantKey != "" {
		for _, v := range client.FromContext(ctx).Metadata.Get(e.tenantKey) {
			if v != "" {
				d.tenant = v
				break
			}
		}
	}
	services := make([]string, 0, n)
	for i := range n {
		attrs := resource(i).Attributes()
		if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			services = append(services, v.Str())
		}
		if d.tenant == "" && e.tenantRes != "" {
			if v, ok := attrs.Get(e.tenantRes); ok {
				d.tenant = v.AsString()
			}
		}
	}
	d.services = joinServices(services)
}

// joinServices returns the sorted distinct services, comma-joined, at most maxServices of
// them followed by ",+N more".
func joinServices(services []string) string {
	slices.Sort(services)
	services = slices.Compact(services)
	if len(services) <= maxServices {
		return strings.Join(services, ",")
	}
	return strings.Join(services[:maxServices], ",") + ",+" + strconv.Itoa(len(services)-maxServices) + " more"
}

// record records the attempt that started at start and ended with deliveryErr. The delivery's
// error is returned as is; an entry that cannot be recorded makes the whole attempt a
// retryable failure, because an unaudited delivery must not count as done.
func (e *deliveryExporter) record(ctx context.Context, d *delivery, start time.Time, deliveryErr error) error {
	elapsed := time.Since(start)
	attrs := make(map[string]string, 5)
	attrs["signal"] = d.signal
	attrs["services"] = d.services
	attrs["duration_ms"] = strconv.FormatFloat(float64(elapsed)/float64(time.Millisecond), 'f', 3, 64)
	if d.tenant != "" {
		attrs["tenant"] = d.tenant
	}
	ev := audit.Event{
		Time:               start,
		Actor:              audit.Actor{Type: audit.ActorService, ID: e.id.String()},
		Action:             actionExport,
		Resource:           audit.Resource{Type: resourceTypeDestination, ID: e.destID.String(), Name: e.destType},
		Outcome:            audit.OutcomeSuccess,
		Counts:             map[string]int64{"records": d.records, "bytes": d.bytes},
		Attributes:         attrs,
		DataClassification: audit.ClassInternal,
	}
	outcome := e.succeeded
	if deliveryErr != nil {
		ev.Outcome = audit.OutcomeFailure
		ev.Error = deliveryErr.Error()
		attrs["permanent"] = strconv.FormatBool(consumererror.IsPermanent(deliveryErr))
		outcome = e.failed
	}
	e.telemetry.ExporterAuditDeliveries.Add(ctx, 1, outcome)

	recordCtx, cancel := e.recordContext(ctx)
	recordErr := e.recorder.Record(recordCtx, ev)
	cancel()
	if recordErr == nil {
		return deliveryErr
	}
	e.telemetry.ExporterAuditRecordFailures.Add(ctx, 1)
	// The ledger's verdict on its own state says nothing about this batch: retry it.
	recordErr = retryable(recordErr)
	if deliveryErr != nil {
		return fmt.Errorf("audit: recording the failed delivery to %s in ledger %s: %w (delivery error: %s)", e.destID, e.ledgerID, recordErr, deliveryErr)
	}
	return fmt.Errorf("audit: delivered to %s but recording the delivery in ledger %s failed, so the batch is retried: %w", e.destID, e.ledgerID, recordErr)
}

// recordContext keeps ctx's values (client metadata, trace) but not its deadline, which the
// delivery may have used up, and gives recording a deadline of its own.
func (e *deliveryExporter) recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	if e.recordTimeout > 0 {
		return context.WithTimeout(ctx, e.recordTimeout)
	}
	return ctx, func() {}
}
