package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"context"

	"github.com/otelwarden/warden/internal/audit"
)

const (
	// summaryMaxKeys bounds the services x signals summarised per interval; the counts of
	// further ones are merged into one overflow summary.
	summaryMaxKeys = 1000
	// summaryMaxRetries is how many later intervals a summary the ledger refused is tried
	// again at before it is given up (and counted in summaries_dropped).
	summaryMaxRetries = 6
)

// newSummaries returns the aggregator of the processor's ledger summaries: per service and
// signal, counts by pii type and action ("email.hash": 3), never values.
func (p *piiProcessor) newSummaries(rec audit.Recorder) (*audit.Aggregator, error) {
	action := "pii.redact"
	if p.cfg.DryRun {
		action = "pii.detect" // found and counted, not changed
	}
	return audit.NewAggregator(audit.AggregatorSettings{
		Recorder:       rec,
		Actor:          p.id.String(),
		Action:         action,
		Classification: audit.ClassRestricted,
		Interval:       p.cfg.SummaryInterval,
		MaxKeys:        summaryMaxKeys,
		MaxRetries:     summaryMaxRetries,
		Logger:         p.logger,
		OnFailed: func(ctx context.Context, n int) {
			p.tb.ProcessorPiiRedactionLedgerFailures.Add(ctx, int64(n))
		},
		OnDropped: func(ctx context.Context, n int) {
			p.tb.ProcessorPiiRedactionSummariesDropped.Add(ctx, int64(n))
		},
	})
}

// countNames names the counters of a state's per-service counts: index
// slot*len(actionNames)+action is "<pii_type>.<action>".
func countNames(slotNames []string) []string {
	names := make([]string, 0, len(slotNames)*len(actionNames))
	for _, slot := range slotNames {
		for _, a := range actionNames {
			names = append(names, slot+"."+string(a))
		}
	}
	return names
}

// maxSpareCounts bounds the count slices a state keeps for its next batches.
const maxSpareCounts = 64

// serviceCounts returns the batch's counts of service, taking a spare slice for a new one.
func (st *state) serviceCounts(service string) []int64 {
	c := st.byService[service]
	if c == nil {
		if n := len(st.spare); n > 0 {
			c, st.spare = st.spare[n-1], st.spare[:n-1]
		} else {
			c = make([]int64, len(st.p.countNames))
		}
		st.byService[service] = c
	}
	return c
}

// summarize merges the batch's counts, by service, into the interval's summaries, and clears
// them for the next batch.
func (st *state) summarize() {
	signal := signals[st.signalIdx].String()
	for service, c := range st.byService {
		st.p.summary.Add(audit.TelemetryKey(service, signal), st.p.countNames, c)
		if len(st.spare) < maxSpareCounts {
			clear(c)
			st.spare = append(st.spare, c)
		}
	}
	// The keys may point into the batch: they are not kept.
	clear(st.byService)
}
