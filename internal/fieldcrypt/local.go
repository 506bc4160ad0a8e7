package fieldcrypt

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// keyringCheckInterval is how often a LocalProvider looks whether its file changed.
const keyringCheckInterval = time.Second

// LocalProvider is the keyring file at a path, read again when it changes (a rotation or a
// shred made by another process), checked at most once a second: a rotated key serves the next
// data key, and a shredded tenant's keys stop serving within a second. A file that changed but
// cannot be read fails every call (fail closed) until it can be: the provider cannot know which
// keys it still may use.
type LocalProvider struct {
	path string
	now  func() time.Time

	mu      sync.Mutex // serialises checks of the file
	state   atomic.Pointer[localState]
	checked atomic.Int64 // unix nanoseconds of the last check
}

type localState struct {
	kr   *Keyring
	info os.FileInfo
	err  error // the changed file could not be read
}

var _ interface {
	Provider
	KeySelector
} = (*LocalProvider)(nil)

// NewLocalProvider loads the keyring file at path.
func NewLocalProvider(path string) (*LocalProvider, error) {
	p := &LocalProvider{path: path, now: time.Now}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	kr, err := Load(path)
	if err != nil {
		return nil, err
	}
	p.state.Store(&localState{kr: kr, info: info})
	p.checked.Store(p.now().UnixNano())
	return p, nil
}

// Keyring is the keyring as last read, after a check for changes that is due.
func (p *LocalProvider) Keyring() (*Keyring, error) {
	if now := p.now().UnixNano(); now-p.checked.Load() >= int64(keyringCheckInterval) && p.mu.TryLock() {
		p.reloadIfChanged()
		p.checked.Store(now)
		p.mu.Unlock()
	}
	s := p.state.Load()
	if s.err != nil {
		return nil, s.err
	}
	return s.kr, nil
}

func (p *LocalProvider) reloadIfChanged() {
	old := p.state.Load()
	info, err := os.Stat(p.path)
	if err != nil {
		p.state.Store(&localState{kr: old.kr, info: old.info, err: fmt.Errorf("keyring %s changed: %w: %w", p.path, ErrUnavailable, err)})
		return
	}
	if os.SameFile(info, old.info) && info.ModTime().Equal(old.info.ModTime()) && info.Size() == old.info.Size() && old.err == nil {
		return
	}
	kr, err := Load(p.path)
	if err != nil {
		p.state.Store(&localState{kr: old.kr, info: old.info, err: fmt.Errorf("keyring %s changed: %w: %w", p.path, ErrUnavailable, err)})
		return
	}
	p.state.Store(&localState{kr: kr, info: info})
}

// KeyFor is Keyring.KeyFor on the current keyring.
func (p *LocalProvider) KeyFor(tenant string) (string, error) {
	kr, err := p.Keyring()
	if err != nil {
		return "", err
	}
	return kr.KeyFor(tenant)
}

// GenerateDataKey is Keyring.GenerateDataKey on the current keyring.
func (p *LocalProvider) GenerateDataKey(ctx context.Context, keyID string, ec Context) ([]byte, []byte, error) {
	kr, err := p.Keyring()
	if err != nil {
		return nil, nil, err
	}
	return kr.GenerateDataKey(ctx, keyID, ec)
}

// Decrypt is Keyring.Decrypt on the current keyring.
func (p *LocalProvider) Decrypt(ctx context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error) {
	kr, err := p.Keyring()
	if err != nil {
		return nil, err
	}
	return kr.Decrypt(ctx, keyID, wrapped, ec)
}
