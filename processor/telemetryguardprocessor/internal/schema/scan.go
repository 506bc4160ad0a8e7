package schema

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/walk"
)

// scan is one Check of one map: what was seen, and the changes to make once the map has been
// read (a map cannot change shape while it is ranged over, and a record to be dropped is
// left as it is). It lives on Check's stack; its slices are made only when something is
// wrong.
type scan struct {
	c     *Checker
	lc    *levelChecks
	level walk.Level
	v     *Verdict
	// seen marks the first 64 required keys met.
	seen uint64
	// n counts the attributes read, TagKey apart; removed those to be removed.
	n, removed int
	edits      []edit
	tags       []tagEntry
	trim       bool
}

type editKind uint8

const (
	editRemove editKind = iota
	// editTruncate truncates val to max bytes.
	editTruncate
	// editSet sets val to set.
	editSet
	// editPut sets key to arg unless key is present.
	editPut
	// editRename moves key's value to arg unless arg is present, and removes key.
	editRename
)

type edit struct {
	kind editKind
	key  string
	// arg is the key a rename moves to, or the value a put sets.
	arg string
	// val is the value of a truncation or a replacement: a handle into the map, valid until
	// the map changes shape, so value edits are made first.
	val pcommon.Value
	max int
	set *scalar
}

// otherScalar is the value that a value outside an enum with an _OTHER member becomes.
var otherScalar = valueOf(otherValue)

type tagEntry struct {
	reason Reason
	key    string
}

// attribute checks one attribute: forbidden keys first, then the checks of its exact key
// (rules' and the registry's, or a registry template's), then glob rules, then the level's
// length bound. A violation whose action removes the attribute, or a wrong type, ends the
// checks of the attribute.
func (sc *scan) attribute(k string, val pcommon.Value) {
	if k == TagKey {
		return
	}
	sc.n++
	lc := sc.lc
	spec := lc.keys[k]
	if spec != nil && spec.required >= 0 && spec.required < 64 {
		sc.seen |= 1 << spec.required
	}
	if spec != nil && spec.forbidden != nil && sc.violation(ReasonForbiddenKey, spec.forbidden, k).ends() {
		return
	}
	for i := range lc.forbiddenGlobs {
		if g := &lc.forbiddenGlobs[i]; g.glob.Match(k) && sc.violation(ReasonForbiddenKey, g.spec.forbidden, k).ends() {
			return
		}
	}
	bounded := false
	if spec != nil {
		if !sc.values(spec, k, val) {
			return
		}
		bounded = spec.maxLenRule != nil
		if spec.sem != nil && !sc.semantic(spec.sem, spec, k, val) {
			return
		}
	} else if lc.templates != nil {
		if t := lc.template(k); t != nil && !sc.semantic(t, nil, k, val) {
			return
		}
	}
	for i := range lc.valueGlobs {
		g := &lc.valueGlobs[i]
		if !g.glob.Match(k) {
			continue
		}
		if !sc.values(g.spec, k, val) {
			return
		}
		bounded = bounded || g.spec.maxLenRule != nil
	}
	if !bounded && lc.maxLen > 0 && tooLong(val, lc.maxLen) {
		sc.tooLong(lc.maxLenRule, k, val, lc.maxLen)
	}
}

// values runs a rule's value checks; false when the attribute's checks end.
func (sc *scan) values(spec *keySpec, k string, val pcommon.Value) bool {
	if spec.kindRule != nil && !spec.kind.matches(val) {
		sc.violation(ReasonWrongType, spec.kindRule, k)
		return false
	}
	if spec.allowedRule != nil && !spec.allowed.allows(val) && sc.violation(ReasonNotAllowedValue, spec.allowedRule, k).ends() {
		return false
	}
	if spec.maxLenRule != nil && tooLong(val, spec.maxLen) {
		return !sc.tooLong(spec.maxLenRule, k, val, spec.maxLen).ends()
	}
	return true
}

func (sc *scan) tooLong(rule *ruleInfo, k string, val pcommon.Value, max int) Action {
	a := sc.violation(ReasonTooLong, rule, k)
	if a == ActionTruncate {
		sc.edit(edit{kind: editTruncate, val: val, max: max})
	}
	return a
}

