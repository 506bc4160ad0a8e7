package detect

import "net/netip"

// maxIPv6 is the longest textual IPv6 address without a zone
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
const maxIPv6 = 45

// joinedIPv6 reports whether position a continues an address or word, so that an IPv6
// candidate must not start there.
func joinedIPv6(v string, a int) bool {
	return a > 0 && (isWord(v[a-1]) || v[a-1] == ':' || v[a-1] == '.')
}

// ipv6AtColon starts IPv6 candidates from the ':' at i: "::" after a non-word byte, or a
// group of one to four hex digits right before i that starts a word.
func ipv6AtColon(v string, i int, dst []Match) []Match {
	if i+1 < len(v) && v[i+1] == ':' && !joinedIPv6(v, i) {
		return ipv6(v, i, dst)
	}
	a := i
	for a > 0 && i-a <= 4 && class[v[a-1]]&cHex != 0 {
		a--
	}
	if a == i || i-a > 4 || joinedIPv6(v, a) {
		return dst
	}
	return ipv6(v, a, dst)
}

// ipv6 accepts an IPv6 address starting at a (a hex word followed by ':', or "::"). The
// candidate is the run of hex digits, colons and dots; it must hold two colons and a hex
// digit, parse as IPv6 and not run into a word. Times (12:34:56) and MAC addresses
// (00:1a:2b:3c:4d:5e) do not parse.
func ipv6(v string, a int, dst []Match) []Match {
	b := a
	for b < len(v) && b-a <= maxIPv6 && class[v[b]]&cIPv6 != 0 {
		b++
	}
	if b-a > maxIPv6 || (b < len(v) && isWord(v[b])) {
		return dst
	}
	for b > a && v[b-1] == '.' {
		b--
	}
	if !validIPv6(v[a:b]) {
		// "at 2001:db8::1: connection refused"
		if b-a < 2 || v[b-1] != ':' || v[b-2] == ':' || !validIPv6(v[a:b-1]) {
			return dst
		}
		b--
	}
	// validIPv6 accepts what netip accepts; ask netip anyway, only now, because its error
	// path allocates.
	if addr, err := netip.ParseAddr(v[a:b]); err != nil || !addr.Is6() {
		return dst
	}
	return append(dst, Match{Start: a, End: b, Type: IPv6, Custom: -1})
}

// validIPv6 checks the textual form of an IPv6 address without a zone: eight groups of one
// to four hex digits, or fewer around a single "::", optionally ending in dotted IPv4 that
// counts as two groups. It also asks for at least one hex digit, so "::" alone is not an
// address worth reporting.
func validIPv6(s string) bool {
	if len(s) < 3 {
		return false
	}
	groups, ellipsis, i := 0, false, 0
	if s[0] == ':' {
		if s[1] != ':' {
			return false
		}
		ellipsis, i = true, 2
	}
	for i < len(s) {
		j := i
		for j < len(s) && j-i <= 4 && class[s[j]]&cHex != 0 {
			j++
		}
		if j == i {
			return false
		}
		if j < len(s) && s[j] == '.' {
			if groups > 6 || !validIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j-i > 4 {
			return false
		}
		groups++
		if j == len(s) {
			break
		}
		if s[j] != ':' {
			return false
		}
		i = j + 1
		if i < len(s) && s[i] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			i++
			continue
		}
		if i == len(s) {
			return false // trailing single colon
		}
	}
	if groups == 0 {
		return false
	}
	if ellipsis {
		return groups <= 7
	}
	return groups == 8
}

// validIPv4 checks a whole dotted-quad string.
func validIPv4(s string) bool {
	for k := range 4 {
		end := len(s)
		if k < 3 {
			end = 0
			for end < len(s) && s[end] != '.' {
				end++
			}
			if end == len(s) {
				return false
			}
		}
		if !octet(s[:end]) {
			return false
		}
		if k < 3 {
			s = s[end+1:]
		}
	}
	return true
}
