package cardinality

import (
	"sync"

	"github.com/otelwarden/warden/internal/walk"
)

// state is what the guard keeps about one metric (a name and a resource), or about the spans
// or log records of one service: the budgets of its attribute keys and, for a metric, its
// series, the decisions about its series past budget and the running totals of its folded
// cumulative series.
type state struct {
	mu      sync.Mutex
	dead    bool   // forgotten by Sweep: look it up again
	epoch   uint32 // the window its tables are in
	seen    uint32 // the last window a batch used it in
	signal  walk.Signal
	name    string // the metric's name; empty for a service
	service string
	policy  *metricPolicy

	keys map[string]*keyState

	// series holds the identities of the series admitted in the budget (as they leave the
	// guard: a rewritten series is admitted under its new identity).
	series table
	// diverted holds the identities of the series as they arrive that are not passed on as
	// they are: rewritten, folded or dropped; the value says which (see decision).
	diverted table
	plans    []plan
	folds    folds // running totals of folded cumulative series (enforce mode)

	over, lastOver int64 // points folded or dropped by the series budget, this window and the last
}

// keyState is the budget of one attribute key.
type keyState struct {
	policy         keyPolicy
	name           string
	values         table
	seen           uint32
	over, lastOver int64 // values replaced or removed, this window and the last
}

// plan is a set of keys whose values are over budget: a series' rewrite.
type plan struct {
	keys []planKey
}

type planKey struct {
	key    string
	hk     uint64
	remove bool
	reason Reason
}

// maxPlans bounds the different rewrites per metric; a series that would need another one is
// folded into the overflow series.
const maxPlans = 256

// rotate moves the state's tables to window epoch, releasing what expires.
func (st *state) rotate(g *Guard, epoch uint32) {
	if epoch <= st.epoch {
		return
	}
	from := st.epoch
	st.epoch = epoch
	if epoch-from >= 2 {
		st.lastOver = 0
	} else {
		st.lastOver = st.over
	}
	st.over = 0
	removed := st.series.rotate(from, epoch, nil)
	removed += st.diverted.rotate(from, epoch, func(_ uint64, v uint32) {
		if d := decision(v); d.kind() == kindMember {
			g.tracked.series.Add(-int64(st.folds.release(d.index())))
		}
	})
	g.tracked.series.Add(-int64(removed))
	for k, ks := range st.keys {
		n := ks.values.rotate(from, epoch, nil)
		g.tracked.values.Add(-int64(n))
		if epoch-from >= 2 {
			ks.lastOver = 0
		} else {
			ks.lastOver = ks.over
		}
		ks.over = 0
		if epoch-ks.seen >= 2 {
			delete(st.keys, k)
			g.tracked.keys.Add(-1)
		}
	}
}

// release gives back everything the state holds, when it is forgotten.
func (st *state) release(g *Guard) {
	st.dead = true
	g.tracked.series.Add(-int64(st.series.len() + st.diverted.len() + st.folds.weight))
	for _, ks := range st.keys {
		g.tracked.values.Add(-int64(ks.values.len()))
	}
	g.tracked.keys.Add(-int64(len(st.keys)) - 1)
	st.series, st.diverted, st.keys, st.plans, st.folds = table{}, table{}, nil, nil, folds{}
}

// offenders appends the state's offenders of the last window.
func (st *state) offenders(dst []Offender, top int) []Offender {
	if top == 0 {
		return dst
	}
	if st.lastOver > 0 {
		dst = append(dst, Offender{Signal: st.signal, Metric: st.name, Service: st.service, Items: st.lastOver})
	}
	for _, ks := range st.keys {
		if ks.lastOver > 0 {
			dst = append(dst, Offender{Signal: st.signal, Metric: st.name, Service: st.service, Key: ks.name, Items: ks.lastOver})
		}
	}
	return dst
}

// key returns the budget of attribute key k, creating it when new and the bound on keys
// allows; nil when it cannot be tracked.
func (st *state) key(g *Guard, k string) *keyState {
	if ks := st.keys[k]; ks != nil {
		ks.seen = st.epoch
		return ks
	}
	if !g.reserveKey() {
		return nil
	}
	ks := &keyState{policy: g.keyPolicy(st.policy, k), name: k, seen: st.epoch}
	ks.name = string(append([]byte(nil), k...)) // k may point into the batch
	st.keys[ks.name] = ks
	return ks
}

// planFor returns the index of the plan of the keys over budget, adding it when new; false
// when the metric has maxPlans already.
func (st *state) planFor(over []planKey) (int, bool) {
	for i, p := range st.plans {
		if samePlan(p.keys, over) {
			return i, true
		}
	}
	if len(st.plans) >= maxPlans {
		return 0, false
	}
	keys := make([]planKey, len(over))
	for i, k := range over {
		k.key = string(append([]byte(nil), k.key...))
		keys[i] = k
	}
	st.plans = append(st.plans, plan{keys: keys})
	return len(st.plans) - 1, true
}

func samePlan(a, b []planKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].remove != b[i].remove || a[i].reason != b[i].reason {
			return false
		}
	}
	return true
}
