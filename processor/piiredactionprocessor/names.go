package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
)

// nameKeyKind returns keyName or keyNameTail when key names a person's name (or the end of
// such a key), else kind.
func nameKeyKind(names *detect.NameKeyMatcher, key string, kind uint8) uint8 {
	switch names.Match(key) {
	case detect.NameKey:
		return keyName
	case detect.NameKeyTail:
		return keyNameTail
	}
	return kind
}

// nestedNameKey reports whether the value at loc, under a key such as "name", is a person's
// name by the key of the map holding it: {"customer": {"name": ...}}.
func nestedNameKey(names *detect.NameKeyMatcher, loc *walk.Location) bool {
	inner := -1
	for i := loc.Depth() - 1; i >= 0; i-- {
		if e := loc.At(i); !e.IsIndex {
			if inner >= 0 {
				return names.MatchNested(e.Key, loc.At(inner).Key)
			}
			inner = i
		}
	}
	return false
}

// isName reports whether v, under a name key, is taken as a person's name: it must look like
// one (detect.LooksLikeName) and not be allowed by allow.values.
func (st *state) isName(v string) bool {
	if !detect.LooksLikeName(v) {
		return false
	}
	return st.p.allowValueRE == nil || !st.p.allowValueRE.MatchString(v)
}
