package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
)

// Log record attributes that carry an audit event in records mode.
const (
	attrRecordID       = "audit.record.id"
	attrActorType      = "audit.actor.type"
	attrActorID        = "audit.actor.id"
	attrActorEmail     = "audit.actor.email"
	attrActorIP        = "audit.actor.ip"
	attrActorUserAgent = "audit.actor.user_agent"
	attrAction         = "audit.action"
	attrResourceType   = "audit.resource.type"
	attrResourceID     = "audit.resource.id"
	attrResourceName   = "audit.resource.name"
	attrTargetType     = "audit.target.type"
	attrTargetID       = "audit.target.id"
	attrTargetName     = "audit.target.name"
	attrRequestID      = "audit.request.id"
	attrSessionID      = "audit.session.id"
	attrTeamID         = "audit.team.id"
	attrOutcome        = "audit.outcome"
	attrErrorMessage   = "audit.error.message"
	attrClassification = "audit.data_classification"
	attrComplianceTags = "audit.compliance_tags"
	attrDetails        = "audit.details"
	attrPreviousState  = "audit.previous_state"
	attrNewState       = "audit.new_state"
)

// Reasons a log record is rejected, the values of the `reason` metric attribute.
const (
	reasonMissingActor          = "missing_actor"
	reasonInvalidActorType      = "invalid_actor_type"
	reasonMissingAction         = "missing_action"
	reasonMissingResource       = "missing_resource"
	reasonInvalidOutcome        = "invalid_outcome"
	reasonInvalidClassification = "invalid_classification"
	reasonWrongType             = "wrong_type"
	reasonInvalid               = "invalid"
)

var rejectionReasons = []string{
	reasonMissingActor, reasonInvalidActorType, reasonMissingAction, reasonMissingResource,
	reasonInvalidOutcome, reasonInvalidClassification, reasonWrongType, reasonInvalid,
}

// rejection is why one log record is not an audit event.
type rejection struct {
	reason string
	detail string
}

// recordsExporter turns log records that carry audit events into ledger entries.
type recordsExporter struct {
	id        component.ID
	ledgerID  component.ID
	telemetry *metadata.TelemetryBuilder
	recorder  audit.Recorder
	logger    *zap.Logger
	// reasonAttrs are the prebuilt metric attributes of each rejection reason.
	reasonAttrs map[string]metric.AddOption
}

func newRecordsExporter(set exporter.Settings, cfg *Config) (*recordsExporter, error) {
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	reasonAttrs := make(map[string]metric.AddOption, len(rejectionReasons))
	for _, r := range rejectionReasons {
		reasonAttrs[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return &recordsExporter{id: set.ID, ledgerID: cfg.Ledger, telemetry: telemetry, logger: set.Logger, reasonAttrs: reasonAttrs}, nil
}

func (e *recordsExporter) start(_ context.Context, host component.Host) error {
	r, err := audit.FromHost(host, &e.ledgerID)
	if err != nil {
		return fmt.Errorf("audit exporter %s: %w", e.id, err)
	}
	e.recorder = r
	return nil
}

func (e *recordsExporter) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
}

// pushLogs records every valid audit event of ld in one call. Invalid records are counted by
// reason. A batch with no valid record is a permanent error (resending it cannot make it
// valid); in a batch with some, the valid ones are recorded and the rejected ones are logged
// and counted here, and the batch succeeds: a permanent error would have the exporter helper
// report every record of it dropped, the recorded ones too.
func (e *recordsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	total := ld.LogRecordCount()
	evs := make([]audit.Event, 0, total)
	rejected := make(map[string]int64)
	var first string
	index := 0
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				ev, rej := eventFromLogRecord(lrs.At(k))
				if rej != nil {
					rejected[rej.reason]++
					if first == "" {
						first = fmt.Sprintf("log record %d: %s: %s", index, rej.reason, rej.detail)
					}
				} else {
					evs = append(evs, ev)
				}
				index++
			}
		}
	}
	var nRejected int64
	for reason, n := range rejected {
		e.telemetry.ExporterAuditRecordsRejected.Add(ctx, n, e.reasonAttrs[reason])
		nRejected += n
	}

	if err := audit.RecordAll(ctx, e.recorder, evs); err != nil {
		e.telemetry.ExporterAuditRecordFailures.Add(ctx, int64(len(evs)))
		return fmt.Errorf("audit: recording %d audit events in ledger %s: %w", len(evs), e.ledgerID, retryable(err))
	}
	e.telemetry.ExporterAuditRecordsRecorded.Add(ctx, int64(len(evs)))
	switch {
	case nRejected > 0 && len(evs) == 0:
		return consumererror.NewPermanent(fmt.Errorf("audit: no log record of the batch is an audit event (%d rejected); first: %s", nRejected, first))
	case nRejected > 0:
		e.logger.Warn("Rejected log records as audit events; the others were recorded",
			zap.Int64("rejected", nRejected), zap.Int("recorded", len(evs)), zap.Int("records", total), zap.String("first", first))
	}
	return nil
}

