package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// Why a value stays encrypted: the classes of fieldcrypt's errors, and two of the decrypt's
// own.
const (
	reasonShredded     = "shredded"
	reasonAccessDenied = "access_denied"
	reasonUnknownKey   = "unknown_key"
	reasonKeyDisabled  = "key_disabled"
	reasonMoved        = "moved"
	reasonTampered     = "tampered"
	reasonUnsupported  = "unsupported"
	reasonMalformed    = "malformed"
	reasonRefused      = "refused"
	reasonUnreached    = "unreached"
)

// reasons, in the order they are reported, with what each means.
var reasons = []struct {
	name  string
	class error // nil: decided by the decrypt itself
	means string
}{
	{reasonShredded, fieldcrypt.ErrShredded, "the key was shredded (a keyring key, or a KMS key pending deletion): unrecoverable by design"},
	{reasonAccessDenied, fieldcrypt.ErrAccessDenied, "KMS refused the key to this caller"},
	{reasonUnknownKey, fieldcrypt.ErrUnknownKey, "no such key in the keyring, or no KMS key given for the label"},
	{reasonKeyDisabled, fieldcrypt.ErrKeyDisabled, "the KMS key is disabled"},
	{reasonMoved, nil, "authentic, but not where it was written: moved from the field it is bound to"},
	{reasonTampered, fieldcrypt.ErrTampered, "fails authentication: altered, truncated, or bound to a field not met in the input"},
	{reasonUnsupported, fieldcrypt.ErrUnsupported, "a payload version this wardenctl does not know"},
	{reasonMalformed, fieldcrypt.ErrNotCiphertext, "not a well-formed field_encryption value"},
	{reasonRefused, nil, "refused by the key provider"},
	{reasonUnreached, nil, "found, but not reached by the selection walk"},
}

// refusalReason classifies a permanent decryption error.
func refusalReason(err error) string {
	for _, r := range reasons {
		if r.class != nil && errors.Is(err, r.class) {
			return r.name
		}
	}
	return reasonRefused
}

// Bounds of what is counted by field, so that input with endless field names cannot make a
// report (or a ledger entry) grow without end.
const (
	maxTallyRows  = 256
	maxFieldBytes = 200
	otherFields   = "(other fields)"
)

// fieldRow is a key id and a field (and, for a moved value, the field it is bound to).
type fieldRow struct{ keyID, field, from string }

// tally counts what a decrypt did. It never holds a value.
type tally struct {
	lines, records, decryptedTotal, leftTotal int64
	byReason                                  map[string]int64
	decryptedBy                               map[fieldRow]int64
	leftBy                                    map[string]map[fieldRow]int64
}

func newTally() *tally {
	return &tally{byReason: map[string]int64{}, decryptedBy: map[fieldRow]int64{}, leftBy: map[string]map[fieldRow]int64{}}
}

func (t *tally) decrypted(keyID, field string) {
	t.decryptedTotal++
	countRow(t.decryptedBy, fieldRow{keyID: keyID, field: field}, 1)
}

func (t *tally) leftEncrypted(reason, keyID, field, from string, n int64) {
	t.leftTotal += n
	t.byReason[reason] += n
	rows := t.leftBy[reason]
	if rows == nil {
		rows = map[fieldRow]int64{}
		t.leftBy[reason] = rows
	}
	if from == field {
		from = ""
	}
	countRow(rows, fieldRow{keyID: keyID, field: field, from: from}, n)
}

func countRow(rows map[fieldRow]int64, r fieldRow, n int64) {
	r.field, r.from = clipField(r.field), clipField(r.from)
	if _, ok := rows[r]; !ok && len(rows) >= maxTallyRows {
		r = fieldRow{keyID: otherFields, field: otherFields}
	}
	rows[r] += n
}

func clipField(f string) string {
	if len(f) <= maxFieldBytes {
		return f
	}
	return truncate(f, maxFieldBytes)
}

// sortedRows lists rows by count, most first, then by key id and field.
func sortedRows(rows map[fieldRow]int64) []fieldRow {
	out := make([]fieldRow, 0, len(rows))
	for r := range rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b fieldRow) int {
		return cmp.Or(cmp.Compare(rows[b], rows[a]), cmp.Compare(a.keyID, b.keyID), cmp.Compare(a.field, b.field), cmp.Compare(a.from, b.from))
	})
	return out
}

