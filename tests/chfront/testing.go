package chfront

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// LibEnv names the environment variable that gives the tests libchdb.so; `make chdb` fetches
// the library and the Makefile's test targets set it.
const LibEnv = "WARDEN_CHDB_LIB"

// LibPath finds libchdb.so: $WARDEN_CHDB_LIB when set (then it must be there), else
// .tools/chdb/libchdb.so of the repository. When there is none, it says why in skip.
func LibPath() (path, skip string, err error) {
	if p := os.Getenv(LibEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("chfront: %s=%s: %w", LibEnv, p, err)
		}
		return p, "", nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", fmt.Errorf("chfront: no repository root (builder-config.yaml) above the working directory; set %s", LibEnv)
		}
		dir = parent
	}
	p := filepath.Join(dir, ".tools", "chdb", "libchdb.so")
	if _, err := os.Stat(p); err != nil {
		return "", "libchdb.so (chDB, the ClickHouse engine as a library) is not installed: `make chdb` fetches it with npm, or set " + LibEnv, nil
	}
	return p, "", nil
}

var shared struct {
	sync.Mutex
	engine *Engine
	dir    string
	err    error
}

// SharedEngine is the process's engine, started on first use in a temporary directory (chDB
// runs one engine per process). It skips the test when libchdb.so is not installed and
// WARDEN_CHDB_LIB is unset, and fails it when the library is there but does not start. A
// TestMain that uses it calls CloseShared after m.Run.
func SharedEngine(t testing.TB) *Engine {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.engine == nil && shared.err == nil {
		lib, skip, err := LibPath()
		if skip != "" {
			t.Skip(skip)
		}
		if err == nil {
			shared.dir, err = os.MkdirTemp("", "warden-chdb-")
		}
		if err == nil {
			shared.engine, err = OpenEngine(lib, shared.dir)
		}
		shared.err = err
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.engine
}

// CloseShared stops the shared engine, if one was started, and removes its directory.
func CloseShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.engine != nil {
		shared.engine.Close()
		shared.engine = nil
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
		shared.dir = ""
	}
}

// StartForTest serves the shared engine on a free loopback port until the test ends.
func StartForTest(t testing.TB) *Front {
	t.Helper()
	f, err := Start(SharedEngine(t), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f
}
