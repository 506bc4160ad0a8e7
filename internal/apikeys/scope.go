package apikeys

import "fmt"

// Scope is a kind of telemetry a key may send.
type Scope string

// The scopes a key can hold.
const (
	ScopeTraces  Scope = "traces"
	ScopeLogs    Scope = "logs"
	ScopeMetrics Scope = "metrics"
	ScopeAudit   Scope = "audit"
)

// Valid reports whether s is one of the known scopes.
func (s Scope) Valid() bool {
	switch s {
	case ScopeTraces, ScopeLogs, ScopeMetrics, ScopeAudit:
		return true
	}
	return false
}

// ParseScope returns the scope named by text.
func ParseScope(text string) (Scope, error) {
	if s := Scope(text); s.Valid() {
		return s, nil
	}
	return "", fmt.Errorf("unknown scope %q (want traces, logs, metrics or audit)", text)
}