// report writes, for each reason, how many fields stay encrypted, by key and field.
func (t *tally) report(w io.Writer) {
	for _, r := range reasons {
		rows := t.leftBy[r.name]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "wardenctl decrypt: %s left encrypted, %s: %s\n", fields(t.byReason[r.name]), r.name, r.means)
		for _, row := range sortedRows(rows) {
			fmt.Fprintf(w, "  %s: %d\n", row.describe(), rows[row])
		}
	}
}

func (r fieldRow) describe() string {
	if r.keyID == "" && r.field == "" {
		return "(no key or field known)"
	}
	s := "key " + r.keyID + ", field " + fieldName(r.field)
	if r.from != "" {
		s += " (bound to " + fieldName(r.from) + ")"
	}
	return s
}

// fieldName shows a field as it is, or quoted when it holds spaces or characters that are not
// printable.
func fieldName(f string) string {
	if f != "" && strconv.CanBackquote(f) && !strings.ContainsAny(f, " \t") {
		return f
	}
	return strconv.Quote(f)
}

// summary is the last line: lines, records, fields decrypted and left encrypted by reason.
func (t *tally) summary() string {
	s := fmt.Sprintf("%s, %s, %s decrypted, %d left encrypted", count(t.lines, "line", "lines"), count(t.records, "record", "records"), fields(t.decryptedTotal), t.leftTotal)
	if t.leftTotal > 0 {
		s += " (" + t.reasonList(" ") + ")"
	}
	return s
}

// reasonList is "shredded 3, tampered 1" (with sep " ") in the order of reasons.
func (t *tally) reasonList(sep string) string {
	var parts []string
	for _, r := range reasons {
		if n := t.byReason[r.name]; n > 0 {
			parts = append(parts, r.name+sep+strconv.FormatInt(n, 10))
		}
	}
	return strings.Join(parts, ", ")
}

func fields(n int64) string {
	if n == 1 {
		return "1 field"
	}
	return strconv.FormatInt(n, 10) + " fields"
}

// ledgerCounts are the event's counts: totals and fields left encrypted by reason.
func (t *tally) ledgerCounts() map[string]int64 {
	c := map[string]int64{
		"lines": t.lines, "records": t.records,
		"fields_decrypted": t.decryptedTotal, "fields_left_encrypted": t.leftTotal,
	}
	for reason, n := range t.byReason {
		c["left_encrypted."+reason] = n
	}
	return c
}

// ledgerDetails are the event's breakdown by key id and field name, never values: at most
// maxDetailRows rows a list, the rest summed in a last row.
func (t *tally) ledgerDetails() map[string]any {
	var decrypted []detailRow
	for _, r := range sortedRows(t.decryptedBy) {
		decrypted = append(decrypted, detailRow{row: r, count: t.decryptedBy[r]})
	}
	var left []detailRow
	for _, reason := range reasons {
		rows := t.leftBy[reason.name]
		for _, r := range sortedRows(rows) {
			left = append(left, detailRow{reason: reason.name, row: r, count: rows[r]})
		}
	}
	return map[string]any{"decrypted": detailList(decrypted), "left_encrypted": detailList(left)}
}

// maxDetailRows keeps a ledger entry well under its size limit.
const maxDetailRows = 200

type detailRow struct {
	reason string
	row    fieldRow
	count  int64
}

func detailList(rows []detailRow) []any {
	out := []any{}
	var rest int64
	for i, d := range rows {
		if i >= maxDetailRows {
			rest += d.count
			continue
		}
		m := map[string]any{"key_id": d.row.keyID, "field": d.row.field, "count": d.count}
		if d.reason != "" {
			m["reason"] = d.reason
		}
		if d.row.from != "" {
			m["bound_to_field"] = d.row.from
		}
		out = append(out, m)
	}
	if rest > 0 {
		out = append(out, map[string]any{"key_id": otherFields, "field": otherFields, "count": rest})
	}
	return out
}
