// Package audit is the API through which Warden's components record audit events into the
// collector's ledger (the audit_ledger extension). A component holds a Recorder, looked up at
// Start by the component ID in its `ledger:` setting; with no ledger configured it holds Nop,
// and recording costs nothing.
package audit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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

// MaxRecordIDLen bounds a caller-supplied record id, in bytes.
const MaxRecordIDLen = 128

// maxComplianceTagLen bounds each compliance tag, in bytes.
const maxComplianceTagLen = 50

// The classes of problems Validate reports. Each error Validate returns matches exactly one of
// them with errors.Is, so that callers can tell why an event was refused without checking it
// again.
var (
	ErrMissingActor          = errors.New("actor id and type are required")
	ErrInvalidActorType      = errors.New("unknown actor type")
	ErrMissingAction         = errors.New("action is required")
	ErrMissingResource       = errors.New("resource type is required")
	ErrInvalidOutcome        = errors.New("unknown outcome")
	ErrInvalidClassification = errors.New("unknown data classification")
	ErrInvalidActorIP        = errors.New("actor ip is not an IP address")
	ErrInvalidComplianceTag  = errors.New("compliance tags must be 1 to 50 bytes")
	ErrTooLong               = errors.New("value longer than its column")
)

// invalidError is one problem of an event: its own message, classified by one of the Err
// values above.
type invalidError struct {
	class error
	msg   string
}

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return e.class }

func invalid(class error, format string, args ...any) error {
	return &invalidError{class: class, msg: fmt.Sprintf(format, args...)}
}

// maxLen are the column limits of the ledger's audit_log table, in bytes of the value as
// given. The ledger stores invalid UTF-8 and NUL bytes as U+FFFD, which never makes a value
// longer in characters, the unit of PostgreSQL's VARCHAR limits.
var maxLen = []struct {
	name string
	get  func(*Event) string
	max  int
}{
	{"actor type", func(e *Event) string { return string(e.Actor.Type) }, 20},
	{"actor id", func(e *Event) string { return e.Actor.ID }, 255},
	{"actor email", func(e *Event) string { return e.Actor.Email }, 255},
	{"action", func(e *Event) string { return e.Action }, 100},
	{"resource type", func(e *Event) string { return e.Resource.Type }, 50},
	{"resource id", func(e *Event) string { return e.Resource.ID }, 255},
	{"resource name", func(e *Event) string { return e.Resource.Name }, 255},
	{"request id", func(e *Event) string { return e.RequestID }, 64},
	{"session id", func(e *Event) string { return e.SessionID }, 64},
	{"team id", func(e *Event) string { return e.TeamID }, 64},
	{"status", func(e *Event) string { return string(e.Outcome) }, 20},
	{"data classification", func(e *Event) string { return string(e.DataClassification) }, 20},
	{"record id", func(e *Event) string { return e.RecordID }, MaxRecordIDLen},
}

// Validate reports every reason the event cannot be recorded, joined; each matches one of the
// Err values of this package with errors.Is.
func (e *Event) Validate() error {
	var errs []error
	if e.Actor.ID == "" {
		errs = append(errs, invalid(ErrMissingActor, "actor id is required"))
	}
	switch e.Actor.Type {
	case ActorUser, ActorService, ActorAIAgent, ActorSystem:
	case "":
		errs = append(errs, invalid(ErrMissingActor, "actor type is required"))
	default:
		errs = append(errs, invalid(ErrInvalidActorType, "unknown actor type %q (want user, service, ai_agent or system)", e.Actor.Type))
	}
	if e.Action == "" {
		errs = append(errs, invalid(ErrMissingAction, "action is required"))
	}
	if e.Resource.Type == "" {
		errs = append(errs, invalid(ErrMissingResource, "resource type is required"))
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeFailure, OutcomeDenied:
	default:
		errs = append(errs, invalid(ErrInvalidOutcome, "unknown outcome %q (want success, failure or denied)", e.Outcome))
	}
	switch e.DataClassification {
	case "", ClassPublic, ClassInternal, ClassConfidential, ClassRestricted:
	default:
		errs = append(errs, invalid(ErrInvalidClassification, "unknown data classification %q (want public, internal, confidential or restricted)", e.DataClassification))
	}
	if e.Actor.IP != "" {
		if addr, err := netip.ParseAddr(e.Actor.IP); err != nil || addr.Zone() != "" {
			errs = append(errs, invalid(ErrInvalidActorIP, "actor ip %q is not an IP address", e.Actor.IP))
		}
	}
	for _, l := range maxLen {
		if v := l.get(e); len(v) > l.max {
			errs = append(errs, invalid(ErrTooLong, "%s longer than %d bytes", l.name, l.max))
		}
	}
	for _, tag := range e.ComplianceTags {
		if tag == "" || len(tag) > maxComplianceTagLen {
			errs = append(errs, invalid(ErrInvalidComplianceTag, "compliance tag %q must be 1 to %d bytes", tag, maxComplianceTagLen))
		}
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
