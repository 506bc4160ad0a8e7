package cardinality

import (
	"sync"

	"github.com/otelwarden/warden/internal/walk"
)

// state is what the guard keeps about one metric (a name and a resource), or about the spans
// or log records of one service: the budgets of its attribute keys and, for a metric, its
// series, the decisions about its series past budget and the running totals of its folded
// cumulative series. It is kept small: a metric that never goes over budget holds two
// tables and a few keys.
type state struct {
	mu      sync.Mutex
	dead    bool   // forgotten by Sweep: look it up again
	epoch   uint32 // the window its tables are in
	seen    uint32 // the last window a batch used it in
	signal  walk.Signal
	name    string // the metric's name; empty for a service
	service string
	policy  *metricPolicy

	// keys are the attribute keys seen, each at a fixed index (a forgotten key's index is
	// reused); keyIndex finds them by hash once there are many.
	keys     []keyState
	free     []int32
	keyIndex map[uint64]int32
	// values holds the (key, value) pairs seen: one table for all keys, each entry's value
	// the index of its key, whose live counts are its budget's.
	values table

	// series holds the identities of the series admitted in the budget (as they leave the
	// guard: a rewritten series is admitted under its new identity).
	series table
	// div is what a metric keeps about its series past budget; nil until it has any.
	div *diversion

	over, lastOver int64 // points folded or dropped by the series budget, this window and the last
}

// diversion is what a metric keeps about the series it does not pass on as they are.
type diversion struct {
	// diverted holds the identities of those series as they arrive; the value says what
	// becomes of them (see decision).
	diverted table
	plans    []plan
	folds    folds // running totals of folded cumulative series (enforce mode)
}

// keyState is the budget of one attribute key.
type keyState struct {
	hk             uint64
	name           string
	policy         keyPolicy
	live           [2]int32 // values in the budget, by the parity of the window they were last seen in
	seen           uint32
	used           bool
	over, lastOver int64 // values replaced or removed, this window and the last
}

func (ks *keyState) values() int { return int(ks.live[0] + ks.live[1]) }

// keyIndexAt is the number of keys past which a state finds its keys through a map.
const keyIndexAt = 16

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

func (st *state) diversion() *diversion {
	if st.div == nil {
		st.div = &diversion{}
	}
	return st.div
}

// rotate moves the state's tables to window epoch, releasing what expires.
func (st *state) rotate(g *Guard, epoch uint32) {
	if epoch <= st.epoch {
		return
	}
	from := st.epoch
	st.epoch = epoch
	jump := epoch-from >= 2
	st.lastOver, st.over = st.over, 0
	if jump {
		st.lastOver = 0
	}
	removed := st.series.rotate(from, epoch, nil)
	if d := st.div; d != nil {
		removed += d.diverted.rotate(from, epoch, func(_ uint64, v uint32) {
			if dec := decision(v); dec.kind() == kindMember {
				g.tracked.series.Add(-int64(d.folds.release(dec.index())))
			}
		})
		if d.diverted.len() == 0 && d.folds.weight == 0 {
			st.div = nil
		}
	}
	g.tracked.series.Add(-int64(removed))
	expired := epoch & 1
	n := st.values.rotate(from, epoch, func(_ uint64, v uint32) {
		if !jump {
			st.keys[v].live[expired]--
		}
	})
	g.tracked.values.Add(-int64(n))
	for i := range st.keys {
		ks := &st.keys[i]
		if !ks.used {
			continue
		}
		if jump {
			ks.live = [2]int32{}
		}
		ks.lastOver, ks.over = ks.over, 0
		if jump {
			ks.lastOver = 0
		}
		if epoch-ks.seen >= 2 { // none of its values is left
			if st.keyIndex != nil {
				delete(st.keyIndex, ks.hk)
			}
			*ks = keyState{}
			st.free = append(st.free, int32(i))
			g.tracked.keys.Add(-1)
		}
	}
}

// release gives back everything the state holds, when it is forgotten.
func (st *state) release(g *Guard) {
	st.dead = true
	n := st.series.len()
	if st.div != nil {
		n += st.div.diverted.len() + st.div.folds.weight
	}
	g.tracked.series.Add(-int64(n))
	g.tracked.values.Add(-int64(st.values.len()))
	g.tracked.keys.Add(-int64(len(st.keys)-len(st.free)) - 1)
	st.series, st.values, st.div, st.keys, st.free, st.keyIndex = table{}, table{}, nil, nil, nil, nil
}

// offenders appends the state's offenders of the last window.
func (st *state) offenders(dst []Offender, top int) []Offender {
	if top == 0 {
		return dst
	}
	if st.lastOver > 0 {
		dst = append(dst, Offender{Signal: st.signal, Metric: st.name, Service: st.service, Items: st.lastOver})
	}
	for i := range st.keys {
		if ks := &st.keys[i]; ks.used && ks.lastOver > 0 {
			dst = append(dst, Offender{Signal: st.signal, Metric: st.name, Service: st.service, Key: ks.name, Items: ks.lastOver})
		}
	}
	return dst
}

// findKey returns the index of attribute key k (of hash hk), or -1.
func (st *state) findKey(hk uint64, k string) int {
	if st.keyIndex != nil {
		if i, ok := st.keyIndex[hk]; ok && st.keys[i].name == k {
			return int(i)
		}
		return -1
	}
	for i := range st.keys {
		if ks := &st.keys[i]; ks.hk == hk && ks.used && ks.name == k {
			return i
		}
	}
	return -1
}

// key returns the index of attribute key k (of hash hk), creating its budget when new and
// the bound on keys allows; -1 when it cannot be tracked.
func (st *state) key(g *Guard, hk uint64, k string) int {
	if i := st.findKey(hk, k); i >= 0 {
		st.keys[i].seen = st.epoch
		return i
	}
	if !g.reserveKey() {
		return -1
	}
	ks := keyState{hk: hk, name: string(append([]byte(nil), k...)), policy: g.keyPolicy(st.policy, k), seen: st.epoch, used: true}
	var i int
	if n := len(st.free); n > 0 {
		i, st.free = int(st.free[n-1]), st.free[:n-1]
		st.keys[i] = ks
	} else {
		i = len(st.keys)
		st.keys = append(st.keys, ks)
	}
	switch {
	case st.keyIndex != nil:
		st.keyIndex[hk] = int32(i)
	case len(st.keys) > keyIndexAt:
		st.keyIndex = make(map[uint64]int32, 2*len(st.keys))
		for j := range st.keys {
			if st.keys[j].used {
				st.keyIndex[st.keys[j].hk] = int32(j)
			}
		}
	}
	return i
}

// planFor returns the index of the plan of the keys over budget, adding it when new; false
// when the metric has maxPlans already.
func (d *diversion) planFor(over []planKey) (int, bool) {
	for i, p := range d.plans {
		if samePlan(p.keys, over) {
			return i, true
		}
	}
	if len(d.plans) >= maxPlans {
		return 0, false
	}
	keys := make([]planKey, len(over))
	for i, k := range over {
		k.key = string(append([]byte(nil), k.key...))
		keys[i] = k
	}
	d.plans = append(d.plans, plan{keys: keys})
	return len(d.plans) - 1, true
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
