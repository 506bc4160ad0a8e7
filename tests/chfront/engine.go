package chfront

import (
	"errors"
	"sync"
)

// Engine is a chDB session: the ClickHouse engine inside this process, with its data in one
// directory. chDB keeps one engine per process, so there is one Engine per process; the front
// runs every statement on it one at a time, as a ClickHouse session does.
type Engine struct {
	mu      sync.Mutex
	h       *engineHandle
	version string
	closed  bool
}

// OpenEngine loads libchdb.so from libPath and starts the engine on dir (which must exist).
func OpenEngine(libPath, dir string) (*Engine, error) {
	h, version, err := openHandle(libPath, dir)
	if err != nil {
		return nil, err
	}
	return &Engine{h: h, version: version}, nil
}

// Version is the engine's version, as chdb_version reports it.
func (e *Engine) Version() string { return e.version }

// session runs fn with the engine to itself.
func (e *Engine) session(fn func(h *engineHandle) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	return fn(e.h)
}

// Query runs one statement and returns its output in format ("Native", "JSONEachRow",
// "TabSeparated" ...; a FORMAT clause in the statement wins).
func (e *Engine) Query(sql, format string) ([]byte, error) {
	var out []byte
	err := e.session(func(h *engineHandle) (err error) {
		out, err = h.query(sql, format)
		return err
	})
	return out, err
}

// Insert runs an INSERT statement written without its FORMAT clause, with data in format.
func (e *Engine) Insert(stmt, format string, data []byte) error {
	return e.session(func(h *engineHandle) error { return h.insert(stmt, format, data) })
}

// Close ends the session and stops the engine. chDB cannot start again in this process.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.h.close()
	}
}

var errClosed = errors.New("chfront: the engine is closed")
