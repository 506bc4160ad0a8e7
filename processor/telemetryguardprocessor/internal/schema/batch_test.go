package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// marshal renders the batches, to compare them whole.
func (b batches) marshal(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var err error
	out["traces"], err = (&ptrace.ProtoMarshaler{}).MarshalTraces(b.td)
	require.NoError(t, err)
	out["logs"], err = (&plog.ProtoMarshaler{}).MarshalLogs(b.ld)
	require.NoError(t, err)
	out["metrics"], err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(b.md)
	require.NoError(t, err)
	return out
}

// countAll checks every map of each batch and returns the violations by reason and action.
func countAll(c *Checker, maps map[string][]leveledMap) (counts [numReasons][numActions]int, drops int) {
	var v Verdict
	for _, ms := range maps {
		for _, m := range ms {
			v.Reset()
			c.Check(m.level, m.attrs, &v)
			for r := range numReasons {
				for _, a := range allActions {
					counts[r][a.index()] += v.Count(r, a)
				}
			}
			if v.Drop {
				drops++
			}
		}
	}
	return counts, drops
}

// TestReportMode: on whole batches, report mode changes nothing and counts what enforce mode
// then does.
func TestReportMode(t *testing.T) {
	cfg := Config{
		Rules:   violatedRules,
		Semconv: SemconvConfig{Embedded: true, Enums: EnumsClosed},
		Actions: ActionsConfig{MissingRequired: ActionDropRecord},
	}
	b := newBatches()
	before := b.marshal(t)
	maps := b.maps()
	reported, reportDrops := countAll(mustCompile(t, cfg, ReportOnly(true)), maps)
	assert.Equal(t, 0, reportDrops, "report mode never drops")
	assert.Equal(t, before, b.marshal(t), "report mode changed a batch")

	enforced, drops := countAll(mustCompile(t, cfg), maps)
	assert.Equal(t, reported, enforced)
	assert.Equal(t, reported[ReasonMissingRequired][ActionDropRecord.index()], drops, "each resource without team.name")
	assert.Positive(t, reported[ReasonTooLong][ActionTruncate.index()])
	assert.Positive(t, reported[ReasonForbiddenKey][ActionDropAttribute.index()])
	assert.Positive(t, reported[ReasonWrongType][ActionDropAttribute.index()])
	assert.Positive(t, reported[ReasonNotAllowedValue][ActionDropAttribute.index()])
	assert.NotEqual(t, before, b.marshal(t), "enforce mode changed the batches")
}

func TestCheckAllocatesNothingWhenClean(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := mustCompile(t, Config{Rules: realisticRules, Semconv: SemconvConfig{Embedded: true}})
	maps := benchMaps()
	var v Verdict
	for signal, ms := range maps {
		allocs := testing.AllocsPerRun(20, func() {
			for _, m := range ms {
				v.Reset()
				c.Check(m.level, m.attrs, &v)
			}
		})
		assert.Zero(t, allocs, signal)
		assert.Zero(t, v.Total(), signal)
	}
}
