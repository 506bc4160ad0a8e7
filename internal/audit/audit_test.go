package audit_test

import (
	"context"
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
