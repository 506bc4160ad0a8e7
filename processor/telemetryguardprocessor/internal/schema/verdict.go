package schema

import "github.com/otelwarden/warden/internal/walk"

// MaxOffenders bounds the offenders a Verdict keeps; further ones are only counted.
const MaxOffenders = 16

// Offender is one violation found: which rule, which key, and what was done.
type Offender struct {
	Reason Reason
	// Action is what was done, or in report mode what enforce mode would have done.
	Action Action
	// Rule is the rule's name; "semconv" for the registry's checks.
	Rule string
	// Key is the attribute key ("" for too_many_attributes).
	Key   string
	Level walk.Level
}

// Verdict collects what Check found and did for one record (a span, log record or data
// point, and the maps that belong to it: resource, scope, events...). Check adds to it; Reset
// empties it for the next record. Reusing one Verdict allocates nothing.
type Verdict struct {
	// Drop says that a drop_record violation was found: drop the record. Never set in report
	// mode, where Count still shows the drop_record violations.
	Drop bool
	// Changed says that a map was changed.
	Changed bool

	counts    [numReasons][numActions]uint32
	offenders [MaxOffenders]Offender
	n         int
	more      int
	total     int
}

// Reset empties v.
func (v *Verdict) Reset() {
	if v.total > 0 {
		v.counts = [numReasons][numActions]uint32{}
		clear(v.offenders[:v.n])
		v.n, v.more, v.total = 0, 0, 0
	}
	v.Drop, v.Changed = false, false
}

// Count is the number of violations of kind r that were met with action a.
func (v *Verdict) Count(r Reason, a Action) int {
	i := a.index()
	if r >= numReasons || i < 0 {
		return 0
	}
	return int(v.counts[r][i])
}

// Found is the number of violations of kind r, whatever was done.
func (v *Verdict) Found(r Reason) int {
	if r >= numReasons {
		return 0
	}
	n := 0
	for _, c := range v.counts[r] {
		n += int(c)
	}
	return n
}

// Total is the number of violations found.
func (v *Verdict) Total() int { return v.total }

// Offenders are the first MaxOffenders violations, in the order found. The slice is v's: copy
// what you keep past Reset.
func (v *Verdict) Offenders() []Offender { return v.offenders[:v.n] }

// MoreOffenders is the number of violations found past the first MaxOffenders.
func (v *Verdict) MoreOffenders() int { return v.more }

func (v *Verdict) add(o Offender) {
	v.total++
	v.counts[o.Reason][o.Action.index()]++
	if v.n < MaxOffenders {
		v.offenders[v.n] = o
		v.n++
	} else {
		v.more++
	}
}
