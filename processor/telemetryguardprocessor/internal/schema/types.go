package schema

import (
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Action is what is done about a violation.
type Action string

const (
	// ActionKeep counts the violation and changes nothing.
	ActionKeep Action = "keep"
	// ActionTag adds the violation to the map's TagKey attribute.
	ActionTag Action = "tag"
	// ActionTruncate shortens a string that is too long, keeping distinct values distinct (see
	// Truncate).
	ActionTruncate Action = "truncate"
	// ActionDropAttribute removes the attribute (for too_many_attributes, those past the limit).
	ActionDropAttribute Action = "drop_attribute"
	// ActionDropRecord asks for the whole span, log record or data point to be dropped
	// (Verdict.Drop).
	ActionDropRecord Action = "drop_record"
	// ActionRename moves a deprecated attribute to the key that the registry names in its
	// place, or replaces a deprecated enum value by its successor.
	ActionRename Action = "rename"
	// ActionMapOther replaces a value outside a registry enum by its `_OTHER` member, the
	// original kept in `<key>_original` where the registry defines that attribute. It is the
	// conventions' own remedy, taken for such enums whatever not_allowed_value says; it
	// cannot be configured.
	ActionMapOther Action = "map_other"
)

// allActions is the order of Verdict's counts.
var allActions = [...]Action{ActionKeep, ActionTag, ActionTruncate, ActionDropAttribute, ActionDropRecord, ActionRename, ActionMapOther}

const numActions = len(allActions)

// Actions lists every action, e.g. to build the attribute sets of a metric once.
func Actions() []Action { return append([]Action(nil), allActions[:]...) }

// index is a's place in allActions, the index of Verdict's counts.
func (a Action) index() int {
	return slices.Index(allActions[:], a)
}

// configurableActions are the actions a configuration may name.
var configurableActions = []Action{ActionTruncate, ActionDropAttribute, ActionDropRecord, ActionTag, ActionKeep, ActionRename}

// UnmarshalText rejects unknown actions when the configuration is read.
func (a *Action) UnmarshalText(text []byte) error {
	v := Action(text)
	if !slices.Contains(configurableActions, v) {
		return fmt.Errorf("unknown action %q (want %s)", v, joinActions(configurableActions))
	}
	*a = v
	return nil
}

func joinActions(as []Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// Reason is a kind of violation. The set is fixed, so it can serve as a metric attribute.
type Reason uint8

const (
	// ReasonMissingRequired: a required key is absent.
	ReasonMissingRequired Reason = iota
	// ReasonWrongType: a value has another type than its rule or the registry says.
	ReasonWrongType
	// ReasonNotAllowedValue: a value is outside its rule's allowed values or a closed enum.
	ReasonNotAllowedValue
	// ReasonTooManyAttributes: a map holds more attributes than its level allows.
	ReasonTooManyAttributes
	// ReasonTooLong: a string is longer than allowed.
	ReasonTooLong
	// ReasonForbiddenKey: a forbidden key is present.
	ReasonForbiddenKey
	// ReasonDeprecated: the registry deprecates the attribute or its enum value.
	ReasonDeprecated
	numReasons
)

// NumReasons is the number of reasons, to size arrays indexed by Reason.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{"missing_required", "wrong_type", "not_allowed_value", "too_many_attributes", "too_long", "forbidden_key", "deprecated"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// reasonActions are the actions that suit each reason, the default first.
var reasonActions = [numReasons][]Action{
	ReasonMissingRequired:   {ActionTag, ActionDropRecord, ActionKeep},
	ReasonWrongType:         {ActionDropAttribute, ActionTag, ActionDropRecord, ActionKeep},
	ReasonNotAllowedValue:   {ActionDropAttribute, ActionTag, ActionDropRecord, ActionKeep},
	ReasonTooManyAttributes: {ActionDropAttribute, ActionTag, ActionDropRecord, ActionKeep},
	ReasonTooLong:           {ActionTruncate, ActionDropAttribute, ActionTag, ActionDropRecord, ActionKeep},
	ReasonForbiddenKey:      {ActionDropAttribute, ActionTag, ActionDropRecord, ActionKeep},
	ReasonDeprecated:        {ActionKeep, ActionRename, ActionTag, ActionDropAttribute, ActionDropRecord},
}

// accepts says whether a suits violations of kind r, and which would.
func (r Reason) accepts(a Action) error {
	if slices.Contains(reasonActions[r], a) {
		return nil
	}
	if !slices.Contains(configurableActions, a) {
		return fmt.Errorf("unknown action %q (want %s)", a, joinActions(reasonActions[r]))
	}
	return fmt.Errorf("action %q does not suit %s (want %s)", a, r, joinActions(reasonActions[r]))
}

// ValueType is an attribute value type a rule can require.
type ValueType string

const (
	TypeString      ValueType = "string"
	TypeInt         ValueType = "int"
	TypeDouble      ValueType = "double"
	TypeBool        ValueType = "bool"
	TypeBytes       ValueType = "bytes"
	TypeMap         ValueType = "map"
	TypeSlice       ValueType = "slice"
	TypeStringArray ValueType = "string[]"
	TypeIntArray    ValueType = "int[]"
	TypeDoubleArray ValueType = "double[]"
	TypeBoolArray   ValueType = "bool[]"
)

// valueKind is a ValueType compiled: the pcommon type of the value and, for arrays, of each
// element. The zero value checks nothing.
type valueKind struct {
	top  pcommon.ValueType
	elem pcommon.ValueType
}

var valueKinds = map[ValueType]valueKind{
	TypeString:      {top: pcommon.ValueTypeStr},
	TypeInt:         {top: pcommon.ValueTypeInt},
	TypeDouble:      {top: pcommon.ValueTypeDouble},
	TypeBool:        {top: pcommon.ValueTypeBool},
	TypeBytes:       {top: pcommon.ValueTypeBytes},
	TypeMap:         {top: pcommon.ValueTypeMap},
	TypeSlice:       {top: pcommon.ValueTypeSlice},
	TypeStringArray: {top: pcommon.ValueTypeSlice, elem: pcommon.ValueTypeStr},
	TypeIntArray:    {top: pcommon.ValueTypeSlice, elem: pcommon.ValueTypeInt},
	TypeDoubleArray: {top: pcommon.ValueTypeSlice, elem: pcommon.ValueTypeDouble},
	TypeBoolArray:   {top: pcommon.ValueTypeSlice, elem: pcommon.ValueTypeBool},
}

// valueTypeNames lists the type names for messages.
const valueTypeNames = "string, int, double, bool, bytes, map, slice, string[], int[], double[], bool[]"

// UnmarshalText rejects unknown types when the configuration is read, and reads the
// semantic conventions' spellings boolean and boolean[] as bool and bool[].
func (t *ValueType) UnmarshalText(text []byte) error {
	v := canonicalType(ValueType(text))
	if err := v.validate(); err != nil {
		return err
	}
	*t = v
	return nil
}

func canonicalType(t ValueType) ValueType {
	switch t {
	case "boolean":
		return TypeBool
	case "boolean[]":
		return TypeBoolArray
	}
	return t
}

func (t ValueType) validate() error {
	if _, ok := valueKinds[canonicalType(t)]; ok || t == "" {
		return nil
	}
	return fmt.Errorf("unknown type %q (want %s)", string(t), valueTypeNames)
}

// matches reports whether v has the kind; an empty array matches any array kind.
func (k valueKind) matches(v pcommon.Value) bool {
	if v.Type() != k.top {
		return false
	}
	if k.elem == pcommon.ValueTypeEmpty {
		return true
	}
	s := v.Slice()
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Type() != k.elem {
			return false
		}
	}
	return true
}
