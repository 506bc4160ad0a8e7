package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/walk"
)

// Bounds of the work spent on one run.
const (
	// maxSelectors is how many compiled selectors (one per set of encrypted fields met in a
	// line) are kept for the lines that follow.
	maxSelectors = 256
	// maxCandidates is how many field names a value that fails authentication is tried under,
	// to tell a value moved from another field from one altered.
	maxCandidates = 64
	// maxTrials bounds those tries over a whole run (each may be a KMS call).
	maxTrials = 4096
)

// lineDecrypter decrypts the field_encryption values of OTLP JSON lines. It walks each batch
// twice with the shared walker: a string walk finds every value of the form and the field it
// is bound to (Location.AppendPath, as the processor binds it), then a selection walk over
// exactly those fields decrypts each value and replaces it whole with its typed value.
type lineDecrypter struct {
	dec *fieldcrypt.Decryptor
	// pendingDeletion reports whether a KMS key label names a key pending deletion (a
	// shredded tenant); nil with a keyring.
	pendingDeletion func(ctx context.Context, label string) bool
	tally           *tally

	w         walk.Walker
	find      cipherFinder
	selectors map[string]*walk.Selector

	candidates   []string
	isCandidate  map[string]bool
	trials       int
	visited      int
	changed      bool
	field        []byte
	selectorKeys strings.Builder
}

func newLineDecrypter(dec *fieldcrypt.Decryptor, t *tally) *lineDecrypter {
	ld := &lineDecrypter{dec: dec, tally: t, selectors: map[string]*walk.Selector{}, isCandidate: map[string]bool{}}
	ld.find.attrs = map[string]walk.LevelSet{}
	ld.find.bodies = map[string]bool{}
	ld.find.onField = ld.addCandidate
	ld.w = walk.Walker{Visitor: &ld.find, Levels: walk.AllLevels, Fields: walk.AllFields}
	return ld
}

// lineError is what stopped the decrypt at a line.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// decryptLine returns line n with its values decrypted: the line itself when nothing changed,
// else the batch marshalled again as the file exporter writes it. An error is a line that is
// not OTLP JSON, or a key provider that cannot answer: the run stops.
func (ld *lineDecrypter) decryptLine(ctx context.Context, n int, line []byte) ([]byte, error) {
	out, err := ld.decrypt(ctx, line)
	if err != nil {
		return nil, &lineError{line: n, err: err}
	}
	return out, nil
}

func (ld *lineDecrypter) decrypt(ctx context.Context, line []byte) ([]byte, error) {
	b, err := parseBatch(line)
	if err != nil {
		return nil, err
	}
	ld.tally.lines++
	ld.tally.records += int64(b.records)
	ld.find.reset()
	b.strings(&ld.w)
	ld.visited, ld.changed = 0, false
	if ld.find.found > 0 {
		sel, err := ld.selector()
		if err != nil {
			return nil, err
		}
		if err := b.selectValues(ctx, &ld.w, sel, ld); err != nil {
			return nil, err
		}
		if missed := ld.find.found - ld.visited; missed > 0 {
			ld.tally.leftEncrypted(reasonUnreached, "", "", "", int64(missed))
		}
	}
	for _, st := range ld.find.strays {
		if err := ld.classifyStray(ctx, st); err != nil {
			return nil, err
		}
	}
	if !ld.changed {
		return line, nil
	}
	out, err := b.marshal()
	if err != nil {
		return nil, fmt.Errorf("writing it back: %w", err)
	}
	return out, nil
}

// VisitValue decrypts a selected value that is a field_encryption value and replaces it with
// the value that was encrypted; one that may not be decrypted stays as it is and is counted.
func (ld *lineDecrypter) VisitValue(ctx context.Context, loc *walk.Location, v pcommon.Value) (walk.Op, error) {
	if v.Type() != pcommon.ValueTypeStr || !fieldcrypt.IsCiphertext(v.Str()) {
		return walk.Keep, nil
	}
	ld.visited++
	ld.field = loc.AppendPath(ld.field[:0])
	field, s := string(ld.field), v.Str()
	plain, err := ld.dec.Decrypt(ctx, field, s)
	if err != nil {
		reason, from, fatal := ld.refusal(ctx, field, s, err)
		if fatal != nil {
			return walk.Keep, fatal
		}
		ld.tally.leftEncrypted(reason, keyIDOf(s), field, from, 1)
		return walk.Keep, nil
	}
	ld.tally.decrypted(keyIDOf(s), field)
	plain.CopyTo(v)
	ld.changed = true
	return walk.Replace, nil
}

// refusal classifies why s, found at field, was not decrypted. A key provider that cannot
// answer is fatal: every value after it would wait for it in vain.
func (ld *lineDecrypter) refusal(ctx context.Context, field, s string, err error) (reason, from string, fatal error) {
	if fieldcrypt.IsRetryable(err) {
		return "", "", fmt.Errorf("the key provider cannot answer, nothing more is decrypted: %w", err)
	}
	reason = refusalReason(err)
	switch reason {
	case reasonTampered:
		if from = ld.boundField(ctx, field, s); from != "" {
			reason = reasonMoved
		}
	case reasonKeyDisabled:
		if ld.pendingDeletion != nil && ld.pendingDeletion(ctx, keyIDOf(s)) {
			reason = reasonShredded
		}
	}
	return reason, from, nil
}

