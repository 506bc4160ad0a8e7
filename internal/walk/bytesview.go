package walk

import "unsafe"

// bytesView returns b as a string without copying. The string is only valid until b is
// written again, which is why numbers are only shown for the duration of one visit.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
