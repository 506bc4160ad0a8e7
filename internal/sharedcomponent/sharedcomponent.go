// Package sharedcomponent keeps one component per configuration, shared by the pipelines of
// every signal that use it, as the collector's memory_limiter does: a processor configured
// once and used in the traces, logs and metrics pipelines is created once, started by the
// first pipeline and shut down by the last, so that its state (caches, budgets) is one.
package sharedcomponent

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Lifecycle is what a shared component does when started and shut down.
type Lifecycle interface {
	Start(ctx context.Context, host component.Host) error
	Shutdown(ctx context.Context) error
}

// Map holds the shared components by configuration.
type Map[K comparable, C Lifecycle] struct {
	mu         sync.Mutex
	components map[K]*Component[C]
}

// Component is one shared component.
type Component[C Lifecycle] struct {
	// Unwrap is the component itself.
	Unwrap C

	mu      sync.Mutex
	started int
	err     error
	remove  func()
}

// LoadOrStore returns the component of key, creating it with create the first time.
func (m *Map[K, C]) LoadOrStore(key K, create func() (C, error)) (*Component[C], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.components[key]; ok {
		return c, nil
	}
	inner, err := create()
	if err != nil {
		return nil, err
	}
	if m.components == nil {
		m.components = map[K]*Component[C]{}
	}
	c := &Component[C]{Unwrap: inner}
	c.remove = func() {
		m.mu.Lock()
		delete(m.components, key)
		m.mu.Unlock()
	}
	m.components[key] = c
	return c, nil
}

// Len is the number of components held.
func (m *Map[K, C]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.components)
}

// Start starts the component the first time it is called; later calls return the first
// one's result.
func (c *Component[C]) Start(ctx context.Context, host component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started++
	if c.started == 1 {
		c.err = c.Unwrap.Start(ctx, host)
	}
	return c.err
}

// Shutdown shuts the component down when the last pipeline that started it does, and
// forgets it, so that a new configuration creates a new one.
func (c *Component[C]) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == 0 {
		return nil
	}
	c.started--
	if c.started > 0 {
		return nil
	}
	c.remove()
	return c.Unwrap.Shutdown(ctx)
}