// semantic runs the registry's checks; spec, when not nil, holds the rules of the same key,
// which take the place of the registry's type and enum.
func (sc *scan) semantic(sem *semAttr, spec *keySpec, k string, val pcommon.Value) bool {
	if sem.kind.top != pcommon.ValueTypeEmpty && (spec == nil || spec.kindRule == nil) && !sem.kind.matches(val) {
		sc.violation(ReasonWrongType, sem.rule, k)
		return false
	}
	if sem.deprecated {
		a := sc.violationAs(ReasonDeprecated, sem.rule, k, sem.deprecatedAction())
		if a == ActionRename {
			sc.edit(edit{kind: editRename, key: k, arg: sem.renamedTo})
		}
		if a.ends() {
			return false
		}
	}
	if sem.members == nil || spec != nil && spec.allowedRule != nil {
		return true
	}
	i := sem.members.index(val)
	switch {
	case i >= 0 && sem.memberDeprecations != nil && sem.memberDeprecations[i].deprecated:
		d := &sem.memberDeprecations[i]
		a := sem.rule.actions[ReasonDeprecated]
		if a == ActionRename && !d.renamed {
			a = ActionKeep
		}
		a = sc.violationAs(ReasonDeprecated, sem.rule, k, a)
		if a == ActionRename {
			sc.edit(edit{kind: editSet, val: val, set: &d.to})
		}
		// A value renamed is its successor, a member: nothing else to check, in either mode.
		return a != ActionRename && !a.ends()
	case i >= 0 || !sem.closed:
		return true
	case sem.other:
		sc.violationAs(ReasonNotAllowedValue, sem.rule, k, ActionMapOther)
		if sem.originalKey != "" && val.Type() == pcommon.ValueTypeStr {
			sc.keepOriginal(sem.originalKey, val.Str())
		}
		sc.edit(edit{kind: editSet, val: val, set: &otherScalar})
		// The value is now a member: nothing else to check, in either mode.
		return false
	}
	return !sc.violation(ReasonNotAllowedValue, sem.rule, k).ends()
}

// keepOriginal schedules the original of a value mapped to _OTHER for its `_original` key,
// within the length bound of that key or of the level, as if it had been sent: a sender's
// original, when present, is kept instead.
func (sc *scan) keepOriginal(key, orig string) {
	rule, bound := sc.lc.maxLenRule, sc.lc.maxLen
	if spec := sc.lc.keys[key]; spec != nil && spec.maxLenRule != nil {
		rule, bound = spec.maxLenRule, spec.maxLen
	}
	if bound > 0 && len(orig) > bound {
		switch sc.record(ReasonTooLong, rule, key, rule.actions[ReasonTooLong]) {
		case ActionTruncate:
			orig = Truncate(orig, bound)
		case ActionDropAttribute:
			return
		}
	}
	sc.edit(edit{kind: editPut, key: key, arg: orig})
}

// violation records a violation with the rule's action for its kind, and the change it
// calls for, made at the end of the map in enforce mode; it returns the action. Report mode
// records the same changes, so that its counts are those of enforce mode.
func (sc *scan) violation(r Reason, rule *ruleInfo, key string) Action {
	return sc.violationAs(r, rule, key, rule.actions[r])
}

func (sc *scan) violationAs(r Reason, rule *ruleInfo, key string, a Action) Action {
	if sc.record(r, rule, key, a) == ActionDropAttribute && r != ReasonTooManyAttributes {
		sc.edit(edit{kind: editRemove, key: key})
		sc.removed++
	}
	return a
}

// record counts a violation, and schedules its tag or asks for the record's drop.
func (sc *scan) record(r Reason, rule *ruleInfo, key string, a Action) Action {
	sc.v.add(Offender{Reason: r, Action: a, Rule: rule.name, Key: key, Level: sc.level})
	switch a {
	case ActionDropRecord:
		sc.v.Drop = sc.v.Drop || !sc.c.report
	case ActionTag:
		if !sc.c.report {
			if sc.tags == nil {
				sc.tags = make([]tagEntry, 0, 4)
			}
			sc.tags = append(sc.tags, tagEntry{reason: r, key: key})
		}
	}
	return a
}

// ends reports whether an attribute met with a is gone, or goes with its record.
func (a Action) ends() bool { return a == ActionDropAttribute || a == ActionDropRecord }

// edit schedules a change. Report mode keeps only the changes that an attribute count
// depends on.
func (sc *scan) edit(e edit) {
	if sc.c.report && (sc.lc.maxAttrs == 0 || e.kind == editTruncate || e.kind == editSet) {
		return
	}
	if sc.edits == nil {
		sc.edits = make([]edit, 0, 4)
	}
	sc.edits = append(sc.edits, e)
}

// finish checks what needs the whole map (required keys, the attribute count) and makes the
// changes that wait for the end of the map.
func (sc *scan) finish(attrs pcommon.Map) {
	lc := sc.lc
	for i := range lc.required {
		rk := &lc.required[i]
		if i < 64 && sc.seen&(1<<i) != 0 {
			continue
		}
		if i >= 64 {
			if _, ok := attrs.Get(rk.key); ok {
				continue
			}
		}
		sc.violation(ReasonMissingRequired, rk.rule, rk.key)
	}
	if lc.maxAttrs > 0 && sc.count(attrs) > lc.maxAttrs {
		sc.trim = sc.violation(ReasonTooManyAttributes, lc.maxAttrsRule, "") == ActionDropAttribute
	}
	// Report mode changes nothing, and a record to be dropped is left as it is.
	if sc.c.report || sc.v.Drop || len(sc.edits) == 0 && len(sc.tags) == 0 && !sc.trim {
		return
	}
	sc.apply(attrs)
	sc.v.Changed = true
}

