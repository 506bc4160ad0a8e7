package detect

// jsonInfo is what jsonObjectOf learnt of a JWT segment.
type jsonInfo struct {
	ok      bool // the segment decodes to one JSON object (RFC 8259), nothing else
	hasAlg  bool // with an "alg" member at the top level
	algNone bool // whose value is the string "none", in any case
}

// jsonObjectOf decodes the base64url segment seg and checks the JSON as it goes, without
// allocating and whatever the length: a header or payload of a JWT must be an object.
func jsonObjectOf(seg string) jsonInfo {
	var j jsonChecker
	if len(seg)%4 == 1 {
		return jsonInfo{}
	}
	acc, bits := uint32(0), 0
	for i := 0; i < len(seg); i++ {
		x := b64URL[seg[i]]
		if x < 0 {
			return jsonInfo{}
		}
		acc = acc<<6 | uint32(x)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if !j.feed(byte(acc >> bits)) {
				return jsonInfo{}
			}
		}
	}
	return jsonInfo{ok: j.finish(), hasAlg: j.hasAlg, algNone: j.algNone}
}

// jsonChecker is a push-down automaton over JSON text fed a byte at a time; it only
// validates (nesting up to 64 levels), and watches the top-level "alg" member.
type jsonChecker struct {
	state   uint8
	num     uint8  // state within a number
	lit     string // rest of a literal (true, false, null) still expected
	depth   uint8
	objects uint64 // bit d: the container at depth d+1 is an object
	inKey   bool
	hexLeft uint8 // hex digits still expected after \u
	// match is the position in "alg" (in a top-level key) or "none" (in the value of alg)
	// of the string being read, -1 once it differs.
	match   int8
	algNext bool // the next value is the top-level alg's
	inAlg   bool // the string being read is that value
	hasAlg  bool
	algNone bool
}

const (
	jStart    uint8 = iota // before the top-level object
	jValue                 // a value is expected
	jArrFirst              // a value or ']'
	jObjFirst              // a key or '}'
	jKey                   // a key is expected (after ',')
	jColon                 // ':' is expected
	jAfter                 // after a value: ',', a closing bracket, or the end
	jString                // inside a string
	jEscape                // after '\' in a string
	jHex                   // in the hex digits of \u
	jNumber                // inside a number
	jLiteral               // inside true, false or null
	jEnd                   // after the top-level object: white space only
)

// Number states: what was read last.
const (
	nMinus    uint8 = iota // '-'
	nZero                  // a leading 0
	nInt                   // integer digits
	nDot                   // '.'
	nFrac                  // fraction digits
	nExp                   // 'e' or 'E'
	nExpSign               // the exponent's sign
	nExpDigit              // exponent digits
)

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// feed takes the next byte and reports whether the text can still be valid.
func (j *jsonChecker) feed(c byte) bool {
	switch j.state {
	case jStart:
		if isJSONSpace(c) {
			return true
		}
		return c == '{' && j.open(true)
	case jValue, jArrFirst:
		if isJSONSpace(c) {
			return true
		}
		if c == ']' && j.state == jArrFirst {
			return j.close(false)
		}
		return j.value(c)
	case jObjFirst, jKey:
		switch {
		case isJSONSpace(c):
			return true
		case c == '}' && j.state == jObjFirst:
			return j.close(true)
		case c == '"':
			j.state, j.inKey, j.match = jString, true, 0
			return true
		}
		return false
	case jColon:
		if isJSONSpace(c) {
			return true
		}
		j.state = jValue
		return c == ':'
	case jAfter:
		return j.after(c)
	case jString:
		return j.stringByte(c)
	case jEscape:
		j.state = jString
		j.match = -1
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			return true
		case 'u':
			j.state, j.hexLeft = jHex, 4
			return true
		}
		return false
	case jHex:
		if class[c]&cHex == 0 {
			return false
		}
		if j.hexLeft--; j.hexLeft == 0 {
			j.state = jString
		}
		return true
	case jNumber:
		return j.number(c)
	case jLiteral:
		if c != j.lit[0] {
			return false
		}
		if j.lit = j.lit[1:]; j.lit == "" {
			j.state = jAfter
		}
		return true
	case jEnd:
		return isJSONSpace(c)
	}
	return false
}

