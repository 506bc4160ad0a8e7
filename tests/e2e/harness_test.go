//go:build e2e

// Package e2e drives the built collector (bin/otelcol-warden) with telemetrygen and real
// servers, and reads back what it wrote. A scenario is a test function that starts one or more
// collectors with StartCollector, sends with Telemetrygen, and asserts with the readers.
package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/loopback"
	"github.com/otelwarden/warden/tests/chfront"
)

var (
	root            string
	collectorBin    string
	telemetrygenBin string
	started         = &processes{pids: map[int]string{}}
)

func TestMain(m *testing.M) {
	var err error
	if root, err = findRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	collectorBin = filepath.Join(root, "bin", "otelcol-warden")
	telemetrygenBin = filepath.Join(root, ".tools", "telemetrygen")
	if err = ensureBuilt(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	code := m.Run()
	chfront.CloseShared()
	if left := started.alive(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: processes left running after the tests: %s\n", strings.Join(left, ", "))
		started.killAll()
		code = 1
	}
	os.Exit(code)
}

func findRoot() (string, error) {
	if r := os.Getenv("WARDEN_ROOT"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (builder-config.yaml); set WARDEN_ROOT")
		}
		dir = parent
	}
}

// ensureBuilt builds what the scenarios run when it is missing, through the Makefile so that
// there is one way to build.
func ensureBuilt() error {
	var missing []string
	for _, target := range []string{"bin/otelcol-warden", ".tools/telemetrygen", ".tools/local-kms"} {
		if _, err := os.Stat(filepath.Join(root, target)); err != nil {
			missing = append(missing, target)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cmd := exec.Command("make", append([]string{"-C", root}, missing...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %v: %w", missing, err)
	}
	return nil
}

// processes tracks every process the scenarios start, so that none outlives the run.
type processes struct {
	mu   sync.Mutex
	pids map[int]string
}

func (p *processes) add(pid int, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pids[pid] = name
}

func (p *processes) done(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pids, pid)
}

func (p *processes) alive() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for pid, name := range p.pids {
		if syscall.Kill(pid, 0) == nil {
			out = append(out, fmt.Sprintf("%s (pid %d)", name, pid))
		}
	}
	return out
}

func (p *processes) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pid := range p.pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// FreeEndpoint returns a 127.0.0.1 address with a port that was free a moment ago.
func FreeEndpoint(t testing.TB) string {
	t.Helper()
	return loopback.FreeAddr(t)
}

// Port returns the port of a host:port endpoint.
func Port(t testing.TB, endpoint string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(endpoint)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// Collector is a running bin/otelcol-warden.
type Collector struct {
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	LogPath string
	exited  chan struct{}
	waitErr error
	stopped bool
}

// DefaultEnv points the embedded default config (distribution/config.yaml) at free loopback
// ports and at dataDir, so several collectors can run side by side.
func DefaultEnv(t testing.TB, dataDir string) map[string]string {
	return map[string]string{
		"WARDEN_DATA_DIR":           dataDir,
		"WARDEN_KEY_DIR":            dataDir + ".keys",
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_PORT":       strconv.Itoa(Port(t, FreeEndpoint(t))),
	}
}

// WriteConfig writes a config into the test's temporary directory and returns its path.
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// StartCollector runs the collector on config with env added to a clean environment, waits
// until it reports that everything is ready, and stops it when the test ends.
func StartCollector(t testing.TB, name, config string, env map[string]string) *Collector {
	t.Helper()
	c := startCollector(t, name, config, env)
	c.WaitReady(60 * time.Second)
	return c
}

func startCollector(t testing.TB, name, config string, env map[string]string) *Collector {
	t.Helper()
	dir := t.TempDir()
	c := &Collector{t: t, name: name, LogPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(c.LogPath)
	require.NoError(t, err)
	c.cmd = exec.Command(collectorBin, "--config", config)
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	require.NoError(t, c.cmd.Start())
	started.add(c.cmd.Process.Pid, name)
	go func() {
		c.waitErr = c.cmd.Wait()
		logFile.Close()
		started.done(c.cmd.Process.Pid)
		close(c.exited)
	}()
	t.Cleanup(func() { c.Stop() })
	return c
}

// WaitReady waits for the collector's "Everything is ready" log line.
func (c *Collector) WaitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(c.Log(), "Everything is ready") {
			return
		}
		select {
		case <-c.exited:
			c.t.Fatalf("collector %s exited before it was ready (%v):\n%s", c.name, c.waitErr, c.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.t.Fatalf("collector %s not ready after %s:\n%s", c.name, timeout, c.Log())
}

// Log returns what the collector has logged so far.
func (c *Collector) Log() string {
	b, _ := os.ReadFile(c.LogPath)
	return string(b)
}

// Pid is the collector's process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// Stop asks the collector to shut down (SIGTERM) and fails the test unless it exits cleanly
// within 30 seconds. Stopping twice is a no-op.
func (c *Collector) Stop() {
	c.t.Helper()
	if c.stopped {
		return
	}
	c.stopped = true
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if c.waitErr != nil {
			c.t.Errorf("collector %s did not exit cleanly: %v\n%s", c.name, c.waitErr, tail(c.Log(), 40))
		}
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		c.t.Errorf("collector %s did not stop within 30s of SIGTERM; killed", c.name)
	}
}

// Kill ends the collector with SIGKILL, as a crash would, and waits for it to be gone.
func (c *Collector) Kill() {
	c.t.Helper()
	c.stopped = true
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// Validate runs `otelcol-warden validate` on a config and returns its combined output.
func Validate(t testing.TB, config string, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command(collectorBin, "validate", "--config", config)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Telemetrygen runs telemetrygen (traces, logs or metrics) with args and returns its output.
// It fails the test when telemetrygen fails.
func Telemetrygen(t testing.TB, signal string, args ...string) string {
	t.Helper()
	out, err := TryTelemetrygen(t, signal, args...)
	require.NoError(t, err, "telemetrygen %s %s:\n%s", signal, strings.Join(args, " "), out)
	return out
}

// TryTelemetrygen runs telemetrygen and returns its output and error, for senders that are
// expected to be refused.
func TryTelemetrygen(t testing.TB, signal string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(telemetrygenBin, append([]string{signal}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	started.add(cmd.Process.Pid, "telemetrygen")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		err = fmt.Errorf("telemetrygen timed out: %w", <-done)
	}
	started.done(cmd.Process.Pid)
	return out.String(), err
}

// Eventually polls count until it returns want, then checks that it stays there for settle
// (nothing duplicated late). It fails with the last count and the collectors' logs.
func Eventually(t testing.TB, what string, want int, count func() int, timeout time.Duration, logs ...*Collector) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := 0
	for time.Now().Before(deadline) {
		if got = count(); got >= want {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got == want {
		time.Sleep(1500 * time.Millisecond)
		got = count()
	}
	if got != want {
		var b strings.Builder
		for _, c := range logs {
			fmt.Fprintf(&b, "\n--- %s log ---\n%s", c.name, tail(c.Log(), 60))
		}
		t.Fatalf("%s: got %d, want %d%s", what, got, want, b.String())
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// jsonLines returns the complete lines of a file (a line still being written is skipped).
func jsonLines(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var lines [][]byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return lines // io.EOF: a partial last line is left for the next read
		}
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, line)
		}
	}
}

func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
