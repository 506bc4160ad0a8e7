package detect

// Type is the kind of a match.
type Type uint8

// The built-in detectors, then Custom (a user pattern; Match.Custom says which) and
// SensitiveKey (a value redacted because of its key: by ScrubURL, and by Scan in
// "key=value" text when Options.Keys is set).
const (
	Email Type = iota + 1
	Card
	SSN
	Phone
	IPv4
	IPv6
	IBAN
	JWT
	Bearer
	BasicAuth
	AWSKey
	PrivateKey
	Credential
	Custom
	SensitiveKey
)

var typeNames = [...]string{
	Email:        "email",
	Card:         "card",
	SSN:          "ssn",
	Phone:        "phone",
	IPv4:         "ipv4",
	IPv6:         "ipv6",
	IBAN:         "iban",
	JWT:          "jwt",
	Bearer:       "bearer",
	BasicAuth:    "basic_auth",
	AWSKey:       "aws_key",
	PrivateKey:   "private_key",
	Credential:   "credential",
	Custom:       "custom",
	SensitiveKey: "sensitive_key",
}

// String returns the configuration name of t ("email", "basic_auth", ...), "unknown" for
// values outside the enumeration.
func (t Type) String() string {
	if t == 0 || int(t) >= len(typeNames) {
		return "unknown"
	}
	return typeNames[t]
}

// ParseType returns the Type named s (the String form, exactly), including "custom" and
// "sensitive_key".
func ParseType(s string) (Type, bool) {
	for t := Email; int(t) < len(typeNames); t++ {
		if typeNames[t] == s {
			return t, true
		}
	}
	return 0, false
}

// BuiltinTypes returns the built-in detector types in a fixed order.
func BuiltinTypes() []Type {
	ts := make([]Type, 0, Custom-Email)
	for t := Email; t < Custom; t++ {
		ts = append(ts, t)
	}
	return ts
}

// precedence ranks types for overlap resolution: lower wins when two candidates start at the
// same byte and have the same length. Secrets first (a JWT inside "Bearer ..." is a JWT),
// then the stricter validators before the looser ones.
var precedence = [...]uint8{
	PrivateKey: 0,
	JWT:        1,
	Bearer:     2,
	BasicAuth:  2,
	Credential: 2,
	AWSKey:     3,
	Card:       4,
	IBAN:       5,
	SSN:        6,
	Email:      7,
	Phone:      8,
	IPv6:       9,
	IPv4:       10,
	Custom:     11,
	// A value under a sensitive key in text keeps the type of a detector that validates the
	// same bytes ("ssn = '078-05-1120'" is an SSN).
	SensitiveKey: 12,
}

// TypeSet is a set of Types.
type TypeSet uint32

// AllBuiltin holds every built-in detector type.
const AllBuiltin TypeSet = 1<<Custom - 1<<Email

// Types returns the set holding ts.
func Types(ts ...Type) TypeSet {
	var s TypeSet
	for _, t := range ts {
		s = s.With(t)
	}
	return s
}

// Has reports whether t is in s.
func (s TypeSet) Has(t Type) bool { return t < 32 && s&(1<<t) != 0 }

// With returns s with t added.
func (s TypeSet) With(t Type) TypeSet {
	if t >= 32 {
		return s
	}
	return s | 1<<t
}

// Without returns s with t removed.
func (s TypeSet) Without(t Type) TypeSet {
	if t >= 32 {
		return s
	}
	return s &^ (1 << t)
}

// Match is one finding: the span v[Start:End] of the scanned string v.
type Match struct {
	Start, End int
	Type       Type
	// Encoding is the decoding view the match was found in; v[Start:End] then spans whole
	// escapes, and Decode(Encoding, v[Start:End]) is the text the detector saw.
	Encoding Encoding
	// Custom is the index into Options.Custom when Type == Custom, else -1.
	Custom int
}
