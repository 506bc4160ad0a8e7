//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Executable documentation. Every ```sh block of the documents below is run, in the order
// written, from a fresh directory that looks like the repository root (bin, .tools, examples,
// distribution, tools and the Makefile linked in; data and keys written there), on the
// documented default ports. An HTML comment right above a block says how:
//
//	<!-- doc-test: skip REASON -->                  illustrative, or needs what a test machine has not
//	<!-- doc-test: background [wait=ADDR] [command=CMD] -->
//	                                               a long-running command: the block (or CMD, when the
//	                                               block shows more, as make run builds first) runs in
//	                                               the background until the document ends; the next
//	                                               block waits until it is up: until ADDR answers 200
//	                                               when it is an http:// URL, until it accepts a
//	                                               connection when it is HOST:PORT (a server that is
//	                                               not a collector), by default until the collector's
//	                                               health endpoint (http://127.0.0.1:13133/) answers
//	<!-- doc-test: expect REGEX -->                what the block prints must match (several allowed)
//	<!-- doc-test: stop -->                        stop the background processes, the last started
//	                                               first (as a reader stops the collector with Ctrl-C,
//	                                               then what it sent to), before the block
//	<!-- doc-test: cleanup CMD -->                 anywhere in a document: run before its first block
//	                                               and after its last, to leave shared services (a
//	                                               PostgreSQL database and roles) as they were
//
// Other blocks run in bash as a reader's shell runs them (no -e: a block may show a command
// that fails, as a refused sender; no pipefail: "| head" ends a pipe early) and must exit 0,
// with what they print matching their expectations. Variables a block exports reach the next
// blocks.

// documentGlobs name the documents whose blocks run, each document on its own: every README.
var documentGlobs = []string{"README.md", "*/*/README.md"}

// docBlock is one fenced shell block and its annotations.
type docBlock struct {
	line       int
	code       string
	skip       string
	background bool
	stop       bool
	command    string
	wait       string
	expect     []*regexp.Regexp
}

var (
	annotationRE = regexp.MustCompile(`^\s*<!-- doc-test: (skip|background|expect|cleanup|stop)\s*(.*?)\s*-->$`)
	fenceRE      = regexp.MustCompile("^\\s*```")
	shFenceRE    = regexp.MustCompile("^\\s*```sh\\s*$")
)

// parseBlocks returns the ```sh blocks of a markdown document with their annotations, and its
// cleanup commands.
func parseBlocks(t *testing.T, path string) (blocks []docBlock, cleanups []string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var pending docBlock
	var code []string
	inBlock, indent := false, ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case inBlock && fenceRE.MatchString(line):
			pending.code = strings.Join(code, "\n")
			blocks = append(blocks, pending)
			pending, code, inBlock = docBlock{}, nil, false
		case inBlock:
			code = append(code, strings.TrimPrefix(line, indent))
		case shFenceRE.MatchString(line):
			pending.line, inBlock = n, true
			indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		case annotationRE.MatchString(line):
			m := annotationRE.FindStringSubmatch(line)
			switch m[1] {
			case "skip":
				require.NotEmpty(t, m[2], "%s:%d: a skipped block says why", path, n)
				pending.skip = m[2]
			case "background":
				pending.background = true
				rest := m[2]
				if w, ok := strings.CutPrefix(rest, "wait="); ok {
					pending.wait, rest, _ = strings.Cut(w, " ")
				}
				pending.command = strings.TrimPrefix(strings.TrimSpace(rest), "command=")
			case "expect":
				pending.expect = append(pending.expect, regexp.MustCompile(m[2]))
			case "cleanup":
				cleanups = append(cleanups, m[2])
			case "stop":
				pending.stop = true
			}
		case strings.TrimSpace(line) != "":
			pending = docBlock{} // an annotation belongs to the block right below it
		}
	}
	require.NoError(t, sc.Err())
	require.False(t, inBlock, "%s: unterminated block", path)
	return blocks, cleanups
}

// docDir makes a directory that looks like the repository root to the documents' commands.
func docDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"bin", ".tools", "examples", "distribution", "tools", "Makefile", "builder-config.yaml", "go.mod", "go.sum"} {
		require.NoError(t, os.Symlink(filepath.Join(root, name), filepath.Join(dir, name)))
	}
	return dir
}

