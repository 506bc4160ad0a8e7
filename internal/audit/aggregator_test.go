package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/audit/audittest"
)

// names are a component's count names, as configuration would give them.
var names = []string{"email.hash", "card.redact"}

func newAggregator(t testing.TB, rec audit.Recorder, mutate func(*audit.AggregatorSettings)) *audit.Aggregator {
	t.Helper()
	set := audit.AggregatorSettings{
		Recorder: rec, Actor: "pii_redaction", Action: "pii.redact", Classification: audit.ClassRestricted,
		Interval: time.Hour, MaxKeys: 100, MaxRetries: 2,
	}
	if mutate != nil {
		mutate(&set)
	}
	a, err := audit.NewAggregator(set)
	require.NoError(t, err)
	return a
}

func key(service, signal string) audit.SummaryKey {
	return audit.TelemetryKey(service, signal)
}

// totals sums each count name over events.
func totals(evs []audit.Event) map[string]int64 {
	out := map[string]int64{}
	for _, ev := range evs {
		for k, n := range ev.Counts {
			out[k] += n
		}
	}
	return out
}

func TestAggregatorMergesCountsPerKeyOverAnInterval(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, nil)
	before := time.Now()
	a.Add(key("checkout", "logs"), names, []int64{2, 0})
	a.Add(key("checkout", "logs"), names, []int64{1, 1})
	a.Add(key("checkout", "traces"), names, []int64{0, 3})
	a.Add(key("payments", "logs"), names, []int64{5, 0})
	require.NoError(t, a.Flush(context.Background()))
	after := time.Now()

	evs := ledger.Events()
	require.Len(t, evs, 3, "one summary per key, however many batches")
	want := []struct {
		service, signal string
		counts          map[string]int64
	}{
		{"checkout", "logs", map[string]int64{"batches": 2, "email.hash": 3, "card.redact": 1}},
		{"checkout", "traces", map[string]int64{"batches": 1, "card.redact": 3}},
		{"payments", "logs", map[string]int64{"batches": 1, "email.hash": 5}},
	}
	ids := map[string]bool{}
	for i, w := range want {
		ev := evs[i]
		require.NoError(t, ev.Validate())
		assert.Equal(t, audit.Actor{Type: audit.ActorSystem, ID: "pii_redaction"}, ev.Actor)
		assert.Equal(t, "pii.redact", ev.Action)
		assert.Equal(t, audit.Resource{Type: "telemetry", ID: w.service, Name: w.signal}, ev.Resource)
		assert.Equal(t, audit.OutcomeSuccess, ev.Outcome)
		assert.Equal(t, audit.ClassRestricted, ev.DataClassification)
		assert.Equal(t, w.counts, ev.Counts)
		assert.Equal(t, w.service, ev.Attributes[audit.AttrService])
		assert.Equal(t, w.signal, ev.Attributes[audit.AttrSignal])
		start, err := time.Parse(time.RFC3339Nano, ev.Attributes[audit.AttrIntervalStart])
		require.NoError(t, err)
		end, err := time.Parse(time.RFC3339Nano, ev.Attributes[audit.AttrIntervalEnd])
		require.NoError(t, err)
		assert.False(t, start.Before(before.Add(-time.Second)) || start.After(before), "interval start %s", start)
		assert.False(t, end.Before(before) || end.After(after), "interval end %s", end)
		assert.True(t, ev.Time.Equal(end), "the event's time is the interval's end")
		assert.NotEmpty(t, ev.RecordID)
		ids[ev.RecordID] = true
	}
	assert.Len(t, ids, 3, "record ids are distinct")

	require.NoError(t, a.Flush(context.Background()))
	assert.Len(t, ledger.Events(), 3, "an empty interval records nothing")
}

func TestAggregatorIntervalsFollowEachOther(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, nil)
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	require.NoError(t, a.Flush(context.Background()))
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	require.NoError(t, a.Flush(context.Background()))

	evs := ledger.Events()
	require.Len(t, evs, 2)
	assert.Equal(t, evs[0].Attributes[audit.AttrIntervalEnd], evs[1].Attributes[audit.AttrIntervalStart],
		"an interval starts where the previous one ended")
	assert.NotEqual(t, evs[0].RecordID, evs[1].RecordID)
}

