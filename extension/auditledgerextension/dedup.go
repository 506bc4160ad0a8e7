package auditledgerextension

import "sync"

// recentIDs remembers the last n record ids. The sealer adds, the io goroutine removes the
// ids of writes that failed.
type recentIDs struct {
	mu   sync.Mutex
	n    int
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentIDs(n int, initial []string) *recentIDs {
	r := &recentIDs{n: n, set: make(map[string]struct{}, n)}
	for _, id := range initial {
		r.add(id)
	}
	return r
}

// add remembers id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	if r.n == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < r.n {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % r.n
	}
	r.set[id] = struct{}{}
	return true
}

// remove forgets ids (of entries that were not written after all).
func (r *recentIDs) remove(ids ...string) {
	if r.n == 0 || len(ids) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		delete(r.set, id)
	}
}
