// Package audittest holds an in-memory audit.Recorder and a host that serves extensions, for
// unit tests of components that record audit events.
package audittest

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"

	"github.com/otelwarden/warden/internal/audit"
)

// Ledger keeps recorded events in memory. Set Err to make Record fail.
type Ledger struct {
	component.StartFunc
	component.ShutdownFunc

	mu     sync.Mutex
	events []audit.Event
	Err    error
}

var _ audit.Recorder = (*Ledger)(nil)

// Record keeps ev unless Err is set.
func (l *Ledger) Record(_ context.Context, ev audit.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return l.Err
	}
	l.events = append(l.events, ev)
	return nil
}

// Events returns a copy of what was recorded.
func (l *Ledger) Events() []audit.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]audit.Event(nil), l.events...)
}

// Host is a component.Host that serves the given extensions.
type Host map[component.ID]component.Component

// GetExtensions returns h.
func (h Host) GetExtensions() map[component.ID]component.Component { return h }

// RecordBatch keeps all of evs unless Err is set.
func (l *Ledger) RecordBatch(_ context.Context, evs []audit.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return l.Err
	}
	l.events = append(l.events, evs...)
	return nil
}

// SetErr makes later calls fail with err (nil to succeed again).
func (l *Ledger) SetErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Err = err
}
