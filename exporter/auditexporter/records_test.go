package auditexporter

import (
	"context"
	"errors"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelwarden/warden/exporter/auditexporter/internal/metadatatest"
	"github.com/otelwarden/warden/extension/auditledgerextension"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

var (
	eventTime    = time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	observedTime = time.Date(2026, 3, 4, 5, 6, 9, 0, time.UTC)
)

// minimal is the least a log record needs to be an audit event.
func minimal() map[string]any {
	return map[string]any{
		"audit.actor.type":    "user",
		"audit.actor.id":      "u-1842",
		"audit.action":        "user.login",
		"audit.resource.type": "session",
	}
}

func with(attrs map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(attrs, kv[i].(string))
			continue
		}
		attrs[kv[i].(string)] = kv[i+1]
	}
	return attrs
}

// logRecord builds a log record with attrs, a timestamp unless ts is zero, and body if set.
func logRecord(t testing.TB, lr plog.LogRecord, attrs map[string]any, ts time.Time, body string) {
	require.NoError(t, lr.Attributes().FromRaw(attrs))
	if !ts.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedTime))
	if body != "" {
		lr.Body().SetStr(body)
	}
}

func TestEventFromLogRecord(t *testing.T) {
	tests := []struct {
		name   string
		attrs  map[string]any
		noTime bool
		body   string
		// want is the whole event, for valid records.
		want *audit.Event
		// wantReason and wantDetail describe the rejection, for invalid ones.
		wantReason string
		wantDetail string
	}{
		{
			name: "every field",
			attrs: map[string]any{
				"audit.record.id":           "rec-7",
				"audit.actor.type":          "service",
				"audit.actor.id":            "billing-worker",
				"audit.actor.email":         "ops@example.com",
				"audit.actor.ip":            "10.0.4.7",
				"audit.actor.user_agent":    "curl/8.5",
				"audit.action":              "invoice.void",
				"audit.resource.type":       "invoice",
				"audit.resource.id":         "inv-991",
				"audit.resource.name":       "March invoice",
				"audit.request.id":          "req-1",
				"audit.session.id":          "sess-2",
				"audit.team.id":             "team-3",
				"audit.outcome":             "denied",
				"audit.error.message":       "not allowed",
				"audit.data_classification": "confidential",
				"audit.compliance_tags":     []any{"sox", "gdpr"},
				"audit.details":             map[string]any{"reason": "policy", "attempt": int64(2)},
				"audit.previous_state":      map[string]any{"status": "open"},
				"audit.new_state":           map[string]any{"status": "open"},
				"unrelated":                 "ignored",
			},
			body: "void refused",
			want: &audit.Event{
				RecordID:           "rec-7",
				Time:               eventTime,
				Actor:              audit.Actor{Type: audit.ActorService, ID: "billing-worker", Email: "ops@example.com", IP: "10.0.4.7", UserAgent: "curl/8.5"},
				Action:             "invoice.void",
				Resource:           audit.Resource{Type: "invoice", ID: "inv-991", Name: "March invoice"},
				RequestID:          "req-1",
				SessionID:          "sess-2",
				TeamID:             "team-3",
				Outcome:            audit.OutcomeDenied,
				Error:              "not allowed",
				DataClassification: audit.ClassConfidential,
				ComplianceTags:     []string{"sox", "gdpr"},
				Details:            map[string]any{"reason": "policy", "attempt": int64(2), "message": "void refused"},
				PreviousState:      map[string]any{"status": "open"},
				NewState:           map[string]any{"status": "open"},
			},
		},
		{
			name: "target attributes and defaults",
			attrs: with(minimal(), "audit.resource.type", nil,
				"audit.target.type", "document", "audit.target.id", "doc-1", "audit.target.name", "Q1 plan",
				"audit.compliance_tags", " hipaa, ,soc2 "),
			noTime: true,
			want: &audit.Event{
				Time:           observedTime,
				Actor:          audit.Actor{Type: audit.ActorUser, ID: "u-1842"},
				Action:         "user.login",
				Resource:       audit.Resource{Type: "document", ID: "doc-1", Name: "Q1 plan"},
				Outcome:        audit.OutcomeSuccess,
				ComplianceTags: []string{"hipaa", "soc2"},
			},
		},
		{
			name:       "missing actor id",
			attrs:      with(minimal(), "audit.actor.id", nil),
			wantReason: reasonMissingActor,
			wantDetail: "actor id is required",
		},
		{
			name:       "actor id of the wrong type reads as missing",
			attrs:      with(minimal(), "audit.actor.id", int64(1842)),
			wantReason: reasonMissingActor,
		},
		{
			name:       "missing actor type",
			attrs:      with(minimal(), "audit.actor.type", nil),
			wantReason: reasonMissingActor,
		},
		{
			name:       "unknown actor type",
			attrs:      with(minimal(), "audit.actor.type", "robot"),
			wantReason: reasonInvalidActorType,
			wantDetail: `unknown actor type "robot"`,
		},
		{
			name:       "missing action",
			attrs:      with(minimal(), "audit.action", nil),
			wantReason: reasonMissingAction,
			wantDetail: "action is required",
		},
		{
			name:       "action of the wrong type reads as missing",
			attrs:      with(minimal(), "audit.action", map[string]any{"name": "login"}),
			wantReason: reasonMissingAction,
		},
		{
			name:       "missing resource",
			attrs:      with(minimal(), "audit.resource.type", nil),
			wantReason: reasonMissingResource,
		},
		{
			name:       "unknown outcome",
			attrs:      with(minimal(), "audit.outcome", "maybe"),
			wantReason: reasonInvalidOutcome,
			wantDetail: `unknown outcome "maybe"`,
		},
		{
			name:       "unknown classification",
			attrs:      with(minimal(), "audit.data_classification", "secret"),
			wantReason: reasonInvalidClassification,
		},
		{
			name:       "details not a map",
			attrs:      with(minimal(), "audit.details", "free text"),
			wantReason: reasonWrongType,
			wantDetail: "audit.details has type Str, want Map",
		},
		{
			name:       "outcome not a string",
			attrs:      with(minimal(), "audit.outcome", true),
			wantReason: reasonWrongType,
			wantDetail: "audit.outcome has type Bool",
		},
		{
			name:       "compliance tag not a string",
			attrs:      with(minimal(), "audit.compliance_tags", []any{"sox", int64(7)}),
			wantReason: reasonWrongType,
			wantDetail: "audit.compliance_tags[1] has type Int",
		},
		{
			name:       "compliance tags a number",
			attrs:      with(minimal(), "audit.compliance_tags", 3.5),
			wantReason: reasonWrongType,
		},
		{
			name:       "several wrong types are all named",
			attrs:      with(minimal(), "audit.actor.email", int64(1), "audit.new_state", []any{"x"}),
			wantReason: reasonWrongType,
			wantDetail: "audit.actor.email has type Int, want Str; audit.new_state has type Slice, want Map",
		},
		{
			name:       "nothing at all: every problem is named",
			attrs:      map[string]any{},
			wantReason: reasonMissingActor,
			wantDetail: "actor id is required; actor type is required; action is required; resource type is required",
		},
		{
			name:       "the first problem gives the reason, the detail names them all",
			attrs:      with(minimal(), "audit.action", nil, "audit.outcome", "maybe", "audit.details", "text"),
			wantReason: reasonMissingAction,
			wantDetail: `action is required; unknown outcome "maybe" (want success, failure or denied); audit.details has type Str, want Map`,
		},
		{
			name:       "not an IP address",
			attrs:      with(minimal(), "audit.actor.ip", "10.0.0.300"),
			wantReason: reasonInvalid,
			wantDetail: `actor ip "10.0.0.300" is not an IP address`,
		},
		{
			name:       "longer than its column",
			attrs:      with(minimal(), "audit.resource.type", strings.Repeat("r", 51), "audit.record.id", strings.Repeat("i", 129)),
			wantReason: reasonInvalid,
			wantDetail: "resource type longer than 50 bytes; record id longer than 128 bytes",
		},
		{
			name:       "empty compliance tag",
			attrs:      with(minimal(), "audit.compliance_tags", []any{"sox", ""}),
			wantReason: reasonInvalid,
			wantDetail: `compliance tag "" must be 1 to 50 bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			ts := eventTime
			if tt.noTime {
				ts = time.Time{}
			}
			logRecord(t, lr, tt.attrs, ts, tt.body)

			var ev audit.Event
			var rej *rejection
			require.NotPanics(t, func() { ev, rej = eventFromLogRecord(lr) })
			if tt.want != nil {
				require.Nil(t, rej)
				assert.Equal(t, *tt.want, ev)
				require.NoError(t, ev.Validate())
				return
			}
			require.NotNil(t, rej)
			assert.Equal(t, tt.wantReason, rej.reason)
			assert.Contains(t, rej.detail, tt.wantDetail)
		})
	}
}

// recordsExporterWith starts a records-mode logs exporter on ledger.
func recordsExporterWith(t *testing.T, ledger *audittest.Ledger) (func(plog.Logs) error, *componenttest.Telemetry) {
	t.Helper()
	cfg := newTestConfig(t, synchronous(map[string]any{"mode": "records"}))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateLogs(t.Context(), testSettings(tt), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return func(ld plog.Logs) error { return exp.ConsumeLogs(t.Context(), ld) }, tt
}

// auditLogs spreads records over two resources.
func auditLogs(t testing.TB, records ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	for i, attrs := range records {
		if i == 0 || i == len(records)/2 {
			ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		}
		rl := ld.ResourceLogs().At(ld.ResourceLogs().Len() - 1)
		logRecord(t, rl.ScopeLogs().At(0).LogRecords().AppendEmpty(), attrs, eventTime, "")
	}
	return ld
}

func TestRecordsModeValidBatch(t *testing.T) {
	ledger := &audittest.Ledger{}
	consume, tt := recordsExporterWith(t, ledger)
	require.NoError(t, consume(auditLogs(t,
		with(minimal(), "audit.record.id", "a"),
		with(minimal(), "audit.record.id", "b", "audit.outcome", "failure", "audit.error.message", "bad password"),
	)))

	evs := ledger.Events()
	require.Len(t, evs, 2)
	assert.Equal(t, "a", evs[0].RecordID)
	assert.Equal(t, "b", evs[1].RecordID)
	assert.Equal(t, audit.OutcomeFailure, evs[1].Outcome)
	assert.Equal(t, "bad password", evs[1].Error)
	metadatatest.AssertEqualExporterAuditRecordsRecorded(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreVolatile...)
}

func TestRecordsModeMixedBatch(t *testing.T) {
	ledger := &audittest.Ledger{}
	cfg := newTestConfig(t, synchronous(map[string]any{"mode": "records"}))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zap.WarnLevel)
	set := testSettings(tt)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(t.Context(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: ledger}))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	err = exp.ConsumeLogs(t.Context(), auditLogs(t,
		with(minimal(), "audit.record.id", "ok-1"),
		with(minimal(), "audit.action", nil),
		with(minimal(), "audit.record.id", "ok-2"),
		with(minimal(), "audit.actor.id", nil),
		with(minimal(), "audit.actor.id", false),
		with(minimal(), "audit.record.id", "ok-3"),
	))
	require.NoError(t, err, "the batch succeeds: its valid records are recorded, and an error would have every record reported dropped")
	warned := logs.FilterMessageSnippet("Rejected log records as audit events").All()
	require.Len(t, warned, 1)
	fields := warned[0].ContextMap()
	assert.EqualValues(t, 3, fields["rejected"])
	assert.EqualValues(t, 3, fields["recorded"])
	assert.EqualValues(t, 6, fields["records"])
	assert.Equal(t, "log record 1: missing_action: action is required", fields["first"])

	evs := ledger.Events()
	require.Len(t, evs, 3, "the valid records are recorded all the same")
	for i, id := range []string{"ok-1", "ok-2", "ok-3"} {
		assert.Equal(t, id, evs[i].RecordID)
	}
	metadatatest.AssertEqualExporterAuditRecordsRecorded(t, tt, []metricdata.DataPoint[int64]{{Value: 3}}, ignoreVolatile...)
	metadatatest.AssertEqualExporterAuditRecordsRejected(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", reasonMissingAction))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", reasonMissingActor))},
	}, ignoreVolatile...)
}

func TestRecordsModeAllInvalid(t *testing.T) {
	ledger := &audittest.Ledger{}
	consume, _ := recordsExporterWith(t, ledger)
	err := consume(auditLogs(t, map[string]any{"message": "not an audit record"}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "no log record of the batch is an audit event (1 rejected)")
	assert.Empty(t, ledger.Events())
}

func TestRecordsModeLedgerFailureIsRetryable(t *testing.T) {
	ledger := &audittest.Ledger{Err: errors.New("disk full")}
	consume, tt := recordsExporterWith(t, ledger)
	err := consume(auditLogs(t, minimal(), minimal(), with(minimal(), "audit.action", nil)))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "unrecorded events must be retried: %v", err)
	assert.ErrorContains(t, err, "recording 2 audit events in ledger audit_ledger: disk full")
	metadatatest.AssertEqualExporterAuditRecordFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignoreVolatile...)

	ledger.SetErr(consumererror.NewPermanent(auditledgerextension.ErrBacklogFull))
	err = consume(auditLogs(t, minimal()))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "the ledger's state says nothing about these events: retry them")
	assert.ErrorIs(t, err, auditledgerextension.ErrBacklogFull)
}

func TestRecordsModeTakesOnlyLogs(t *testing.T) {
	cfg := newTestConfig(t, synchronous(map[string]any{"mode": "records"}))
	set := testSettings(componenttest.NewTelemetry())
	_, err := NewFactory().CreateTraces(t.Context(), set, cfg)
	assert.ErrorContains(t, err, "records mode takes logs, not traces")
	_, err = NewFactory().CreateMetrics(t.Context(), set, cfg)
	assert.ErrorContains(t, err, "records mode takes logs, not metrics")
}

func FuzzEventFromLogRecord(f *testing.F) {
	f.Add("user", "u-1", "login", "session", "success", "sox,gdpr", int64(0))
	f.Add("", "", "", "", "maybe", "", int64(3))
	f.Fuzz(func(t *testing.T, actorType, actorID, action, resType, outcome, tags string, shape int64) {
		lr := plog.NewLogRecord()
		attrs := lr.Attributes()
		attrs.PutStr("audit.actor.type", actorType)
		attrs.PutStr("audit.actor.id", actorID)
		attrs.PutStr("audit.outcome", outcome)
		attrs.PutStr("audit.compliance_tags", tags)
		// shape puts values of the wrong type under the keys the mapping reads.
		switch shape % 4 {
		case 0:
			attrs.PutStr("audit.action", action)
			attrs.PutStr("audit.resource.type", resType)
		case 1:
			attrs.PutInt("audit.action", shape)
			attrs.PutEmptyMap("audit.details").PutStr(action, resType)
		case 2:
			attrs.PutEmptySlice("audit.compliance_tags").AppendEmpty().SetInt(shape)
			attrs.PutEmptyBytes("audit.target.type").FromRaw([]byte(resType))
		default:
			attrs.PutDouble("audit.new_state", float64(shape))
			lr.Body().SetEmptyMap().PutStr("k", action)
		}
		ev, rej := eventFromLogRecord(lr)
		if rej == nil {
			require.NoError(t, ev.Validate(), "an accepted record is a valid event")
		} else {
			require.Contains(t, rejectionReasons, rej.reason)
		}
	})
}
