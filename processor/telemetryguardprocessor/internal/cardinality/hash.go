package cardinality

import (
	"hash/maphash"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// hasher computes the 64-bit identities of attribute sets. The hash of a set is the sum of
// the hashes of its (key, value) pairs: independent of the order of the attributes, and
// updated in O(1) when one attribute is replaced or removed (sum - old + new), so that the
// identity of a rewritten series needs no second pass. Strings are hashed with maphash under
// a random seed per process, so that nobody can precompute colliding attribute sets.
type hasher struct {
	seed maphash.Seed
	k    uint64 // a random key for the numbers, drawn from seed
}

func newHasher() hasher {
	seed := maphash.MakeSeed()
	return hasher{seed: seed, k: maphash.String(seed, "cardinality") | 1}
}

// Type tags keep values of different types apart (the string "1" from the int 1).
const (
	tagStr uint64 = iota + 0x9e3779b97f4a7c15
	tagInt
	tagDouble
	tagBool
	tagBytes
	tagMap
	tagSlice
	tagEmpty
)

// mix is the 64-bit finalizer of MurmurHash3: a bijection that spreads every input bit over
// the output.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (h *hasher) str(s string) uint64 { return maphash.String(h.seed, s) }

// value hashes one attribute value, by type.
func (h *hasher) value(v pcommon.Value) uint64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return h.str(v.Str()) ^ tagStr
	case pcommon.ValueTypeInt:
		return mix(uint64(v.Int())^h.k) ^ tagInt
	case pcommon.ValueTypeDouble:
		return mix(math.Float64bits(v.Double())^h.k) ^ tagDouble
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return mix(1^h.k) ^ tagBool
		}
		return mix(h.k) ^ tagBool
	case pcommon.ValueTypeBytes:
		return maphash.Bytes(h.seed, v.Bytes().AsRaw()) ^ tagBytes
	case pcommon.ValueTypeMap:
		return mix(h.mapSum(v.Map()) ^ tagMap)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		acc := tagSlice
		for i := 0; i < s.Len(); i++ {
			acc = mix(acc*31 + h.value(s.At(i)))
		}
		return acc
	}
	return tagEmpty
}

// pair hashes one (key, value) attribute from the hashes of its key and value.
func pair(hk, hv uint64) uint64 { return mix(hk ^ (hv * 0xbf58476d1ce4e5b9)) }

// mapSum is the order-independent hash of an attribute map.
func (h *hasher) mapSum(m pcommon.Map) uint64 {
	var sum uint64
	for k, v := range m.All() {
		sum += pair(h.str(k), h.value(v))
	}
	return sum
}

// identity is a series' identity from the hash of its attribute set and the hash of what
// else tells its series apart within a metric (its scope and its point kind).
func identity(attrSum, within uint64) uint64 {
	id := mix(attrSum ^ within)
	if id == 0 { // 0 marks an empty slot of a table
		id = 1
	}
	return id
}
