package ledger

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/otelwarden/warden/internal/audit"
)

// SchemaVersion is the version of the entry encoding. Any change to the canonical form bumps it.
const SchemaVersion = 1

// TimeLayout is how the ledger writes times: UTC, microseconds (PostgreSQL's precision).
const TimeLayout = "2006-01-02T15:04:05.000000Z"

const (
	entryDomain      = "warden.audit.entry.v1\n"
	checkpointDomain = "warden.audit.checkpoint.v1\n"
)

// ZeroHash is the previous hash of a stream's first entry.
var ZeroHash = hex.EncodeToString(make([]byte, sha256.Size))

var streamIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidStreamID reports whether id can name a stream (it is also a directory name).
func ValidStreamID(id string) bool { return streamIDPattern.MatchString(id) }

// Event is an audit event as the ledger stores it: the audit_log columns of the security
// design, normalised (clean strings, canonical JSON documents, microsecond times).
type Event struct {
	ActorType          string            `json:"actor_type,omitempty"`
	ActorID            string            `json:"actor_id,omitempty"`
	ActorEmail         string            `json:"actor_email,omitempty"`
	ActorIP            string            `json:"actor_ip,omitempty"`
	ActorUserAgent     string            `json:"actor_user_agent,omitempty"`
	Action             string            `json:"action,omitempty"`
	ResourceType       string            `json:"resource_type,omitempty"`
	ResourceID         string            `json:"resource_id,omitempty"`
	ResourceName       string            `json:"resource_name,omitempty"`
	RequestID          string            `json:"request_id,omitempty"`
	SessionID          string            `json:"session_id,omitempty"`
	TeamID             string            `json:"team_id,omitempty"`
	Status             string            `json:"status,omitempty"`
	ErrorMessage       string            `json:"error_message,omitempty"`
	DataClassification string            `json:"data_classification,omitempty"`
	ComplianceTags     []string          `json:"compliance_tags,omitempty"`
	Counts             map[string]int64  `json:"counts,omitempty"`
	Attributes         map[string]string `json:"attributes,omitempty"`
	Details            json.RawMessage   `json:"details,omitempty"`
	PreviousState      json.RawMessage   `json:"previous_state,omitempty"`
	NewState           json.RawMessage   `json:"new_state,omitempty"`
}

// Entry is one link of a stream's chain.
type Entry struct {
	Version    int    `json:"v"`
	StreamID   string `json:"stream"`
	Seq        uint64 `json:"seq"`
	RecordID   string `json:"record_id"`
	Time       string `json:"ts"`
	LedgerTime string `json:"ledger_ts"`
	KeyID      string `json:"kid,omitempty"`
	Event      Event  `json:"event"`
	PrevHash   string `json:"prev"`
	Hash       string `json:"hash"`
}

// MaxRecordIDLen bounds caller-supplied record ids (audit.Event.Validate checks it).
const MaxRecordIDLen = audit.MaxRecordIDLen

// Prepared is an event ready to be appended: validated and normalised, with its record id
// and time, waiting for its place in the chain.
type Prepared struct {
	RecordID string
	Time     time.Time
	Event    Event
}

