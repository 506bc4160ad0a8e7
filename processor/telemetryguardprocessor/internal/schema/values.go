package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// scalar is an allowed value or an enum member, before it goes into a valueSet.
type scalar struct {
	typ pcommon.ValueType
	s   string
	i   int64
	d   float64
	b   bool
}

func valueOf[T string | bool | float64 | int64](x T) scalar {
	switch v := any(x).(type) {
	case string:
		return scalar{typ: pcommon.ValueTypeStr, s: v}
	case bool:
		return scalar{typ: pcommon.ValueTypeBool, b: v}
	case float64:
		return scalar{typ: pcommon.ValueTypeDouble, d: v}
	case int64:
		return scalar{typ: pcommon.ValueTypeInt, i: v}
	}
	return scalar{}
}

// valueSet is a set of strings, ints, doubles and bools, each mapped to its index in the
// order added (an enum member's index).
type valueSet struct {
	strs  map[string]int
	ints  map[int64]int
	dbls  map[float64]int
	bools [2]int // index+1 of false and true; 0 when absent
	n     int
}

// add puts v in the set; want, when not empty, is the type the values must have (an int
// serves as a double).
func (s *valueSet) add(want pcommon.ValueType, v scalar) error {
	if want != pcommon.ValueTypeEmpty && v.typ != want {
		if want != pcommon.ValueTypeDouble || v.typ != pcommon.ValueTypeInt {
			return fmt.Errorf("%s value where the type wants %s", withArticle(typeName(v.typ)), typeName(want))
		}
		v = scalar{typ: pcommon.ValueTypeDouble, d: float64(v.i)}
	}
	idx := s.n
	s.n++
	switch v.typ {
	case pcommon.ValueTypeStr:
		if s.strs == nil {
			s.strs = map[string]int{}
		}
		s.strs[v.s] = idx
	case pcommon.ValueTypeInt:
		if s.ints == nil {
			s.ints = map[int64]int{}
		}
		s.ints[v.i] = idx
	case pcommon.ValueTypeDouble:
		if s.dbls == nil {
			s.dbls = map[float64]int{}
		}
		s.dbls[v.d] = idx
	case pcommon.ValueTypeBool:
		if v.b {
			s.bools[1] = idx + 1
		} else {
			s.bools[0] = idx + 1
		}
	}
	return nil
}

// index returns the index of a scalar value in the set, or -1.
func (s *valueSet) index(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if i, ok := s.strs[v.Str()]; ok {
			return i
		}
	case pcommon.ValueTypeInt:
		if i, ok := s.ints[v.Int()]; ok {
			return i
		}
	case pcommon.ValueTypeDouble:
		if i, ok := s.dbls[v.Double()]; ok {
			return i
		}
	case pcommon.ValueTypeBool:
		b := 0
		if v.Bool() {
			b = 1
		}
		return s.bools[b] - 1
	}
	return -1
}

// allows reports whether v, or each element of v when it is an array, is in the set.
func (s *valueSet) allows(v pcommon.Value) bool {
	if v.Type() != pcommon.ValueTypeSlice {
		return s.index(v) >= 0
	}
	sl := v.Slice()
	for i := 0; i < sl.Len(); i++ {
		if s.index(sl.At(i)) < 0 {
			return false
		}
	}
	return true
}

func typeName(t pcommon.ValueType) string {
	switch t {
	case pcommon.ValueTypeStr:
		return "string"
	case pcommon.ValueTypeBool:
		return "bool"
	}
	return strings.ToLower(t.String())
}

// withArticle puts "a" or "an" before a type name.
func withArticle(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// tooLong reports whether v is a string, or an array holding a string, longer than max bytes.
func tooLong(v pcommon.Value, max int) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return len(v.Str()) > max
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			if e := sl.At(i); e.Type() == pcommon.ValueTypeStr && len(e.Str()) > max {
				return true
			}
		}
	}
	return false
}

// truncateValue truncates v, or each string of the array v, to max bytes.
func truncateValue(v pcommon.Value, max int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > max {
			v.SetStr(Truncate(s, max))
		}
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			if e := sl.At(i); e.Type() == pcommon.ValueTypeStr && len(e.Str()) > max {
				e.SetStr(Truncate(e.Str(), max))
			}
		}
	}
}

// hashSuffixLen is the length of the suffix Truncate appends: "~" and 12 hex digits.
const hashSuffixLen = 13

// Truncate returns s when it has at most max bytes. A longer s becomes its longest prefix
// that ends on a UTF-8 character boundary and leaves room for a suffix of 13 bytes, then
// "~" and the first 12 hex digits (48 bits) of the SHA-256 of the whole of s:
// "/api/v1/orders/1000000000000042?page=2" truncated to 32 bytes reads
// "/api/v1/orders/1000~" followed by 12 hex digits. Two values that share a long prefix
// therefore stay distinct; a value no longer than max is never touched, so truncating twice
// changes nothing. max must be at least 16; below, s is cut without a suffix.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max < minTruncateLength {
		return s[:runeStart(s, max)]
	}
	cut := runeStart(s, max-hashSuffixLen)
	sum := sha256.Sum256([]byte(s))
	var b strings.Builder
	b.Grow(cut + hashSuffixLen)
	b.WriteString(s[:cut])
	b.WriteByte('~')
	var hx [12]byte
	hex.Encode(hx[:], sum[:6])
	b.Write(hx[:])
	return b.String()
}

// runeStart returns the largest i <= n at which a UTF-8 character of s starts (a cut there
// does not split one), looking back at most utf8.UTFMax-1 bytes.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if i == 0 || utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}