// value starts the value that c begins.
func (j *jsonChecker) value(c byte) bool {
	alg := j.algNext
	j.algNext = false
	switch {
	case c == '{':
		return j.open(true)
	case c == '[':
		return j.open(false)
	case c == '"':
		j.state, j.inKey, j.inAlg, j.match = jString, false, alg, 0
		return true
	case c == '-':
		j.state, j.num = jNumber, nMinus
		return true
	case c == '0':
		j.state, j.num = jNumber, nZero
		return true
	case isDigit(c):
		j.state, j.num = jNumber, nInt
		return true
	case c == 't':
		j.state, j.lit = jLiteral, "rue"
		return true
	case c == 'f':
		j.state, j.lit = jLiteral, "alse"
		return true
	case c == 'n':
		j.state, j.lit = jLiteral, "ull"
		return true
	}
	return false
}

func (j *jsonChecker) open(object bool) bool {
	if j.depth == 64 {
		return false
	}
	if object {
		j.objects |= 1 << j.depth
		j.state = jObjFirst
	} else {
		j.objects &^= 1 << j.depth
		j.state = jArrFirst
	}
	j.depth++
	return true
}

func (j *jsonChecker) close(object bool) bool {
	if j.depth == 0 || (j.objects&(1<<(j.depth-1)) != 0) != object {
		return false
	}
	j.depth--
	j.state = jAfter
	if j.depth == 0 {
		j.state = jEnd
	}
	return true
}

func (j *jsonChecker) after(c byte) bool {
	object := j.depth > 0 && j.objects&(1<<(j.depth-1)) != 0
	switch {
	case isJSONSpace(c):
		return true
	case c == ',':
		j.state = jValue
		if object {
			j.state = jKey
		}
		return true
	case c == '}' || c == ']':
		return j.close(c == '}')
	}
	return false
}

func (j *jsonChecker) stringByte(c byte) bool {
	switch {
	case c == '"':
		n := int8(len("none"))
		if j.inKey {
			n = int8(len("alg"))
		}
		hit := j.match == n
		if j.inKey {
			j.state = jColon
			j.algNext = hit && j.depth == 1
			j.hasAlg = j.hasAlg || j.algNext
		} else {
			j.state = jAfter
			if j.inAlg {
				j.algNone = hit
			}
		}
		j.inAlg = false
		return true
	case c == '\\':
		j.state = jEscape
		return true
	case c < 0x20:
		return false
	}
	if j.match >= 0 {
		word := "none"
		if j.inKey {
			word = "alg"
		}
		if int(j.match) < len(word) && lower(c) == word[j.match] && (!j.inKey || c == word[j.match]) {
			j.match++
		} else {
			j.match = -1
		}
	}
	return true
}

// number takes the next byte of a number; a byte that cannot continue it ends it where
// that is allowed and is then read as what follows a value.
func (j *jsonChecker) number(c byte) bool {
	d := isDigit(c)
	switch j.num {
	case nMinus:
		if c == '0' {
			j.num = nZero
			return true
		}
		j.num = nInt
		return d
	case nInt:
		if d {
			return true
		}
		fallthrough
	case nZero:
		switch c {
		case '.':
			j.num = nDot
			return true
		case 'e', 'E':
			j.num = nExp
			return true
		}
	case nDot:
		j.num = nFrac
		return d
	case nFrac:
		if d {
			return true
		}
		if c == 'e' || c == 'E' {
			j.num = nExp
			return true
		}
	case nExp:
		if c == '+' || c == '-' {
			j.num = nExpSign
			return true
		}
		j.num = nExpDigit
		return d
	case nExpSign:
		j.num = nExpDigit
		return d
	case nExpDigit:
		if d {
			return true
		}
	}
	if !j.numberComplete() {
		return false
	}
	j.state = jAfter
	return j.after(c)
}

func (j *jsonChecker) numberComplete() bool {
	return j.num == nZero || j.num == nInt || j.num == nFrac || j.num == nExpDigit
}

// finish reports whether the text fed was one complete object.
func (j *jsonChecker) finish() bool {
	return j.state == jEnd
}
