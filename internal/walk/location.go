package walk

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Signal is the telemetry signal a value belongs to.
type Signal uint8

const (
	SignalTraces Signal = iota + 1
	SignalLogs
	SignalMetrics
)

func (s Signal) String() string {
	switch s {
	case SignalTraces:
		return "traces"
	case SignalLogs:
		return "logs"
	case SignalMetrics:
		return "metrics"
	}
	return "unknown"
}

// Level is the element of the pdata tree that holds a value.
type Level uint8

const (
	LevelResource Level = iota
	LevelScope
	LevelSpan
	LevelSpanEvent
	LevelSpanLink
	LevelLogRecord
	// LevelMetric is a metric itself: its description and its metadata map.
	LevelMetric
	LevelDataPoint
	LevelExemplar
	numLevels
)

var levelNames = [numLevels]string{"resource", "scope", "span", "span_event", "span_link", "log_record", "metric", "datapoint", "exemplar"}

func (l Level) String() string {
	if l < numLevels {
		return levelNames[l]
	}
	return "unknown"
}

// ParseLevel returns the Level named s (as Level.String spells it).
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), true
		}
	}
	return 0, false
}

// LevelNames lists the valid level names, for error messages and docs.
func LevelNames() []string { return append([]string(nil), levelNames[:]...) }

// ParseLevels returns the set of the levels named; an unknown name is an error that names it
// and lists the valid ones. No names make the empty set.
func ParseLevels(names []string) (LevelSet, error) {
	var s LevelSet
	for _, n := range names {
		l, ok := ParseLevel(n)
		if !ok {
			return 0, fmt.Errorf("unknown level %q (want %s)", n, strings.Join(levelNames[:], ", "))
		}
		s |= 1 << l
	}
	return s, nil
}

// Field is the part of an element that holds a value.
type Field uint8

const (
	// FieldAttribute is a value in an attribute map (or nested inside one).
	FieldAttribute Field = iota
	// FieldBody is a log record body (or a value nested inside it).
	FieldBody
	// FieldName is a span, span event or instrumentation scope name.
	FieldName
	// FieldStatusMessage is a span status message.
	FieldStatusMessage
	// FieldEventName is a log record's event name.
	FieldEventName
	// FieldVersion is an instrumentation scope version.
	FieldVersion
	// FieldDescription is a metric description.
	FieldDescription
	numFields
)

var fieldNames = [numFields]string{"attribute", "body", "name", "status_message", "event_name", "version", "description"}

func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "unknown"
}

// LevelSet selects levels by bit; the zero value selects none.
type LevelSet uint16

// AllLevels selects every level.
const AllLevels = LevelSet(1<<numLevels - 1)

// Levels builds a LevelSet.
func Levels(ls ...Level) LevelSet {
	var s LevelSet
	for _, l := range ls {
		s |= 1 << l
	}
	return s
}

// Has reports whether l is in the set.
func (s LevelSet) Has(l Level) bool { return s&(1<<l) != 0 }

// FieldSet selects fields by bit; the zero value selects none.
type FieldSet uint8

// AllFields selects every field.
const AllFields = FieldSet(1<<numFields - 1)

// Fields builds a FieldSet.
func Fields(fs ...Field) FieldSet {
	var s FieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s&(1<<f) != 0 }

// PathElem is one step below the root of a field: a map key or a slice index.
type PathElem struct {
	Key   string
	Index int
	// IsIndex tells a slice index from a map key.
	IsIndex bool
}

// Location says where a visited value is. It belongs to the Walker and is only valid during
// the visit; copy what you need to keep.
type Location struct {
	Signal Signal
	Level  Level
	Field  Field
	// Resource is the resource of the visited item, e.g. to read service.name.
	Resource pcommon.Resource
	// PatternIndex is, in a selection walk, the index (in the order given to CompileSelector) of
	// the pattern that selected the value; the lowest one when several match. It means
	// nothing in a string walk.
	PatternIndex int
	path         []PathElem
}

// Depth is the number of path elements: 1 for a top-level attribute, 0 for a name, a status
// message or a body root, n for the body path body.k1...kn.
func (l *Location) Depth() int { return len(l.path) }

// At returns path element i (0 is the top-level attribute key).
func (l *Location) At(i int) PathElem { return l.path[i] }

// TopKey is the top-level attribute key ("" for names, status messages and bodies).
func (l *Location) TopKey() string {
	if len(l.path) == 0 || l.Field != FieldAttribute {
		return ""
	}
	return l.path[0].Key
}

// Key is the innermost map key on the path, the name under which the value is stored
// ("" where there is none, e.g. a span name or a string body).
func (l *Location) Key() string {
	for i := len(l.path) - 1; i >= 0; i-- {
		if !l.path[i].IsIndex {
			return l.path[i].Key
		}
	}
	return ""
}

// String renders the location, e.g. `logs/log_record/body["user"]["emails"][1]`. It allocates:
// use it for errors and tests, not per value.
func (l *Location) String() string {
	var b strings.Builder
	b.WriteString(l.Signal.String())
	b.WriteByte('/')
	b.WriteString(l.Level.String())
	b.WriteByte('/')
	b.WriteString(l.Field.String())
	for _, p := range l.path {
		if p.IsIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.Index))
			b.WriteByte(']')
			continue
		}
		b.WriteByte('[')
		b.WriteString(strconv.Quote(p.Key))
		b.WriteByte(']')
	}
	return b.String()
}

// ServiceName returns the service.name of a resource, or "" when it has none.
func ServiceName(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}

// AppendPath appends the value's field path, as a selector Pattern names it, to dst: the
// attribute key for an attribute (`http.request.header.authorization`), `body` and its path
// for a log body (`body`, `body.user.card`, `body["e.mail"]`), or the field's name for the
// other fields (`name`, `event_name`, ...). Deeper steps of a string walk follow the same
// rules (`.key`, `["key"]`, `[index]`). It allocates nothing when dst has room, so it can
// serve per value, e.g. as associated data that binds a ciphertext to its field.
func (l *Location) AppendPath(dst []byte) []byte {
	path := l.path
	switch l.Field {
	case FieldAttribute:
		if len(path) == 0 {
			return dst
		}
		dst = append(dst, path[0].Key...)
		path = path[1:]
	default:
		dst = append(dst, l.Field.String()...)
	}
	for _, p := range path {
		dst = appendStep(dst, p)
	}
	return dst
}

// appendStep renders one path step as body paths spell it: .key when the key is plain,
// ["key"] when it holds characters that the path syntax uses, [index] for a slice element.
func appendStep(dst []byte, p PathElem) []byte {
	if p.IsIndex {
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(p.Index), 10)
		return append(dst, ']')
	}
	if plainStep(p.Key) {
		dst = append(dst, '.')
		return append(dst, p.Key...)
	}
	dst = append(dst, '[')
	dst = strconv.AppendQuote(dst, p.Key)
	return append(dst, ']')
}

// plainStep reports whether a body path can spell key after a dot.
func plainStep(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c == '.' || c == '[' || c == ']' || c == '"' || c == '*' || c == '\\':
			return false
		case c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return true
}