// boundField is the field, among those met in the input, that s authenticates under, or "".
func (ld *lineDecrypter) boundField(ctx context.Context, field, s string) string {
	for _, c := range ld.candidates {
		if c == field {
			continue
		}
		if ld.trials >= maxTrials {
			return ""
		}
		ld.trials++
		if _, err := ld.dec.Decrypt(ctx, c, s); err == nil {
			return c
		}
	}
	return ""
}

// addCandidate notes a field met in the input, under which a value that fails
// authentication elsewhere is tried.
func (ld *lineDecrypter) addCandidate(field string) {
	if len(ld.candidates) < maxCandidates && !ld.isCandidate[field] {
		ld.isCandidate[field] = true
		ld.candidates = append(ld.candidates, field)
	}
}

// classifyStray counts a value found where field_encryption never writes one (inside a nested
// map or slice, or in a name): it stays as it is. One that authenticates, under its own path
// or another field's name, was moved there.
func (ld *lineDecrypter) classifyStray(ctx context.Context, st strayValue) error {
	reason, from := reasonMoved, st.field
	if _, err := ld.dec.Decrypt(ctx, st.field, st.value); err != nil {
		var fatal error
		if reason, from, fatal = ld.refusal(ctx, st.field, st.value, err); fatal != nil {
			return fatal
		}
	}
	ld.tally.leftEncrypted(reason, keyIDOf(st.value), st.field, from, 1)
	return nil
}

// selector is the compiled selector of the fields the string walk found, kept for the lines
// with the same fields.
func (ld *lineDecrypter) selector() (*walk.Selector, error) {
	attrs := slices.Sorted(maps.Keys(ld.find.attrs))
	bodies := slices.Sorted(maps.Keys(ld.find.bodies))
	k := &ld.selectorKeys
	k.Reset()
	for _, a := range attrs {
		k.WriteString(strconv.Itoa(int(ld.find.attrs[a])))
		k.WriteByte(':')
		k.WriteString(strconv.Quote(a))
	}
	for _, b := range bodies {
		k.WriteString(strconv.Quote(b))
	}
	if sel, ok := ld.selectors[k.String()]; ok {
		return sel, nil
	}
	patterns := make([]walk.Pattern, 0, len(attrs)+len(bodies))
	for _, a := range attrs {
		patterns = append(patterns, walk.Pattern{Key: a, Levels: ld.find.attrs[a]})
	}
	for _, b := range bodies {
		patterns = append(patterns, walk.Pattern{Key: b})
	}
	sel, err := walk.CompileSelector(patterns...)
	if err != nil {
		return nil, fmt.Errorf("selecting the encrypted fields: %w", err)
	}
	if len(ld.selectors) >= maxSelectors {
		clear(ld.selectors)
	}
	ld.selectors[k.String()] = sel
	return sel, nil
}

// cipherFinder is the string walk's visitor: it notes the fields of the field_encryption
// values of a batch, as selector patterns, and the values found where no pattern reaches.
type cipherFinder struct {
	attrs  map[string]walk.LevelSet // attribute pattern → levels
	bodies map[string]bool          // body paths
	found  int                      // values the patterns select
	strays []strayValue
	buf    []byte
	// onField is told the field of each value the patterns select.
	onField func(field string)
}

// strayValue is a value of the form found where field_encryption never writes one.
type strayValue struct{ field, value string }

func (f *cipherFinder) reset() {
	clear(f.attrs)
	clear(f.bodies)
	f.found = 0
	f.strays = f.strays[:0]
}

// VisitString notes s when it is a field_encryption value. The processor encrypts top-level
// attributes and log body paths through maps; each is selected by its field's name.
func (f *cipherFinder) VisitString(loc *walk.Location, s string) (walk.Op, string) {
	if !fieldcrypt.IsCiphertext(s) {
		return walk.Keep, ""
	}
	f.buf = loc.AppendPath(f.buf[:0])
	switch {
	case loc.Field == walk.FieldAttribute && loc.Depth() == 1:
		f.attrs[attrPattern(loc.At(0).Key)] |= walk.Levels(loc.Level)
		f.found++
		f.onField(loc.At(0).Key)
	case loc.Field == walk.FieldBody && bodyPathSelects(loc, f.buf):
		f.bodies[string(f.buf)] = true
		f.found++
		f.onField(string(f.buf))
	default:
		f.strays = append(f.strays, strayValue{field: string(f.buf), value: s})
	}
	return walk.Keep, ""
}

// attrPattern is the pattern that selects the attribute key: the key itself, or "*" at its
// level for a key that a pattern cannot spell exactly (one holding a star, one that reads as a
// body path, or one with surrounding spaces). The visitor only decrypts values of the form,
// so selecting more than the key costs a look, never a wrong decryption.
func attrPattern(key string) string {
	if strings.Contains(key, "*") || key == "body" || strings.HasPrefix(key, "body.") || strings.HasPrefix(key, "body[") ||
		(walk.Pattern{Key: key}).Validate() != nil {
		return "*"
	}
	return key
}

// bodyPathSelects reports whether a body path can select the value at loc: through maps
// only.
func bodyPathSelects(loc *walk.Location, path []byte) bool {
	for i := range loc.Depth() {
		if loc.At(i).IsIndex {
			return false
		}
	}
	return (walk.Pattern{Key: string(path)}).Validate() == nil
}

// keyIDOf is the key id of a field_encryption value (IsCiphertext holds).
func keyIDOf(s string) string {
	rest := s[len(fieldcrypt.Prefix):]
	return rest[:strings.IndexByte(rest, ':')]
}