func TestAggregatorOverflowMergesKeysPastTheCap(t *testing.T) {
	tests := []struct {
		name         string
		maxKeys      int
		services     int
		wantOverflow int64
		wantAtLeast  bool
	}{
		{name: "under the cap", maxKeys: 10, services: 10},
		{name: "a few over", maxKeys: 4, services: 7, wantOverflow: 3},
		{name: "more than the overflow tells apart", maxKeys: 2, services: 9, wantOverflow: 2, wantAtLeast: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := &audittest.Ledger{}
			a := newAggregator(t, ledger, func(s *audit.AggregatorSettings) { s.MaxKeys = tt.maxKeys })
			for range 3 {
				for i := range tt.services {
					a.Add(key(fmt.Sprintf("svc-%d", i), "logs"), names, []int64{1, 2})
				}
			}
			require.NoError(t, a.Flush(context.Background()))
			evs := ledger.Events()
			kept := min(tt.maxKeys, tt.services)
			if tt.wantOverflow == 0 {
				require.Len(t, evs, kept)
			} else {
				require.Len(t, evs, kept+1)
				over := evs[len(evs)-1]
				require.NoError(t, over.Validate())
				assert.Equal(t, "true", over.Attributes[audit.AttrOverflow])
				assert.Equal(t, audit.OverflowResource, over.Resource.ID)
				assert.Equal(t, tt.wantOverflow, over.Counts[audit.CountOverflowKeys])
				if tt.wantAtLeast {
					assert.Equal(t, "at_least", over.Attributes[audit.AttrOverflowKeys])
				} else {
					assert.NotContains(t, over.Attributes, audit.AttrOverflowKeys)
				}
			}
			got := totals(evs)
			assert.Equal(t, int64(3*tt.services), got["batches"], "no batch is lost")
			assert.Equal(t, int64(3*tt.services), got["email.hash"])
			assert.Equal(t, int64(6*tt.services), got["card.redact"])
		})
	}
}

func TestAggregatorKeysFitTheLedger(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, nil)
	long := strings.Repeat("é", 200) // 400 bytes
	a.Add(key(long, "logs"), names, []int64{1, 0})
	a.Add(key(long, "logs"), names, []int64{1, 0})
	a.Add(key("bad\x00\xffname", "logs"), names, []int64{1, 0})
	require.NoError(t, a.Flush(context.Background()))

	evs := ledger.Events()
	require.Len(t, evs, 2, "a long key still merges with itself")
	for _, ev := range evs {
		assert.LessOrEqual(t, len(ev.Resource.ID), 255)
		assert.True(t, utf8.ValidString(ev.Resource.ID))
		assert.NotContains(t, ev.Resource.ID, "\x00")
	}
	assert.Equal(t, int64(3), totals(evs)["email.hash"])
}

// flakyRecorder fails while failing is set and counts the events of each call.
type flakyRecorder struct {
	audittest.Ledger
	failing atomic.Bool
	mu      sync.Mutex
	calls   [][]audit.Event
}

func (r *flakyRecorder) RecordBatch(ctx context.Context, evs []audit.Event) error {
	r.mu.Lock()
	r.calls = append(r.calls, append([]audit.Event(nil), evs...))
	r.mu.Unlock()
	if r.failing.Load() {
		return errors.New("disk full")
	}
	return r.Ledger.RecordBatch(ctx, evs)
}

func (r *flakyRecorder) call(i int) []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[i]
}

func TestAggregatorRetriesAFailedFlushWithTheSameRecordIDs(t *testing.T) {
	rec := &flakyRecorder{}
	var failed, dropped atomic.Int64
	a := newAggregator(t, rec, func(s *audit.AggregatorSettings) {
		s.OnFailed = func(_ context.Context, n int) { failed.Add(int64(n)) }
		s.OnDropped = func(_ context.Context, n int) { dropped.Add(int64(n)) }
	})
	rec.failing.Store(true)
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	require.ErrorContains(t, a.Flush(context.Background()), "disk full")
	assert.Equal(t, int64(1), failed.Load())
	assert.Empty(t, rec.Events())

	rec.failing.Store(false)
	a.Add(key("checkout", "logs"), names, []int64{2, 0})
	require.NoError(t, a.Flush(context.Background()))
	evs := rec.Events()
	require.Len(t, evs, 2, "the failed interval's summary, then the new one")
	assert.Equal(t, rec.call(0)[0].RecordID, evs[0].RecordID, "a retry keeps the record id")
	assert.Equal(t, rec.call(0)[0].Attributes, evs[0].Attributes, "and the interval it covers")
	assert.Equal(t, evs[0].Attributes[audit.AttrIntervalEnd], evs[1].Attributes[audit.AttrIntervalStart])
	assert.Equal(t, int64(3), totals(evs)["email.hash"], "no count is lost")
	assert.Zero(t, dropped.Load())

	require.NoError(t, a.Flush(context.Background()))
	assert.Len(t, rec.Events(), 2, "recorded summaries are not retried")
}

