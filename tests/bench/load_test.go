//go:build bench

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelwarden/warden/internal/sample"
)

// seqKey is the attribute that numbers every record of a load, so that delivery is checked
// record by record. It is an int: pii_redaction leaves numbers alone by default.
const seqKey = "bench.seq"

// piiEvery puts personal data (an e-mail and a card number in the body, a phone number, a
// bearer token) in one record of 20: 5%, spread evenly over the load.
const piiEvery = 20

// requests builds records log records as OTLP/HTTP protobuf request bodies of perRequest
// records each: internal/sample's realistic records over five services, numbered by seqKey.
func requests(records, perRequest int) ([][]byte, error) {
	bodies := make([][]byte, 0, records/perRequest)
	for first := 0; first < records; first += perRequest {
		ld := sample.Logs(sample.Options{Items: perRequest, PIIEvery: piiEvery, Offset: first})
		seq := first
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					lr.Attributes().PutInt(seqKey, int64(seq))
					seq++
				}
			}
		}
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
	}
	return bodies, nil
}

// offered is what a load achieved.
type offered struct {
	// maxLag is how late the latest request was handed to a sender, against its schedule.
	maxLag time.Duration
	// waitedForSenders is how long requests waited, in all, for a sender to be free: the
	// collector's acknowledgements, not the schedule, setting the pace.
	waitedForSenders time.Duration
	// took is from the first request's schedule to the last acknowledgement.
	took time.Duration
}

// send posts bodies to endpoint at a fixed rate (records/s): request i is due at
// i*perRequest/rate, whatever happened to the earlier ones, and goes to the first idle of
// senders concurrent senders. Every request must be acknowledged with 200.
func send(ctx context.Context, endpoint string, bodies [][]byte, perRequest int, rate float64, senders int) (offered, error) {
	client := &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: senders,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
	defer client.CloseIdleConnections()
	url := "http://" + endpoint + "/v1/logs"
	jobs := make(chan []byte)
	var (
		wg       sync.WaitGroup
		failures atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		failures.Add(1)
		errOnce.Do(func() { firstErr = err })
	}
	for range senders {
		wg.Go(func() {
			for body := range jobs {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					fail(err)
					continue
				}
				req.Header.Set("Content-Type", "application/x-protobuf")
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("POST %s: %s", url, resp.Status))
				}
			}
		})
	}
	every := time.Duration(float64(perRequest) / rate * float64(time.Second))
	var out offered
	start := time.Now()
	for i, body := range bodies {
		due := start.Add(time.Duration(i) * every)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		handed := time.Now()
		select {
		case jobs <- body:
		case <-ctx.Done():
		}
		out.waitedForSenders += time.Since(handed)
		out.maxLag = max(out.maxLag, time.Since(due))
	}
	close(jobs)
	wg.Wait()
	out.took = time.Since(start)
	if n := failures.Load(); n > 0 {
		return out, fmt.Errorf("%d of %d requests failed, the first with: %w", n, len(bodies), firstErr)
	}
	return out, ctx.Err()
}

// deliveries counts the records of a load in the file exporter's output (prefix.jsonl and its
// rotated backups), reading each file from where the previous poll stopped.
type deliveries struct {
	dir, prefix string
	seen        []bool
	delivered   int
	duplicates  int
	offsets     map[uint64]int64 // by inode, so that a rotated (renamed) file is not read twice
}

func newDeliveries(dir, prefix string, records int) *deliveries {
	return &deliveries{dir: dir, prefix: prefix, seen: make([]bool, records), offsets: map[uint64]int64{}}
}

var seqMarker = []byte(`{"key":"` + seqKey + `","value":{"intValue":"`)

// poll reads what was written since the last poll and returns the number of distinct records
// delivered so far.
func (d *deliveries) poll() (int, error) {
	files, err := filepath.Glob(filepath.Join(d.dir, d.prefix+"*.jsonl"))
	if err != nil {
		return 0, err
	}
	for _, path := range files {
		if err := d.read(path); err != nil {
			return 0, err
		}
	}
	return d.delivered, nil
}

func (d *deliveries) read(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // rotated away between the glob and the open: read under its new name
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ino := st.Sys().(*syscall.Stat_t).Ino
	off := d.offsets[ino]
	if st.Size() <= off {
		return nil
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	// Only complete lines: a line still being written is read at the next poll.
	end := bytes.LastIndexByte(buf, '\n') + 1
	d.offsets[ino] = off + int64(end)
	d.count(buf[:end])
	return nil
}

func (d *deliveries) count(b []byte) {
	for {
		i := bytes.Index(b, seqMarker)
		if i < 0 {
			return
		}
		b = b[i+len(seqMarker):]
		j := bytes.IndexByte(b, '"')
		seq, err := strconv.Atoi(string(b[:j]))
		switch {
		case err != nil || seq < 0 || seq >= len(d.seen):
			d.duplicates++ // not a record of this load: counted as a delivery error
		case d.seen[seq]:
			d.duplicates++
		default:
			d.seen[seq] = true
			d.delivered++
		}
		b = b[j:]
	}
}

// wait polls until every record is delivered, or fails after timeout.
func (d *deliveries) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := d.poll()
		if err != nil {
			return err
		}
		if n == len(d.seen) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d records delivered after %s", n, len(d.seen), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
