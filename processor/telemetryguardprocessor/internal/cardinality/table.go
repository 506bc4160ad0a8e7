package cardinality

// table is a set of 64-bit identities, each with a 31-bit value, over a sliding window of
// two generations: an entry belongs to the generation (window) it was last seen in. Looking
// an entry up tells whether it was seen in the current window (fresh) or only in the previous
// one (stale, to be touched to stay); at the start of a window, the entries not seen in the
// previous one are removed.
//
// It is open addressing with linear probing over two flat arrays (12 bytes a slot, at most
// three quarters full), with no per-entry allocation and no deletion but the removal of a
// whole generation, which rebuilds the table at its new size. Identities are hashes already,
// so their low bits index the slots; 0 marks an empty slot and is never an identity.
type table struct {
	keys []uint64
	// meta holds, per slot, the generation the entry was last seen in (bit 31: the parity of
	// its window) and its value (bits 0-30).
	meta []uint32
	// live counts the entries per generation, by the parity of their window.
	live [2]int32
}

type lookup uint8

const (
	absent lookup = iota
	fresh         // seen in the current window
	stale         // seen in the previous window only
)

const (
	genBit   = 1 << 31
	valMask  = genBit - 1
	minSlots = 4
)

func parity(epoch uint32) uint32 { return (epoch & 1) << 31 }

// len is the number of entries.
func (t *table) len() int { return int(t.live[0] + t.live[1]) }

// find returns the slot of id and whether it was seen in the current window (epoch) or only
// in the previous one.
func (t *table) find(id uint64, epoch uint32) (int, lookup) {
	if len(t.keys) == 0 {
		return -1, absent
	}
	mask := uint64(len(t.keys) - 1)
	for i := id & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case id:
			if t.meta[i]&genBit == parity(epoch) {
				return int(i), fresh
			}
			return int(i), stale
		case 0:
			return -1, absent
		}
	}
}

// touch moves the entry of slot i into the current window.
func (t *table) touch(i int, epoch uint32) {
	g := parity(epoch)
	if t.meta[i]&genBit == g {
		return
	}
	t.live[1-epoch&1]--
	t.live[epoch&1]++
	t.meta[i] = t.meta[i]&valMask | g
}

func (t *table) val(i int) uint32 { return t.meta[i] & valMask }

func (t *table) setVal(i int, v uint32) { t.meta[i] = t.meta[i]&genBit | v&valMask }

// insert adds id, which must be absent, with value v in the current window, and returns its
// slot.
func (t *table) insert(id uint64, v uint32, epoch uint32) int {
	if (t.len()+1)*4 > len(t.keys)*3 {
		t.resize(max(minSlots, 2*len(t.keys)), nil)
	}
	mask := uint64(len(t.keys) - 1)
	i := id & mask
	for t.keys[i] != 0 {
		i = (i + 1) & mask
	}
	t.keys[i] = id
	t.meta[i] = v&valMask | parity(epoch)
	t.live[epoch&1]++
	return int(i)
}

// rotate moves the table from window from to window to (to > from): the entries that were
// stale in from, and all of them when to is two or more windows later, are removed, each
// shown to gone (when not nil) with its value. It returns how many were removed.
func (t *table) rotate(from, to uint32, gone func(id uint64, v uint32)) int {
	n := t.len()
	switch {
	case to == from:
		return 0
	case n == 0:
		*t = table{} // nothing left: the slots go too
		return 0
	case to-from >= 2:
		if gone != nil {
			for i, id := range t.keys {
				if id != 0 {
					gone(id, t.meta[i]&valMask)
				}
			}
		}
		*t = table{}
		return n
	}
	// One window on: the entries last seen two windows ago (the parity of to) go.
	removed := int(t.live[to&1])
	if removed == 0 {
		return 0
	}
	expiring := parity(to)
	keep := n - removed
	slots := minSlots
	for keep*4 > slots*3 {
		slots *= 2
	}
	t.resize(slots, func(id uint64, m uint32) bool {
		if m&genBit != expiring {
			return true
		}
		if gone != nil {
			gone(id, m&valMask)
		}
		return false
	})
	return removed
}

// resize rebuilds the table with slots slots, keeping the entries keep accepts (all when
// nil).
func (t *table) resize(slots int, keep func(id uint64, meta uint32) bool) {
	old, oldMeta := t.keys, t.meta
	t.keys, t.meta, t.live = make([]uint64, slots), make([]uint32, slots), [2]int32{}
	mask := uint64(slots - 1)
	for j, id := range old {
		if id == 0 || (keep != nil && !keep(id, oldMeta[j])) {
			continue
		}
		i := id & mask
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.meta[i] = id, oldMeta[j]
		t.live[oldMeta[j]>>31]++
	}
}

// bytes is the memory the table holds.
func (t *table) bytes() int { return len(t.keys)*8 + len(t.meta)*4 }