func TestAggregatorGivesUpAfterMaxRetries(t *testing.T) {
	rec := &flakyRecorder{}
	rec.failing.Store(true)
	var dropped atomic.Int64
	a := newAggregator(t, rec, func(s *audit.AggregatorSettings) {
		s.MaxRetries = 2
		s.OnDropped = func(_ context.Context, n int) { dropped.Add(int64(n)) }
	})
	for i := range 6 {
		a.Add(key("checkout", "logs"), names, []int64{1, 0})
		require.Error(t, a.Flush(context.Background()))
		// Interval i is tried at flushes i, i+1 and i+2, so at most 3 intervals wait.
		assert.Len(t, rec.call(i), min(i+1, 3), "flush %d", i)
		assert.Equal(t, int64(max(0, i-1)), dropped.Load(), "flush %d", i)
	}
	require.Error(t, a.Shutdown(context.Background()))
	assert.Equal(t, int64(6), dropped.Load(), "what shutdown cannot record is given up, and counted")
}

func TestAggregatorRecordsAtEachIntervalEnd(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, func(s *audit.AggregatorSettings) { s.Interval = 20 * time.Millisecond })
	a.Start()
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	require.Eventually(t, func() bool { return len(ledger.Events()) == 1 }, 5*time.Second, 5*time.Millisecond)
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	require.Eventually(t, func() bool { return len(ledger.Events()) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, a.Shutdown(context.Background()))
	assert.Len(t, ledger.Events(), 2)
}

func TestAggregatorShutdown(t *testing.T) {
	tests := []struct {
		name  string
		start bool
	}{{"started", true}, {"never started", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := &audittest.Ledger{}
			a := newAggregator(t, ledger, nil)
			if tt.start {
				a.Start()
			}
			a.Add(key("checkout", "logs"), names, []int64{1, 0})
			require.NoError(t, a.Shutdown(context.Background()))
			require.Len(t, ledger.Events(), 1, "what the interval in progress counted is recorded at shutdown")
			require.NoError(t, a.Shutdown(context.Background()), "twice is harmless")
			a.Start() // does nothing after shutdown
			assert.Len(t, ledger.Events(), 1)
		})
	}
}

// blockingRecorder holds every call until release is closed.
type blockingRecorder struct {
	entered chan struct{}
	release chan struct{}
}

func (r *blockingRecorder) Record(ctx context.Context, _ audit.Event) error {
	select {
	case r.entered <- struct{}{}:
	default:
	}
	select {
	case <-r.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestAggregatorAddDoesNotWaitForTheLedger(t *testing.T) {
	rec := &blockingRecorder{entered: make(chan struct{}, 1), release: make(chan struct{})}
	a := newAggregator(t, rec, nil)
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	flushed := make(chan error)
	go func() { flushed <- a.Flush(context.Background()) }()
	<-rec.entered

	added := make(chan struct{})
	go func() {
		for range 1000 {
			a.Add(key("checkout", "logs"), names, []int64{1, 0})
		}
		close(added)
	}()
	select {
	case <-added:
	case <-time.After(5 * time.Second):
		t.Fatal("Add waited for the ledger")
	}
	close(rec.release)
	require.NoError(t, <-flushed)
}

func TestAggregatorShutdownKeepsToItsContext(t *testing.T) {
	rec := &blockingRecorder{entered: make(chan struct{}, 1), release: make(chan struct{})}
	var dropped atomic.Int64
	a := newAggregator(t, rec, func(s *audit.AggregatorSettings) {
		s.OnDropped = func(_ context.Context, n int) { dropped.Add(int64(n)) }
	})
	a.Add(key("checkout", "logs"), names, []int64{1, 0})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, a.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, int64(1), dropped.Load())
}

func TestAggregatorConcurrentAddsLoseNothing(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, func(s *audit.AggregatorSettings) { s.Interval = time.Millisecond; s.MaxKeys = 3 })
	a.Start()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				a.Add(key(fmt.Sprintf("svc-%d", (g+i)%5), "logs"), names, []int64{1, 2})
			}
		})
	}
	wg.Wait()
	require.NoError(t, a.Shutdown(context.Background()))
	got := totals(ledger.Events())
	assert.Equal(t, int64(2000), got["batches"])
	assert.Equal(t, int64(2000), got["email.hash"])
	assert.Equal(t, int64(4000), got["card.redact"])
}

