package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

type notALedger struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestFromHost(t *testing.T) {
	ledgerID := component.MustNewID("audit_ledger")
	otherID := component.MustNewID("health_check")
	missingID := component.MustNewIDWithName("audit_ledger", "missing")
	l := &audittest.Ledger{}
	h := audittest.Host{ledgerID: l, otherID: notALedger{}}

	r, err := audit.FromHost(h, nil)
	require.NoError(t, err)
	assert.True(t, audit.IsNop(r))

	r, err = audit.FromHost(h, &ledgerID)
	require.NoError(t, err)
	assert.False(t, audit.IsNop(r))
	require.NoError(t, r.Record(context.Background(), audit.Event{Action: "x"}))
	assert.Len(t, l.Events(), 1)

	_, err = audit.FromHost(h, &missingID)
	require.ErrorIs(t, err, audit.ErrLedgerNotFound)
	assert.Contains(t, err.Error(), "audit_ledger/missing")

	_, err = audit.FromHost(h, &otherID)
	require.ErrorIs(t, err, audit.ErrNotALedger)
}

func TestValidate(t *testing.T) {
	ok := audit.Event{
		Actor:    audit.Actor{Type: audit.ActorUser, ID: "u1"},
		Action:   "login.success",
		Resource: audit.Resource{Type: "session"},
		Outcome:  audit.OutcomeSuccess,
	}
	require.NoError(t, ok.Validate())

	err := (&audit.Event{Actor: audit.Actor{Type: "robot"}, Outcome: "maybe", DataClassification: "secret"}).Validate()
	require.Error(t, err)
	for _, want := range []string{"actor id", "unknown actor type \"robot\"", "action is required", "resource type", "unknown outcome \"maybe\"", "classification \"secret\""} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestValidateClasses checks that each problem is reported with its own message and matches its
// class with errors.Is, and that an event with several problems reports them all.
func TestValidateClasses(t *testing.T) {
	valid := func() audit.Event {
		return audit.Event{
			RecordID: "r-1",
			Actor:    audit.Actor{Type: audit.ActorUser, ID: "u1", IP: "2001:db8::1"},
			Action:   "login.success",
			Resource: audit.Resource{Type: "session"},
			Outcome:  audit.OutcomeSuccess,

			ComplianceTags: []string{"sox", strings.Repeat("t", 50)},
		}
	}
	classes := []error{
		audit.ErrMissingActor, audit.ErrInvalidActorType, audit.ErrMissingAction, audit.ErrMissingResource,
		audit.ErrInvalidOutcome, audit.ErrInvalidClassification, audit.ErrInvalidActorIP,
		audit.ErrInvalidComplianceTag, audit.ErrTooLong,
	}
	tests := []struct {
		name  string
		edit  func(*audit.Event)
		class error
		msg   string
	}{
		{"no actor id", func(e *audit.Event) { e.Actor.ID = "" }, audit.ErrMissingActor, "actor id is required"},
		{"no actor type", func(e *audit.Event) { e.Actor.Type = "" }, audit.ErrMissingActor, "actor type is required"},
		{"unknown actor type", func(e *audit.Event) { e.Actor.Type = "robot" }, audit.ErrInvalidActorType, `unknown actor type "robot"`},
		{"no action", func(e *audit.Event) { e.Action = "" }, audit.ErrMissingAction, "action is required"},
		{"no resource type", func(e *audit.Event) { e.Resource.Type = "" }, audit.ErrMissingResource, "resource type is required"},
		{"unknown outcome", func(e *audit.Event) { e.Outcome = "" }, audit.ErrInvalidOutcome, `unknown outcome ""`},
		{"unknown classification", func(e *audit.Event) { e.DataClassification = "secret" }, audit.ErrInvalidClassification, `classification "secret"`},
		{"not an IP", func(e *audit.Event) { e.Actor.IP = "10.0.0.256" }, audit.ErrInvalidActorIP, `actor ip "10.0.0.256" is not an IP address`},
		{"IP with a zone", func(e *audit.Event) { e.Actor.IP = "fe80::1%eth0" }, audit.ErrInvalidActorIP, "is not an IP address"},
		{"empty tag", func(e *audit.Event) { e.ComplianceTags = []string{""} }, audit.ErrInvalidComplianceTag, `compliance tag "" must be 1 to 50 bytes`},
		{"long tag", func(e *audit.Event) { e.ComplianceTags = []string{strings.Repeat("t", 51)} }, audit.ErrInvalidComplianceTag, "must be 1 to 50 bytes"},
		{"long actor id", func(e *audit.Event) { e.Actor.ID = strings.Repeat("a", 256) }, audit.ErrTooLong, "actor id longer than 255 bytes"},
		{"long action", func(e *audit.Event) { e.Action = strings.Repeat("a", 101) }, audit.ErrTooLong, "action longer than 100 bytes"},
		{"long resource type", func(e *audit.Event) { e.Resource.Type = strings.Repeat("r", 51) }, audit.ErrTooLong, "resource type longer than 50 bytes"},
		{"long team id", func(e *audit.Event) { e.TeamID = strings.Repeat("t", 65) }, audit.ErrTooLong, "team id longer than 64 bytes"},
		{"long record id", func(e *audit.Event) { e.RecordID = strings.Repeat("r", audit.MaxRecordIDLen+1) }, audit.ErrTooLong, "record id longer than 128 bytes"},
	}
	ok := valid()
	require.NoError(t, ok.Validate(), "limits are inclusive")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := valid()
			tt.edit(&ev)
			err := ev.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			for _, class := range classes {
				assert.Equal(t, class == tt.class, errors.Is(err, class), "errors.Is(%v)", class)
			}
		})
	}

	t.Run("every problem", func(t *testing.T) {
		ev := audit.Event{
			RecordID:           strings.Repeat("r", audit.MaxRecordIDLen+1),
			Actor:              audit.Actor{Type: "robot", IP: "host"},
			Outcome:            "maybe",
			DataClassification: "secret",
			TeamID:             strings.Repeat("t", 65),
			ComplianceTags:     []string{"sox", ""},
		}
		err := ev.Validate()
		require.Error(t, err)
		for _, class := range classes {
			assert.ErrorIs(t, err, class)
		}
		assert.Equal(t, strings.Join([]string{
			"actor id is required",
			`unknown actor type "robot" (want user, service, ai_agent or system)`,
			"action is required",
			"resource type is required",
			`unknown outcome "maybe" (want success, failure or denied)`,
			`unknown data classification "secret" (want public, internal, confidential or restricted)`,
			`actor ip "host" is not an IP address`,
			"team id longer than 64 bytes",
			"record id longer than 128 bytes",
			`compliance tag "" must be 1 to 50 bytes`,
		}, "\n"), err.Error())
	})
}

func TestNopRecords(t *testing.T) {
	require.NoError(t, audit.Nop.Record(context.Background(), audit.Event{}))
	assert.True(t, audit.IsNop(nil))
}

type singleRecorder struct{ n int }

func (s *singleRecorder) Record(context.Context, audit.Event) error { s.n++; return nil }

func TestRecordAll(t *testing.T) {
	evs := []audit.Event{{Action: "a"}, {Action: "b"}}
	l := &audittest.Ledger{}
	require.NoError(t, audit.RecordAll(context.Background(), l, evs))
	assert.Len(t, l.Events(), 2)

	s := &singleRecorder{}
	require.NoError(t, audit.RecordAll(context.Background(), s, evs))
	assert.Equal(t, 2, s.n)
}
