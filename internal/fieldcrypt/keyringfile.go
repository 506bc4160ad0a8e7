package fieldcrypt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// keyringMode is the mode of every keyring file written: the owner only.
const keyringMode = 0o600

// updateKeyring changes the keyring file at path under its lock file and writes it back
// atomically.
func updateKeyring(path string, change func(f *keyringFile, now time.Time) error) error {
	unlock, err := lockKeyring(path)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := readKeyringFile(path)
	if err != nil {
		return err
	}
	defer func() {
		for _, k := range f.Keys {
			clear(k.Material)
		}
	}()
	if err := change(f, time.Now().UTC()); err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	return writeKeyringFile(path, f, false)
}

// lockKeyring takes path + ".lock", so that two changes of one keyring never interleave (the
// second would write back a file without the first's keys).
func lockKeyring(path string) (func(), error) {
	lock := path + ".lock"
	l, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, keyringMode)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("keyring %s: locked by another change (%s exists); if none is running, remove it", path, lock)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring %s: lock: %w", path, err)
	}
	_ = l.Close()
	return func() { _ = os.Remove(lock) }, nil
}

// writeKeyringFile writes f to path atomically: a temporary file in the same directory (mode
// 0600), synced, then renamed over path, or, when create is set, linked to path so that an
// existing file is never replaced; then the directory is synced. A reader sees the old file or
// the new one, never a part.
func writeKeyringFile(path string, f *keyringFile, create bool) (err error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	defer func() {
		_ = os.Remove(tmp.Name()) // gone already after a rename
		clear(b)
	}()
	if err := tmp.Chmod(keyringMode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	if create {
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("keyring %s: %w: refusing to replace a keyring (its keys may protect stored data)", path, fs.ErrExist)
			}
			return fmt.Errorf("keyring %s: %w", path, err)
		}
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not every platform syncs a directory; the rename is done either way
		_ = d.Close()
	}
	return nil
}