// Prepare validates ev (audit.Event.Validate holds every rule) and normalises it into the
// form the ledger stores. now is used when the event has no time; a record id is generated
// when it has none.
func Prepare(ev audit.Event, now time.Time) (Prepared, error) {
	if err := ev.Validate(); err != nil {
		return Prepared{}, err
	}
	p := Prepared{RecordID: cleanString(ev.RecordID), Time: ev.Time}
	if p.RecordID == "" {
		p.RecordID = NewRecordID()
	}
	if p.Time.IsZero() {
		p.Time = now
	}
	p.Time = p.Time.UTC().Truncate(time.Microsecond)

	e := Event{
		ActorType:          string(ev.Actor.Type),
		ActorID:            cleanString(ev.Actor.ID),
		ActorEmail:         cleanString(ev.Actor.Email),
		ActorUserAgent:     cleanString(ev.Actor.UserAgent),
		Action:             cleanString(ev.Action),
		ResourceType:       cleanString(ev.Resource.Type),
		ResourceID:         cleanString(ev.Resource.ID),
		ResourceName:       cleanString(ev.Resource.Name),
		RequestID:          cleanString(ev.RequestID),
		SessionID:          cleanString(ev.SessionID),
		TeamID:             cleanString(ev.TeamID),
		Status:             string(ev.Outcome),
		ErrorMessage:       cleanString(ev.Error),
		DataClassification: string(ev.DataClassification),
	}
	if ev.Actor.IP != "" {
		addr, _ := netip.ParseAddr(ev.Actor.IP) // valid: Validate parsed it
		e.ActorIP = addr.String()
	}
	for _, tag := range ev.ComplianceTags {
		e.ComplianceTags = append(e.ComplianceTags, cleanString(tag))
	}
	var errs []error
	if len(ev.Counts) > 0 {
		e.Counts = make(map[string]int64, len(ev.Counts))
		for k, v := range ev.Counts {
			e.Counts[cleanString(k)] = v
		}
	}
	if len(ev.Attributes) > 0 {
		e.Attributes = make(map[string]string, len(ev.Attributes))
		for k, v := range ev.Attributes {
			e.Attributes[cleanString(k)] = cleanString(v)
		}
	}
	for _, doc := range []struct {
		name string
		in   map[string]any
		out  *json.RawMessage
	}{{"details", ev.Details, &e.Details}, {"previous state", ev.PreviousState, &e.PreviousState}, {"new state", ev.NewState, &e.NewState}} {
		raw, err := canonicalDocument(doc.in)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", doc.name, err))
		}
		*doc.out = raw
	}
	if err := errors.Join(errs...); err != nil {
		return Prepared{}, err
	}
	p.Event = e
	return p, nil
}

// NewRecordID returns a random UUID (version 4).
func NewRecordID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// AppendCanonical appends the canonical encoding of e without its hash: the bytes that the
// hash covers. It is also the start of the entry's JSON line. The JSON documents of the event
// are re-canonicalised, so an entry read back from any store encodes as it was written.
func (e *Entry) AppendCanonical(b []byte) ([]byte, error) { return e.appendCanonical(b, true) }