func TestDocumentsRunAsWritten(t *testing.T) {
	var documents []string
	for _, g := range documentGlobs {
		docs, err := filepath.Glob(filepath.Join(root, g))
		require.NoError(t, err)
		for _, d := range docs {
			rel, err := filepath.Rel(root, d)
			require.NoError(t, err)
			if !strings.HasPrefix(rel, "_build") && !strings.HasPrefix(rel, "tools") {
				documents = append(documents, rel)
			}
		}
	}
	require.Contains(t, documents, "examples/pii/README.md")
	for _, doc := range documents {
		t.Run(doc, func(t *testing.T) {
			runDocument(t, filepath.Join(root, doc))
		})
	}
}

func runDocument(t *testing.T, path string) {
	dir := docDir(t)
	envFile := filepath.Join(dir, ".doc-env")
	env := append(os.Environ(), "HOME="+dir)
	rel, _ := filepath.Rel(root, path)
	blocks, cleanups := parseBlocks(t, path)
	cleanup := func() {
		for _, c := range cleanups {
			cmd := exec.Command("bash", "-c", c)
			cmd.Dir, cmd.Env = dir, env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: cleanup %q: %v\n%s", rel, c, err, out)
			}
		}
	}
	cleanup()
	defer cleanup() // deferred before the background processes' stop, so it runs after it
	var background []*backgroundProcess
	stopBackground := func() {
		for i := len(background) - 1; i >= 0; i-- {
			p := background[i]
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
		}
		background = nil
	}
	defer stopBackground()
	ran := 0
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d", rel, b.line)
		if b.skip != "" {
			t.Logf("%s: skipped: %s", where, b.skip)
			continue
		}
		ran++
		if b.stop {
			stopBackground()
		}
		if b.background {
			cmdline := b.command
			if cmdline == "" {
				cmdline = strings.TrimSpace(b.code)
			}
			// The block runs as written (environment assignments before the command
			// included) in its own process group, which is what the end of the document stops.
			cmd := exec.Command("bash", "-c", "source "+envFile+" 2>/dev/null\n"+cmdline)
			cmd.Dir, cmd.Env = dir, env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			log, err := os.Create(filepath.Join(dir, fmt.Sprintf("background-%d.log", b.line)))
			require.NoError(t, err)
			cmd.Stdout, cmd.Stderr = log, log
			require.NoError(t, cmd.Start(), where)
			p := &backgroundProcess{cmd: cmd, exited: make(chan struct{})}
			go func() { _ = cmd.Wait(); close(p.exited) }()
			background = append(background, p)
			waitUp(t, where, b.wait, p, log.Name())
			continue
		}
		script := "source " + envFile + " 2>/dev/null\n" + b.code + "\n__rc=$?\nexport -p > " + envFile + "\nexit $__rc\n"
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "%s: the block fails:\n%s\n--- output:\n%s", where, b.code, tail(string(out), 40))
		for _, re := range b.expect {
			require.Regexp(t, re, string(out), "%s: the block's output", where)
		}
		t.Logf("%s: ran", where)
	}
	t.Logf("%s: %d blocks ran", rel, ran)
}

// backgroundProcess is what a background block started, in its own process group.
type backgroundProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
}

// defaultWait is the health endpoint of a collector on the documented default ports.
const defaultWait = "http://127.0.0.1:13133/"

// waitUp waits for what a background block started to be up: until addr answers 200 when it is
// a URL (a collector's health endpoint), until it accepts a connection when it is HOST:PORT.
// It fails at once when the process exits first (a port taken, a bad config).
func waitUp(t *testing.T, where, addr string, p *backgroundProcess, logFile string) {
	t.Helper()
	if addr == "" {
		addr = defaultWait
	}
	up := func() bool {
		if !strings.HasPrefix(addr, "http://") {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = conn.Close()
			}
			return err == nil
		}
		resp, err := http.Get(addr)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		if up() {
			return
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("%s: exited before %s was up:\n%s", where, addr, tail(string(log), 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
	log, _ := os.ReadFile(logFile)
	t.Fatalf("%s: %s is not up:\n%s", where, addr, tail(string(log), 40))
}