// count is the number of attributes the map will hold once the edits are made.
func (sc *scan) count(attrs pcommon.Map) int {
	n := sc.n - sc.removed
	for _, e := range sc.edits {
		switch e.kind {
		case editPut:
			if _, ok := attrs.Get(e.key); !ok {
				n++
			}
		case editRename:
			// Onto a key present, a rename only removes; a removed key is not renamed.
			if _, ok := attrs.Get(e.arg); ok && !sc.removes(e.key) {
				n--
			}
		}
	}
	return n
}

func (sc *scan) apply(attrs pcommon.Map) {
	for i := range sc.edits {
		switch e := &sc.edits[i]; e.kind {
		case editTruncate:
			truncateValue(e.val, e.max)
		case editSet:
			e.set.setTo(e.val)
		}
	}
	for i := range sc.edits {
		e := &sc.edits[i]
		switch e.kind {
		case editPut:
			if _, ok := attrs.Get(e.key); !ok {
				attrs.PutStr(e.key, e.arg)
			}
		case editRename:
			if _, ok := attrs.Get(e.arg); !ok && !sc.removes(e.key) {
				dst := attrs.PutEmpty(e.arg)
				if src, ok := attrs.Get(e.key); ok {
					src.CopyTo(dst)
				}
			}
			e.kind = editRemove
		}
	}
	budget := 0
	if sc.trim {
		budget = sc.lc.maxAttrs - sc.requiredKept(attrs)
	}
	kept := 0
	attrs.RemoveIf(func(k string, _ pcommon.Value) bool {
		if k == TagKey {
			return false
		}
		if sc.removes(k) {
			return true
		}
		if !sc.trim {
			return false
		}
		if spec := sc.lc.keys[k]; spec != nil && spec.required >= 0 {
			return false
		}
		kept++
		return kept > budget
	})
	if len(sc.tags) > 0 {
		sc.tag(attrs)
	}
}

func (sc *scan) removes(k string) bool {
	for i := range sc.edits {
		if sc.edits[i].kind == editRemove && sc.edits[i].key == k {
			return true
		}
	}
	return false
}

// requiredKept is the number of required keys that the map keeps.
func (sc *scan) requiredKept(attrs pcommon.Map) int {
	n := 0
	for _, rk := range sc.lc.required {
		if _, ok := attrs.Get(rk.key); ok && !sc.removes(rk.key) {
			n++
		}
	}
	return n
}

// tag adds the tag entries to TagKey, keeping the entries it holds.
func (sc *scan) tag(attrs pcommon.Map) {
	var s pcommon.Slice
	v, ok := attrs.Get(TagKey)
	switch {
	case ok && v.Type() == pcommon.ValueTypeSlice:
		s = v.Slice()
	case ok:
		// A value of another type becomes the first entry.
		prev := v.AsString()
		s = v.SetEmptySlice()
		s.AppendEmpty().SetStr(prev)
	default:
		s = attrs.PutEmptySlice(TagKey)
	}
	for _, t := range sc.tags {
		if s.Len() >= MaxTagEntries {
			return
		}
		reason, key := t.reason.String(), t.key[:runeStart(t.key, maxTagKeyLen)]
		if !hasEntry(s, reason, key) {
			entry := reason
			if key != "" {
				entry += ":" + key
			}
			s.AppendEmpty().SetStr(entry)
		}
	}
}

// hasEntry reports whether s holds the tag entry of reason and key, without building it.
func hasEntry(s pcommon.Slice, reason, key string) bool {
	for i := 0; i < s.Len(); i++ {
		v := s.At(i)
		if v.Type() != pcommon.ValueTypeStr {
			continue
		}
		e := v.Str()
		if key == "" {
			if e == reason {
				return true
			}
			continue
		}
		if len(e) == len(reason)+1+len(key) && e[len(reason)] == ':' && e[:len(reason)] == reason && e[len(reason)+1:] == key {
			return true
		}
	}
	return false
}

// template returns the registry template that defines k, or nil.
func (lc *levelChecks) template(k string) *semAttr {
	end := min(len(k), lc.templateMax+1)
	for i := lc.templateMin; i < end; i++ {
		if k[i] == '.' {
			if t := lc.templates[k[:i]]; t != nil {
				return t
			}
		}
	}
	return nil
}
