package detect

// US Social Security numbers: area, group and serial. Dashed (078-05-1120) and spaced
// (078 05 1120) numbers stand on their own; undashed (078051120) and dotted (078.05.1120)
// ones are any 9-digit id's shape and count only after an SSN word (ssnContext).

// ssn accepts ddd-dd-dddd, ddd dd dddd, and ddd.dd.dddd after an SSN word, with a valid area,
// group and serial.
func ssn(v string, g *groups, dst []Match) []Match {
	if g.size(0) != 3 || g.size(1) != 2 || g.size(2) != 4 || !g.sameSep(2) {
		return dst
	}
	sep := g.sep[1]
	a, e := g.start(0), g.stop(2)
	if joinedLeft(v, a) || joinedRight(v, e) {
		return dst
	}
	if sep == ' ' && (spaceDigitLeft(v, a) || spaceDigitRight(v, e)) {
		return dst
	}
	if sep == '.' && !ssnContext(v, a) {
		return dst
	}
	if !ssnParts(v, a, g.start(1), g.start(2)) {
		return dst
	}
	return append(dst, Match{Start: a, End: e, Type: SSN, Custom: -1})
}

// ssnUndashed accepts nine digits v[i:j] after an SSN word: "SSN: 078051120".
func ssnUndashed(v string, i, j int, dst []Match) []Match {
	if afterEscape(v, i) || joinedLeft(v, i) || joinedRight(v, j) {
		return dst
	}
	if j < len(v) && (v[j] == '-' || v[j] == '.') && j+1 < len(v) && isDigit(v[j+1]) {
		return dst // 123456789-0: part of a longer number
	}
	if !ssnParts(v, i, i+3, i+5) || !ssnContext(v, i) {
		return dst
	}
	return append(dst, Match{Start: i, End: j, Type: SSN, Custom: -1})
}

// ssnParts checks the area at a, the group at g and the serial at s: area 000, 666 and
// 900-999, group 00 and serial 0000 are never issued.
func ssnParts(v string, a, g, s int) bool {
	area := leadingDigits(v, a, a+3, 3)
	group := leadingDigits(v, g, g+2, 2)
	serial := leadingDigits(v, s, s+4, 4)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// ssnContext reports whether an SSN word stands before a, in the contextWindow bytes after
// the last digit: "ssn", "SSN#", "ssns", "social security", "soc sec", "socialSecurityNumber".
func ssnContext(v string, a int) bool {
	lo := contextStart(v, a)
	for p, q, ok := prevLetterRun(v, lo, a); ok; p, q, ok = prevLetterRun(v, lo, p) {
		w := v[p:q]
		if equalFold(w, "ssn") || equalFold(w, "ssns") {
			return true
		}
		if equalFold(w, "security") || equalFold(w, "sec") {
			if p2, q2, ok2 := prevLetterRun(v, lo, p); ok2 && (equalFold(v[p2:q2], "social") || equalFold(v[p2:q2], "soc")) {
				return true
			}
		}
	}
	return false
}

// equalFold reports whether s equals word (lower case), ASCII case-insensitively.
func equalFold(s, word string) bool { return len(s) == len(word) && hasPrefixFold(s, word) }
