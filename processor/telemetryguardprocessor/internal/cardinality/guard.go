package cardinality

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelwarden/warden/internal/walk"
)

// Guard is the cardinality guard of one processor, shared by the pipelines of every signal.
// Its state is sharded by metric (and by service for spans and log records); a batch holds
// the lock of one metric at a time, while it walks that metric's points.
type Guard struct {
	cfg     Config
	h       hasher
	enforce bool
	pass    bool // limits.when_full: pass
	now     func() time.Time
	start   time.Time

	signals      [4]bool // by walk.Signal: whose attributes have value budgets
	series       seriesPolicy
	keyDefaults  keyPolicy
	exemptKeys   map[string]bool
	keyOverrides map[string]keyPolicy
	metrics      map[string]*metricPolicy

	maxSeries, maxValues, maxKeys int64
	tracked                       struct{ series, values, keys atomic.Int64 }

	overflowSum uint64 // the hash of the attribute set {otel.metric.overflow: true}
	overflowHV  uint64 // the hash of the overflow value

	shards [numShards]shard

	offenders atomic.Pointer[[]Offender]
	batches   sync.Pool
}

const numShards = 64

type shard struct {
	mu     sync.Mutex
	states map[uint64]*state
}

// OverflowKey is the attribute of the overflow series, from the OpenTelemetry specification.
const OverflowKey = "otel.metric.overflow"

type seriesPolicy struct {
	max  int
	drop bool
}

type keyPolicy struct {
	max    int
	remove bool
	exempt bool
}

type metricPolicy struct {
	exempt       bool
	series       seriesPolicy
	exemptKeys   map[string]bool
	keyOverrides map[string]keyPolicy
}

// New checks cfg and returns its guard.
func New(cfg Config) (*Guard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("cardinality: the guard is disabled")
	}
	g := &Guard{
		cfg:       cfg,
		h:         newHasher(),
		enforce:   cfg.Mode == ModeEnforce,
		pass:      cfg.Limits.WhenFull == FullPass,
		now:       time.Now,
		maxSeries: int64(cfg.Limits.MaxSeries),
		maxValues: int64(cfg.Limits.MaxValues),
		maxKeys:   int64(cfg.Limits.MaxKeys),
		series:    seriesPolicy{max: cfg.Series.MaxPerMetric, drop: cfg.Series.OverLimit == SeriesDrop},
		keyDefaults: keyPolicy{
			max: cfg.Attributes.MaxValues, remove: cfg.Attributes.OverLimit == ValueRemoveKey,
		},
		exemptKeys:   set(cfg.Attributes.ExemptKeys),
		keyOverrides: map[string]keyPolicy{},
		metrics:      map[string]*metricPolicy{},
	}
	g.start = g.now()
	for _, s := range cfg.Attributes.Signals {
		switch s {
		case SignalMetrics:
			g.signals[walk.SignalMetrics] = true
		case SignalTraces:
			g.signals[walk.SignalTraces] = true
		case SignalLogs:
			g.signals[walk.SignalLogs] = true
		}
	}
	for k, kc := range cfg.Attributes.Keys {
		g.keyOverrides[k] = g.keyDefaults.with(kc)
	}
	for name, mc := range cfg.Metrics {
		p := &metricPolicy{exempt: mc.Exempt, series: g.series, exemptKeys: set(mc.ExemptKeys), keyOverrides: map[string]keyPolicy{}}
		if mc.MaxSeries > 0 {
			p.series.max = mc.MaxSeries
		}
		if mc.OverLimit != "" {
			p.series.drop = mc.OverLimit == SeriesDrop
		}
		for k, kc := range mc.Keys {
			base, ok := g.keyOverrides[k]
			if !ok {
				base = g.keyDefaults
			}
			p.keyOverrides[k] = base.with(kc)
		}
		g.metrics[name] = p
	}
	g.overflowSum = pair(g.h.str(OverflowKey), mix(1^g.h.k)^tagBool)
	g.overflowHV = g.h.str(cfg.Attributes.OverflowValue) ^ tagStr
	for i := range g.shards {
		g.shards[i].states = map[uint64]*state{}
	}
	g.batches.New = func() any { return &Batch{g: g, carriers: map[carrierKey]int32{}, byService: map[string]*Counts{}} }
	return g, nil
}

func (p keyPolicy) with(kc KeyConfig) keyPolicy {
	if kc.MaxValues > 0 {
		p.max = kc.MaxValues
	}
	if kc.OverLimit != "" {
		p.remove = kc.OverLimit == ValueRemoveKey
	}
	return p
}