func TestNewAggregatorReportsEveryProblem(t *testing.T) {
	_, err := audit.NewAggregator(audit.AggregatorSettings{MaxRetries: -1})
	require.Error(t, err)
	for _, want := range []string{
		"recorder is required", "actor is required", "action is required",
		"interval must be positive, got 0s", "max keys must be positive, got 0", "max retries must not be negative, got -1",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// BenchmarkAggregatorAdd is the data path's cost of a summary: one batch's counts for one
// service, under the lock that concurrent batches share.
func BenchmarkAggregatorAdd(b *testing.B) {
	counts := make([]int64, 70) // 14 types x 5 actions, as pii_redaction has
	countNames := make([]string, len(counts))
	for i := range countNames {
		countNames[i] = fmt.Sprintf("type%d.action%d", i/5, i%5)
	}
	counts[3], counts[12] = 2, 1
	services := []string{"checkout", "payments", "users", "search", "gateway"}
	for _, parallel := range []bool{false, true} {
		b.Run(map[bool]string{false: "serial", true: "parallel"}[parallel], func(b *testing.B) {
			a := newAggregator(b, &audittest.Ledger{}, nil)
			b.ReportAllocs()
			if !parallel {
				i := 0
				for b.Loop() {
					a.Add(key(services[i%len(services)], "logs"), countNames, counts)
					i++
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					a.Add(key(services[i%len(services)], "logs"), countNames, counts)
					i++
				}
			})
		})
	}
}

func TestAggregatorSummarisesOtherKeysThanTelemetry(t *testing.T) {
	ledger := &audittest.Ledger{}
	a := newAggregator(t, ledger, func(s *audit.AggregatorSettings) {
		s.Actor, s.Action, s.Outcome = "api_key_auth", "login.failure", audit.OutcomeFailure
		s.ResourceType, s.KeyAttributes = "source", [2]string{"source.address", "key_id"}
		s.MaxKeys = 1
		s.Describe = func(k audit.SummaryKey, ev *audit.Event) { ev.Actor.IP = k.ID }
	})
	a.Add(audit.SummaryKey{ID: "192.0.2.7", Name: "k1"}, []string{"wrong"}, []int64{1})
	a.Add(audit.SummaryKey{ID: "192.0.2.7", Name: "k1"}, []string{"wrong"}, []int64{1})
	a.Add(audit.SummaryKey{ID: "198.51.100.1", Name: "k2"}, []string{"wrong"}, []int64{1}) // past MaxKeys
	require.NoError(t, a.Flush(context.Background()))

	evs := ledger.Events()
	require.Len(t, evs, 2)
	first := evs[0]
	require.NoError(t, first.Validate())
	assert.Equal(t, audit.Actor{Type: audit.ActorSystem, ID: "api_key_auth", IP: "192.0.2.7"}, first.Actor)
	assert.Equal(t, "login.failure", first.Action)
	assert.Equal(t, audit.OutcomeFailure, first.Outcome)
	assert.Equal(t, audit.Resource{Type: "source", ID: "192.0.2.7", Name: "k1"}, first.Resource)
	assert.Equal(t, "192.0.2.7", first.Attributes["source.address"])
	assert.Equal(t, "k1", first.Attributes["key_id"])
	assert.NotContains(t, first.Attributes, audit.AttrService)
	assert.Equal(t, map[string]int64{"batches": 2, "wrong": 2}, first.Counts)

	over := evs[1]
	require.NoError(t, over.Validate(), "the overflow summary is not described: it stands for many keys")
	assert.Equal(t, audit.Resource{Type: "source", ID: audit.OverflowResource, Name: audit.OverflowResource}, over.Resource)
	assert.Empty(t, over.Actor.IP)
	assert.Equal(t, audit.OutcomeFailure, over.Outcome)
}
