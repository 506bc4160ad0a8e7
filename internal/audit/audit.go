// Package audit is the API through which Warden's components record audit events into the
// collector's ledger (the audit_ledger extension). A component holds a Recorder, looked up at
// Start by the component ID in its `ledger:` setting; with no ledger configured it holds Nop,
// and recording costs nothing.
package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// ActorType is who performed an action.
type ActorType string

const (
	ActorUser    ActorType = "user"
	ActorService ActorType = "service"
	ActorAIAgent ActorType = "ai_agent"
	ActorSystem  ActorType = "system"
)

// Outcome is how an action ended.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeDenied  Outcome = "denied"
)

// Classification is the sensitivity of the data an event is about.
type Classification string

const (
	ClassPublic       Classification = "public"
	ClassInternal     Classification = "internal"
	ClassConfidential Classification = "confidential"
	ClassRestricted   Classification = "restricted"
)

// Actor is who acted.
type Actor struct {
	Type      ActorType
	ID        string
	Email     string
	IP        string
	UserAgent string
}

// Resource is what was acted on.
type Resource struct {
	Type string
	ID   string
	Name string
}

// Event is one audit event: the columns of the security design's audit_log table, plus
// counts and attributes for the summaries that pipeline components record. It never carries
// the telemetry values a component protected, only what was done to them.
type Event struct {
	// RecordID identifies the event across retries: recording the same RecordID twice stores
	// it once. The ledger assigns a random one when it is empty.
	RecordID string
	// Time is when the action happened; the ledger uses its own clock when it is zero.
	Time     time.Time
	Actor    Actor
	Action   string
	Resource Resource

	RequestID string
	SessionID string
	TeamID    string

	Outcome Outcome
	// Error describes a failure; empty on success.
	Error string

	// Counts are named totals, e.g. {"redacted.email": 3, "records": 512}.
	Counts map[string]int64
	// Attributes are short named facts, e.g. {"signal": "logs", "destination": "otlp_grpc"}.
	Attributes map[string]string
	// Details, PreviousState and NewState are free-form JSON-serialisable documents.
	Details       map[string]any
	PreviousState map[string]any
	NewState      map[string]any

	DataClassification Classification
	ComplianceTags     []string
}

var (
	errMissingActorID   = errors.New("actor id is required")
	errMissingActorType = errors.New("actor type is required")
	errMissingAction    = errors.New("action is required")
	errMissingResource  = errors.New("resource type is required")
)

// Validate reports every reason the event cannot be recorded.
func (e *Event) Validate() error {
	var errs []error
	if e.Actor.ID == "" {
		errs = append(errs, errMissingActorID)
	}
	switch e.Actor.Type {
	case ActorUser, ActorService, ActorAIAgent, ActorSystem:
	case "":
		errs = append(errs, errMissingActorType)
	default:
		errs = append(errs, fmt.Errorf("unknown actor type %q (want user, service, ai_agent or system)", e.Actor.Type))
	}
	if e.Action == "" {
		errs = append(errs, errMissingAction)
	}
	if e.Resource.Type == "" {
		errs = append(errs, errMissingResource)
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeFailure, OutcomeDenied:
	default:
		errs = append(errs, fmt.Errorf("unknown outcome %q (want success, failure or denied)", e.Outcome))
	}
	switch e.DataClassification {
	case "", ClassPublic, ClassInternal, ClassConfidential, ClassRestricted:
	default:
		errs = append(errs, fmt.Errorf("unknown data classification %q (want public, internal, confidential or restricted)", e.DataClassification))
	}
	return errors.Join(errs...)
}

// Recorder records audit events.
type Recorder interface {
	// Record stores ev in the ledger. A nil error means the event is durable; an error means
	// it is not, and the caller decides whether that fails its own work.
	Record(ctx context.Context, ev Event) error
}

// BatchRecorder is implemented by recorders that can make many events durable at once, in
// order, at the cost of one. The ledger implements it.
type BatchRecorder interface {
	// RecordBatch stores every event or returns an error; on error, none of the events of
	// the batch is acknowledged (some may be stored: re-recording them with the same RecordID
	// stores them once).
	RecordBatch(ctx context.Context, evs []Event) error
}

// RecordAll records evs through r, in one call when r is a BatchRecorder.
func RecordAll(ctx context.Context, r Recorder, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if br, ok := r.(BatchRecorder); ok {
		return br.RecordBatch(ctx, evs)
	}
	for i := range evs {
		if err := r.Record(ctx, evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Nop is the Recorder of a component without a ledger: it records nothing.
var Nop Recorder = nopRecorder{}

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, Event) error { return nil }

// IsNop reports whether r records nothing, so callers can skip building events.
func IsNop(r Recorder) bool {
	_, ok := r.(nopRecorder)
	return ok || r == nil
}

var (
	// ErrLedgerNotFound is returned when the configured ledger extension is not in the
	// service's extensions.
	ErrLedgerNotFound = errors.New("audit ledger extension not found")
	// ErrNotALedger is returned when the configured extension is not an audit ledger.
	ErrNotALedger = errors.New("extension is not an audit ledger")
)

// FromHost finds the ledger named by id among the host's extensions. A nil id yields Nop:
// auditing is optional for processors.
func FromHost(host component.Host, id *component.ID) (Recorder, error) {
	if id == nil {
		return Nop, nil
	}
	ext, ok := host.GetExtensions()[*id]
	if !ok {
		return nil, fmt.Errorf("ledger %q: %w (add it under extensions and service::extensions)", id, ErrLedgerNotFound)
	}
	r, ok := ext.(Recorder)
	if !ok {
		return nil, fmt.Errorf("ledger %q: %w", id, ErrNotALedger)
	}
	return r, nil
}