func set(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// SetClock replaces the guard's clock, for tests; call it before any batch.
func (g *Guard) SetClock(now func() time.Time) {
	g.now = now
	g.start = now()
}

// Window is the configured window.
func (g *Guard) Window() time.Duration { return g.cfg.Window }

// Enforce reports whether the guard acts on its decisions (enforce mode).
func (g *Guard) Enforce() bool { return g.enforce }

// LimitsAttributes reports whether the attributes of the signal have value budgets.
func (g *Guard) LimitsAttributes(s walk.Signal) bool { return g.signals[s] }

// epoch is the number of the current window.
func (g *Guard) epoch(now time.Time) uint32 {
	return uint32(now.Sub(g.start) / g.cfg.Window)
}

// keyPolicy is the policy of attribute key k, on metric p (nil for spans and log records).
func (g *Guard) keyPolicy(p *metricPolicy, k string) keyPolicy {
	if g.exemptKeys[k] || (p != nil && p.exemptKeys[k]) {
		return keyPolicy{exempt: true}
	}
	if p != nil {
		if kp, ok := p.keyOverrides[k]; ok {
			return kp
		}
	}
	if kp, ok := g.keyOverrides[k]; ok {
		return kp
	}
	return g.keyDefaults
}

// reserve takes n places under limit in counter, or none.
func reserve(counter *atomic.Int64, limit, n int64) bool {
	if counter.Add(n) <= limit {
		return true
	}
	counter.Add(-n)
	return false
}

func (g *Guard) reserveSeries(n int) bool { return reserve(&g.tracked.series, g.maxSeries, int64(n)) }
func (g *Guard) reserveValues(n int) bool { return reserve(&g.tracked.values, g.maxValues, int64(n)) }
func (g *Guard) reserveKey() bool         { return reserve(&g.tracked.keys, g.maxKeys, 1) }

// Stats are the guard's tracked entries and their bounds.
type Stats struct {
	Series, Values, Keys          int64
	MaxSeries, MaxValues, MaxKeys int64
}

// Stats returns what the guard tracks now.
func (g *Guard) Stats() Stats {
	return Stats{
		Series: g.tracked.series.Load(), Values: g.tracked.values.Load(), Keys: g.tracked.keys.Load(),
		MaxSeries: g.maxSeries, MaxValues: g.maxValues, MaxKeys: g.maxKeys,
	}
}

// Offender is a (metric, key) pair, or (service, key) for spans and log records, that was
// over budget in the last window.
type Offender struct {
	Signal walk.Signal
	// Metric is the metric's name; empty for spans and log records.
	Metric string
	// Service is the service.name of the metric's resource, or the service of the spans or
	// log records.
	Service string
	// Key is the attribute key whose values were over budget; empty when the metric's series
	// were over budget.
	Key string
	// Items is how many data points, spans or log records were folded, dropped or rewritten.
	Items int64
}

// TopOffenders returns the top offenders of the last window, most items first.
func (g *Guard) TopOffenders() []Offender {
	if p := g.offenders.Load(); p != nil {
		return *p
	}
	return nil
}

// Sweep starts a new window when one is due: every state moves to it, states not seen for two
// windows are forgotten, and the top offenders of the window that ended are computed. The
// processor calls it at every window; batches move the states they touch themselves.
func (g *Guard) Sweep() {
	epoch := g.epoch(g.now())
	var offenders []Offender
	for i := range g.shards {
		sh := &g.shards[i]
		sh.mu.Lock()
		for key, st := range sh.states {
			st.mu.Lock()
			if epoch-st.seen >= 2 && st.seen <= epoch {
				st.release(g)
				delete(sh.states, key)
			} else {
				st.rotate(g, epoch)
				offenders = st.offenders(offenders, g.cfg.TopOffenders)
			}
			st.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(offenders, func(a, b Offender) int {
		return cmp.Or(cmp.Compare(b.Items, a.Items), strings.Compare(a.Metric, b.Metric),
			strings.Compare(a.Service, b.Service), strings.Compare(a.Key, b.Key))
	})
	if len(offenders) > g.cfg.TopOffenders {
		offenders = slices.Clip(offenders[:g.cfg.TopOffenders])
	}
	g.offenders.Store(&offenders)
}

// lookup returns the state of key, creating it (with name and service) when new and the
// bound on keys allows; nil when it cannot be tracked. The state is returned locked, moved to
// epoch.
func (g *Guard) lookup(key uint64, signal walk.Signal, name, service string, p *metricPolicy, epoch uint32) *state {
	sh := &g.shards[key>>58]
	for {
		sh.mu.Lock()
		st := sh.states[key]
		if st == nil {
			if !g.reserveKey() {
				sh.mu.Unlock()
				return nil
			}
			st = &state{signal: signal, name: strings.Clone(name), service: strings.Clone(service), policy: p,
				epoch: epoch, seen: epoch}
			sh.states[key] = st
		}
		sh.mu.Unlock()
		st.mu.Lock()
		if st.dead {
			st.mu.Unlock()
			continue
		}
		st.rotate(g, epoch)
		if epoch > st.seen {
			st.seen = epoch
		}
		return st
	}
}