func (e *Entry) appendCanonical(b []byte, recanon bool) ([]byte, error) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.Version), 10)
	b = append(b, `,"stream":`...)
	b = appendString(b, e.StreamID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"record_id":`...)
	b = appendString(b, e.RecordID)
	b = append(b, `,"ts":`...)
	b = appendString(b, e.Time)
	b = append(b, `,"ledger_ts":`...)
	b = appendString(b, e.LedgerTime)
	if e.KeyID != "" {
		b = append(b, `,"kid":`...)
		b = appendString(b, e.KeyID)
	}
	b = append(b, `,"event":{`...)
	var err error
	if b, err = e.Event.appendCanonical(b, recanon); err != nil {
		return b, err
	}
	b = append(b, `},"prev":`...)
	b = appendString(b, e.PrevHash)
	return append(b, '}'), nil
}

func (ev *Event) appendCanonical(b []byte, recanon bool) ([]byte, error) {
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			b = appendString(b, v)
		}
	}
	str("actor_type", ev.ActorType)
	str("actor_id", ev.ActorID)
	str("actor_email", ev.ActorEmail)
	str("actor_ip", ev.ActorIP)
	str("actor_user_agent", ev.ActorUserAgent)
	str("action", ev.Action)
	str("resource_type", ev.ResourceType)
	str("resource_id", ev.ResourceID)
	str("resource_name", ev.ResourceName)
	str("request_id", ev.RequestID)
	str("session_id", ev.SessionID)
	str("team_id", ev.TeamID)
	str("status", ev.Status)
	str("error_message", ev.ErrorMessage)
	str("data_classification", ev.DataClassification)
	if len(ev.ComplianceTags) > 0 {
		field("compliance_tags")
		b = append(b, '[')
		for i, t := range ev.ComplianceTags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
		b = append(b, ']')
	}
	if len(ev.Counts) > 0 {
		field("counts")
		b = append(b, '{')
		for i, k := range sortedKeys(ev.Counts) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = strconv.AppendInt(b, ev.Counts[k], 10)
		}
		b = append(b, '}')
	}
	if len(ev.Attributes) > 0 {
		field("attributes")
		b = append(b, '{')
		for i, k := range sortedKeys(ev.Attributes) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, ev.Attributes[k])
		}
		b = append(b, '}')
	}
	for _, doc := range []struct {
		name string
		raw  json.RawMessage
	}{{"details", ev.Details}, {"previous_state", ev.PreviousState}, {"new_state", ev.NewState}} {
		canon := doc.raw
		if recanon {
			var err error
			if canon, err = CanonicalJSON(doc.raw); err != nil {
				return b, fmt.Errorf("%s: %w", doc.name, err)
			}
		}
		if canon != nil {
			field(doc.name)
			b = append(b, canon...)
		}
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ComputeHash returns the hex SHA-256 of the entry's domain-separated canonical encoding.
func (e *Entry) ComputeHash() (string, error) {
	canon, err := e.AppendCanonical(nil)
	if err != nil {
		return "", err
	}
	return hashHex(entryDomain, canon), nil
}

func hashHex(domain string, canon []byte) string {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(canon)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// Seal sets e.Hash and appends e's JSON line (canonical encoding plus hash, newline) to b.
// The event must come from Prepare (its documents are canonical already).
func (e *Entry) Seal(b []byte) ([]byte, error) {
	start := len(b)
	b, err := e.appendCanonical(b, false)
	if err != nil {
		return b[:start], err
	}
	e.Hash = hashHex(entryDomain, b[start:])
	b = b[:len(b)-1] // reopen the object to add the hash
	b = append(b, `,"hash":`...)
	b = appendString(b, e.Hash)
	return append(b, '}', '\n'), nil
}

// MaxEntryLine bounds an entry's stored line; the ledger refuses to record a longer one, and a
// longer line in a journal is not an entry.
const MaxEntryLine = 1 << 20

// ParseEntry decodes one stored entry line (with or without its newline). The line must be
// exactly the entry's stored form: unknown, duplicate or case-variant keys, other spellings of
// the same values and added whitespace are refused, so that nothing rides along unhashed. It
// does not check the hash: Verifier does.
func ParseEntry(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(line) > MaxEntryLine {
		return Entry{}, fmt.Errorf("entry line of %d bytes is longer than %d", len(line), MaxEntryLine)
	}
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return Entry{}, err
	}
	if e.Version != SchemaVersion {
		return Entry{}, fmt.Errorf("unknown entry version %d", e.Version)
	}
	stored, err := e.AppendCanonical(make([]byte, 0, len(line)+1))
	if err != nil {
		return Entry{}, err
	}
	stored = stored[:len(stored)-1]
	stored = append(stored, `,"hash":`...)
	stored = appendString(stored, e.Hash)
	stored = append(stored, '}')
	if !bytes.Equal(stored, line) {
		return Entry{}, errors.New("the line is not in the entry's stored form (extra, duplicate or re-spelled fields, or added whitespace)")
	}
	return e, nil
}

// PeekSeq reads the sequence number of a journal line without decoding it. The canonical
// encoding puts "seq" before any value that could contain it, and a JSON string cannot hold
// an unescaped quote, so the first match is the entry's own.
func PeekSeq(line []byte) (uint64, bool) {
	i := bytes.Index(line, []byte(`,"seq":`))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(`,"seq":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	seq, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	return seq, err == nil
}

// FormatTime renders t as the ledger stores it.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(TimeLayout) }
