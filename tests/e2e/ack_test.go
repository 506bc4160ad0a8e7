//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

const (
	ackSenders        = 8
	ackRecordsPerPost = 10
)

// ackLoad is what the senders of TestAckedRequestsSurviveKillNine posted, by outcome.
type ackLoad struct {
	mu       sync.Mutex
	acked    []string // record ids of requests answered 200
	unacked  int      // requests that failed or got another status
	requests int
}

func (l *ackLoad) result(ids []string, acked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if acked {
		l.acked = append(l.acked, ids...)
	} else {
		l.unacked++
	}
}

func (l *ackLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// postLogs posts one OTLP/HTTP request whose records carry ids as bodies and reports whether
// the collector acknowledged it.
func postLogs(client *http.Client, endpoint string, ids []string) bool {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "ack-probe")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, id := range ids {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr(id)
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return false
	}
	resp, err := client.Post("http://"+endpoint+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// outputRecords reads every log record body in the file exporter's output (the current file
// and any rotated one), counting repeats. Every complete line must be OTLP JSON; only the last
// line of a file may be torn, and what it holds is returned apart.
func outputRecords(t *testing.T, dataDir string) (bodies map[string]int, torn []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "logs*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the logs output exists")
	bodies = map[string]int{}
	var u plog.JSONUnmarshaler
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(raw), "\n")
		for i, line := range lines {
			if !strings.HasSuffix(line, "\n") {
				if line != "" {
					torn = append(torn, fmt.Sprintf("%s: last line, %d bytes", filepath.Base(f), len(line)))
				}
				continue
			}
			ld, err := u.UnmarshalLogs([]byte(line))
			require.NoError(t, err, "%s line %d is complete but not OTLP JSON", f, i+1)
			rls := ld.ResourceLogs()
			for j := range rls.Len() {
				sls := rls.At(j).ScopeLogs()
				for k := range sls.Len() {
					lrs := sls.At(k).LogRecords()
					for m := range lrs.Len() {
						bodies[lrs.At(m).Body().Str()]++
					}
				}
			}
		}
	}
	return bodies, torn
}

// TestAckedRequestsSurviveKillNine posts small log requests from several senders as fast as
// the default config takes them, kills the collector with SIGKILL, and checks that every
// acknowledged record was written and recorded: acknowledgement follows the record, never
// precedes it. The ledger's successful deliveries lie between what was acknowledged and what
// was written, and the ledger verifies after a restart.
func TestAckedRequestsSurviveKillNine(t *testing.T) {
	c, env := startDefault(t, "ack")
	endpoint, data := env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_DATA_DIR"]

	load := &ackLoad{}
	stop := make(chan struct{})
	var senders sync.WaitGroup
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: ackSenders},
		Timeout:   time.Minute,
	}
	defer client.CloseIdleConnections()
	for s := range ackSenders {
		senders.Go(func() {
			for r := 0; ; r++ {
				select {
				case <-stop:
					return
				default:
				}
				ids := make([]string, ackRecordsPerPost)
				for i := range ids {
					ids[i] = fmt.Sprintf("ack-s%d-r%d-i%d", s, r, i)
				}
				load.result(ids, postLogs(client, endpoint, ids))
			}
		})
	}

	// Load for about two seconds once the first request is through (a loaded machine may be
	// slow to start), then crash.
	deadline := time.Now().Add(30 * time.Second)
	for load.ackedCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	c.Kill()
	senders.Wait()
	acked := load.acked
	require.NotEmpty(t, acked, "no request was acknowledged before the kill:\n%s", tail(c.Log(), 30))

	written, torn := outputRecords(t, data)
	var missing []string
	for _, id := range acked {
		if written[id] == 0 {
			missing = append(missing, id)
		}
	}
	writtenTotal := sum(written)
	t.Logf("%d requests (%d acknowledged, %d not), %d records acknowledged, %d written, torn: %v",
		load.requests, len(acked)/ackRecordsPerPost, load.unacked, len(acked), writtenTotal, torn)
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged records are not in the output, e.g. %s", len(missing), len(acked), strings.Join(missing[:min(5, len(missing))], ", "))
	}

	// The restart recovers the journal (a torn last entry was never acknowledged) and writes
	// no telemetry: nothing was held anywhere to be replayed.
	c2 := StartCollector(t, "ack-restarted", filepath.Join(root, "distribution", "config.yaml"), env)
	Eventually(t, "records in the output after the restart", writtenTotal, func() int {
		bodies, _ := outputRecords(t, data)
		return sum(bodies)
	}, 10*time.Second, c2)
	c2.Stop()

	recorded := deliveredRecords(ledgerEntries(t, filepath.Join(data, "audit")))["logs"]
	assert.GreaterOrEqual(t, recorded, int64(len(acked)), "the ledger records at least every acknowledged record as delivered")
	assert.LessOrEqual(t, recorded, int64(writtenTotal), "the ledger records no more delivered records than the output holds")

	code, out := wardenctl(t, "audit", "verify", "--dir", filepath.Join(data, "audit"), "--no-signatures")
	assert.Equal(t, 0, code, out)
}

func sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
