package cardinality

import (
	"github.com/otelwarden/warden/internal/walk"
)

// Record checks the attributes of one span or log record against their keys' budgets of
// values, which are per service (and signal), and replaces or removes those over budget. It
// does nothing unless attributes.signals lists the signal.
func (b *Batch) Record(e *walk.Element) walk.Op {
	g := b.g
	if !g.signals[b.signal] {
		return walk.Keep
	}
	if !b.hasRes || e.Resource != b.res {
		b.setResource(e.Resource)
		b.svc = g.lookup(mix(g.h.str(b.service)^uint64(b.signal)), b.signal, "", b.service, nil, b.epoch)
	}
	st := b.svc
	b.over = b.over[:0]
	for k, v := range e.Attributes.All() {
		hk, i := g.h.str(k), -1
		if st != nil {
			i = st.key(g, hk, k)
		}
		if i < 0 { // limits.max_keys
			kp := g.keyPolicy(nil, k)
			switch {
			case kp.exempt:
			case g.pass:
				b.count(ActionPass, ReasonTrackerFull, 1)
			default:
				b.over = append(b.over, planKey{key: k, hk: hk, remove: kp.remove, reason: ReasonTrackerFull})
			}
			continue
		}
		ks := &st.keys[i]
		if ks.policy.exempt {
			continue
		}
		if r, ok := b.checkValue(st, i, v); !ok {
			st.keys[i].over++
			b.over = append(b.over, planKey{key: k, hk: hk, remove: ks.policy.remove, reason: r})
		}
	}
	if len(b.over) == 0 {
		return walk.Keep
	}
	for _, k := range b.over {
		if k.remove {
			b.count(ActionRemoveKey, k.reason, 1)
		} else {
			b.count(ActionReplaceValue, k.reason, 1)
		}
	}
	if !g.enforce {
		return walk.Keep
	}
	for _, k := range b.over {
		if k.remove {
			e.Attributes.Remove(k.key)
		} else if v, ok := e.Attributes.Get(k.key); ok {
			v.SetStr(g.cfg.Attributes.OverflowValue)
		}
	}
	return walk.Replace
}

// leaveService unlocks the state of the service of the last span or log record.
func (b *Batch) leaveService() {
	if b.svc != nil {
		b.svc.mu.Unlock()
		b.svc = nil
	}
}