// eventFromLogRecord maps the audit.* attributes of lr to an event. A required attribute of
// the wrong type counts as missing; an optional one of the wrong type rejects the record,
// since silently dropping part of an audit event would misreport it.
func eventFromLogRecord(lr plog.LogRecord) (audit.Event, *rejection) {
	r := attrReader{attrs: lr.Attributes()}
	ev := audit.Event{
		RecordID: r.str(attrRecordID),
		Actor: audit.Actor{
			Type:      audit.ActorType(r.required(attrActorType)),
			ID:        r.required(attrActorID),
			Email:     r.str(attrActorEmail),
			IP:        r.str(attrActorIP),
			UserAgent: r.str(attrActorUserAgent),
		},
		Action: r.required(attrAction),
		Resource: audit.Resource{
			Type: r.either(attrResourceType, attrTargetType, true),
			ID:   r.either(attrResourceID, attrTargetID, false),
			Name: r.either(attrResourceName, attrTargetName, false),
		},
		RequestID:          r.str(attrRequestID),
		SessionID:          r.str(attrSessionID),
		TeamID:             r.str(attrTeamID),
		Outcome:            audit.Outcome(r.str(attrOutcome)),
		Error:              r.str(attrErrorMessage),
		DataClassification: audit.Classification(r.str(attrClassification)),
		ComplianceTags:     r.tags(attrComplianceTags),
		Details:            r.doc(attrDetails),
		PreviousState:      r.doc(attrPreviousState),
		NewState:           r.doc(attrNewState),
	}
	if ev.Outcome == "" {
		ev.Outcome = audit.OutcomeSuccess
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts != 0 {
		ev.Time = ts.AsTime()
	}
	if body := lr.Body(); body.Type() == pcommon.ValueTypeStr && body.Str() != "" {
		if ev.Details == nil {
			ev.Details = make(map[string]any, 1)
		}
		if _, ok := ev.Details["message"]; !ok {
			ev.Details["message"] = body.Str()
		}
	}

	verr := ev.Validate()
	if verr == nil && len(r.wrongTypes) == 0 {
		return ev, nil
	}
	var problems []string
	if verr != nil {
		problems = strings.Split(verr.Error(), "\n")
	}
	problems = append(problems, r.wrongTypes...)
	return ev, &rejection{reason: rejectionReason(verr, len(r.wrongTypes) > 0), detail: strings.Join(problems, "; ")}
}

// reasonOf maps the classes of audit.Event.Validate's errors to rejection reasons, in the
// order in which they name a record's rejection when it has several problems.
var reasonOf = []struct {
	class  error
	reason string
}{
	{audit.ErrMissingActor, reasonMissingActor},
	{audit.ErrInvalidActorType, reasonInvalidActorType},
	{audit.ErrMissingAction, reasonMissingAction},
	{audit.ErrMissingResource, reasonMissingResource},
	{audit.ErrInvalidOutcome, reasonInvalidOutcome},
	{audit.ErrInvalidClassification, reasonInvalidClassification},
}

// rejectionReason is the reason of a record whose event failed validation with verr, or whose
// optional attributes had the wrong type.
func rejectionReason(verr error, wrongTypes bool) string {
	for _, r := range reasonOf {
		if errors.Is(verr, r.class) {
			return r.reason
		}
	}
	if wrongTypes {
		return reasonWrongType
	}
	return reasonInvalid
}

// attrReader reads typed audit attributes, noting the optional ones of the wrong type.
type attrReader struct {
	attrs      pcommon.Map
	wrongTypes []string
}

func (r *attrReader) has(key string) bool {
	_, ok := r.attrs.Get(key)
	return ok
}

// required returns a string attribute; one of another type reads as missing.
func (r *attrReader) required(key string) string {
	if v, ok := r.attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// str returns an optional string attribute.
func (r *attrReader) str(key string) string {
	v, ok := r.attrs.Get(key)
	if !ok {
		return ""
	}
	if v.Type() != pcommon.ValueTypeStr {
		r.wrongType(key, v, "Str")
		return ""
	}
	return v.Str()
}

// either returns the string attribute primary, else fallback.
func (r *attrReader) either(primary, fallback string, required bool) string {
	read := r.str
	if required {
		read = r.required
	}
	if r.has(primary) {
		return read(primary)
	}
	return read(fallback)
}

// tags returns a slice of strings, or a comma-separated string split and trimmed.
func (r *attrReader) tags(key string) []string {
	v, ok := r.attrs.Get(key)
	if !ok {
		return nil
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		var out []string
		for _, t := range strings.Split(v.Str(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
		return out
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]string, 0, s.Len())
		for i := range s.Len() {
			el := s.At(i)
			if el.Type() != pcommon.ValueTypeStr {
				r.wrongType(fmt.Sprintf("%s[%d]", key, i), el, "Str")
				return nil
			}
			out = append(out, el.Str())
		}
		return out
	default:
		r.wrongType(key, v, "Slice of Str or a comma-separated Str")
		return nil
	}
}

// doc returns a map attribute as a JSON-serialisable document.
func (r *attrReader) doc(key string) map[string]any {
	v, ok := r.attrs.Get(key)
	if !ok {
		return nil
	}
	if v.Type() != pcommon.ValueTypeMap {
		r.wrongType(key, v, "Map")
		return nil
	}
	return v.Map().AsRaw()
}

func (r *attrReader) wrongType(key string, v pcommon.Value, want string) {
	r.wrongTypes = append(r.wrongTypes, fmt.Sprintf("%s has type %s, want %s", key, v.Type(), want))
}
