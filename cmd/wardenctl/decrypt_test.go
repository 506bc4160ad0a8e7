package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// TestDecryptRestoresEveryField: the processor's values of every type (string, int, double,
// bool, bytes, map, slice, empty map), on attributes of every level and on body paths, in
// traces, logs and metrics lines mixed in one file, decrypt to exactly the batches that were
// encrypted.
func TestDecryptRestoresEveryField(t *testing.T) {
	keyring := newKeyring(t)
	require.Equal(t, exitOK, first3(runKeys("keys", "rotate", "--keyring", keyring, "--tenant", "acme")))
	enc := startEncryption(t, keyringConfig(keyring))
	all := []exported{
		enc.encrypt(t, tracesBatch("acme")),
		enc.encrypt(t, logsBatch("")),
		enc.encrypt(t, metricsBatch("acme")),
		enc.encrypt(t, logsBatch("acme")),
		enc.encrypt(t, tracesBatch("")),
	}
	total := 0
	for _, e := range all {
		assertNoPlaintext(t, e.encrypted)
		total += ciphertexts(e.encrypted)
	}
	// Per span: 8 attributes of every type and the header, an event's password, a link's;
	// the resource's api key and the scope's.
	assert.Equal(t, 2+2*(8+1+1+1), ciphertexts(all[0].encrypted))
	// Per record: 8 attributes, the header and three body paths; the resource's api key.
	assert.Equal(t, 1+2*(8+1+3), ciphertexts(all[1].encrypted))
	// The resource's; metadata, 8 attributes and an exemplar on the sum; the gauge's and the
	// histogram's.
	assert.Equal(t, 1+1+8+1+1+1, ciphertexts(all[2].encrypted))

	dir := t.TempDir()
	in := writeLines(t, filepath.Join(dir, "export.jsonl"), all...)
	out := filepath.Join(dir, "clear.jsonl")
	code, stdout, errOut := runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", out)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, stdout, "the data goes to --out")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, plainLines(all...), string(got))
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "plaintext is the owner's only")
	records := 2 + 3 + 3 + 3 + 2 // spans, log records, data points
	assert.Contains(t, errOut, "wardenctl decrypt: 5 lines, "+strconv.Itoa(records)+" records, "+strconv.Itoa(total)+" fields decrypted, 0 left encrypted\n")
	assertNoPlaintext(t, errOut)

	// The types, read back: not strings that look like them.
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(strings.Split(string(got), "\n")[1]))
	require.NoError(t, err)
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	attrs := lr.Attributes()
	assertValue(t, attrs, "billing.api_key", pcommon.ValueTypeInt, int64(math.MaxInt64))
	assertValue(t, attrs, "search.api_key", pcommon.ValueTypeDouble, -0.25)
	assertValue(t, attrs, "feature.api_key", pcommon.ValueTypeBool, true)
	assertValue(t, attrs, "raw.api_key", pcommon.ValueTypeBytes, []byte{0, 1, 2, 255})
	assertValue(t, attrs, "nested.api_key", pcommon.ValueTypeMap, map[string]any{"secret": "s3cr3t-nested", "list": []any{int64(1), "two", 3.5}})
	assertValue(t, attrs, "list.api_key", pcommon.ValueTypeSlice, []any{"a", int64(2), map[string]any{"k": "v"}})
	assertValue(t, attrs, "empty.api_key", pcommon.ValueTypeMap, map[string]any{})
	card, _ := lr.Body().Map().Get("card")
	assertValue(t, card.Map(), "number", pcommon.ValueTypeInt, int64(4111111111111111))
}

func assertValue(t *testing.T, m pcommon.Map, key string, typ pcommon.ValueType, want any) {
	t.Helper()
	v, ok := m.Get(key)
	require.True(t, ok, key)
	assert.Equal(t, typ, v.Type(), key)
	assert.Equal(t, want, v.AsRaw(), key)
}

// TestDecryptStdinToStdout: without --in and --out the lines come from stdin and go to
// stdout; blank lines pass as they are; the report goes to stderr.
func TestDecryptStdinToStdout(t *testing.T) {
	keyring := newKeyring(t)
	enc := startEncryption(t, keyringConfig(keyring))
	logs, metrics := enc.encrypt(t, logsBatch("acme")), enc.encrypt(t, metricsBatch(""))
	in := logs.encrypted + "\n\n" + metrics.encrypted // no newline at the end
	code, stdout, errOut := wardenctlIn(strings.NewReader(in), "decrypt", "--keyring", keyring)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, logs.plain+"\n\n"+metrics.plain+"\n", stdout)
	assert.Contains(t, errOut, "wardenctl decrypt: 2 lines, ")
	assert.NotContains(t, errOut, fieldcrypt.Prefix)

	code, stdout, errOut = wardenctlIn(strings.NewReader(logs.encrypted+"\n"), "decrypt", "--keyring", keyring, "--in", "-", "--out", "-")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, logs.plain+"\n", stdout)
}

// TestDecryptReportsWhatStaysEncrypted: a value altered, a value moved to another attribute,
// one copied into a nested map and one naming a key the keyring lacks stay as they are and
// are reported by reason, key and field (never by value); every other field decrypts.
func TestDecryptReportsWhatStaysEncrypted(t *testing.T) {
	keyring := newKeyring(t)
	enc := startEncryption(t, keyringConfig(keyring))
	batch := enc.encrypt(t, logsBatch(""))
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(batch.encrypted))
	require.NoError(t, err)
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	rec1, rec2 := records.At(0).Attributes(), records.At(1).Attributes()

	// Moved: record 1's password becomes its "token".
	pw, _ := rec1.Get("password")
	moved := pw.Str()
	rec1.PutStr("token", moved)
	rec1.Remove("password")
	// Copied into a nested map of record 2.
	pw2, _ := rec2.Get("password")
	nested := pw2.Str()
	rec2.PutEmptyMap("copy").PutStr("password", nested)
	// Altered: one payload character of record 2's int.
	bill, _ := rec2.Get("billing.api_key")
	altered := flipPayloadChar(bill.Str())
	rec2.PutStr("billing.api_key", altered)
	// Another key id: one the keyring does not have.
	feat, _ := rec2.Get("feature.api_key")
	keyID := keyIDOf(feat.Str())
	unknown := strings.Replace(feat.Str(), ":"+keyID+":", ":k-000000:", 1)
	rec2.PutStr("feature.api_key", unknown)

	line := line(t, ld)
	left := []string{moved, nested, altered, unknown}
	code, stdout, errOut := wardenctlIn(strings.NewReader(line+"\n"), "decrypt", "--keyring", keyring)
	require.Equal(t, exitLeftEncrypted, code, errOut)
	for _, v := range left {
		assert.Contains(t, stdout, v, "a value that may not be decrypted stays as it was")
		assert.NotContains(t, errOut, v, "the report never shows a value")
	}
	assert.Equal(t, len(left), ciphertexts(stdout))
	assertNoPlaintext(t, errOut)

	assert.Contains(t, errOut, "wardenctl decrypt: 2 fields left encrypted, moved: ")
	assert.Contains(t, errOut, "  key "+keyID+", field token (bound to password): 1\n")
	assert.Contains(t, errOut, "  key "+keyID+", field copy.password (bound to password): 1\n")
	assert.Contains(t, errOut, "wardenctl decrypt: 1 field left encrypted, tampered: ")
	assert.Contains(t, errOut, "  key "+keyID+", field billing.api_key: 1\n")
	assert.Contains(t, errOut, "wardenctl decrypt: 1 field left encrypted, unknown_key: ")
	assert.Contains(t, errOut, "  key k-000000, field feature.api_key: 1\n")
	decrypted := ciphertexts(batch.encrypted) - 3 // the three values taken from where they were
	assert.Contains(t, errOut, "wardenctl decrypt: 1 line, 3 records, "+strconv.Itoa(decrypted)+" fields decrypted, 4 left encrypted (unknown_key 1, moved 2, tampered 1)\n")
	assert.Contains(t, errOut, "wardenctl decrypt: some fields stay encrypted: unknown_key 1, moved 2, tampered 1\n")

	// Everything else is restored.
	out, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(stdout))
	require.NoError(t, err)
	lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assertValue(t, lrs.At(0).Attributes(), "billing.api_key", pcommon.ValueTypeInt, int64(math.MaxInt64))
	assertValue(t, lrs.At(1).Attributes(), "password", pcommon.ValueTypeStr, "hunter2")
	assertValue(t, lrs.At(1).Attributes(), "search.api_key", pcommon.ValueTypeDouble, -0.25)
}

// flipPayloadChar changes one character in the middle of a value's payload.
func flipPayloadChar(s string) string {
	i := len(s) - 30
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestDecryptWithAnotherKeyring: every value names a key the keyring lacks.
func TestDecryptWithAnotherKeyring(t *testing.T) {
	enc := startEncryption(t, keyringConfig(newKeyring(t)))
	batch := enc.encrypt(t, metricsBatch(""))
	code, stdout, errOut := wardenctlIn(strings.NewReader(batch.encrypted+"\n"), "decrypt", "--keyring", newKeyring(t))
	assert.Equal(t, exitLeftEncrypted, code, errOut)
	assert.Equal(t, batch.encrypted+"\n", stdout)
	n := ciphertexts(batch.encrypted)
	assert.Contains(t, errOut, "wardenctl decrypt: "+strconv.Itoa(n)+" fields left encrypted, unknown_key: no such key in the keyring")
	assert.Contains(t, errOut, "0 fields decrypted, "+strconv.Itoa(n)+" left encrypted (unknown_key "+strconv.Itoa(n)+")")
}

// TestDecryptRefusesInputThatIsNotOTLP: a line that is not OTLP JSON stops the decrypt with
// an error naming the line; nothing reaches --out.
func TestDecryptRefusesInputThatIsNotOTLP(t *testing.T) {
	keyring := newKeyring(t)
	enc := startEncryption(t, keyringConfig(keyring))
	good := enc.encrypt(t, logsBatch("")).encrypted
	tests := []struct {
		name, in, wantErr string
	}{
		{"text", good + "\nnot json\n", "line 2: not OTLP JSON as the file exporter writes it (want an object of resourceSpans, resourceLogs or resourceMetrics, found not a JSON object)"},
		{"another object", `{"foo":1}` + "\n", `line 1: not OTLP JSON as the file exporter writes it (want an object of resourceSpans, resourceLogs or resourceMetrics, found an object starting with "foo")`},
		{"broken logs", good + "\n" + good + "\n" + `{"resourceLogs":[{"scopeLogs":5}]}` + "\n", "line 3: not OTLP JSON logs (ReadArray: "},
		{"truncated", good[:len(good)/2] + "\n", "line 1: not OTLP JSON logs ("},
		{"profiles", `{"resourceProfiles":[]}` + "\n", "line 1: OTLP JSON profiles, which field_encryption does not encrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
			require.NoError(t, os.WriteFile(in, []byte(tt.in), 0o600))
			code, _, errOut := runKeys("decrypt", "--keyring", keyring, "--in", in, "--out", out)
			assert.Equal(t, exitUsage, code, errOut)
			assert.Contains(t, errOut, "wardenctl decrypt: "+tt.wantErr)
			assert.Contains(t, errOut, "wardenctl decrypt: nothing was written to "+out+"\n")
			assert.NoFileExists(t, out)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file is left behind")
		})
	}

	// With a ledger, the stopped decrypt is recorded, in words that never quote the input.
	ledgerDir := filepath.Join(t.TempDir(), "audit")
	broken := good + "\n" + `{"resourceLogs":[{"scopeLogs":"hunter2"}]}` + "\n"
	code, stdout, errOut := wardenctlIn(strings.NewReader(broken), "decrypt", "--keyring", keyring, "--ledger-dir", ledgerDir, "--ledger-stream", "wardenctl-t")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout, "held until recorded, and never released")
	assert.Contains(t, errOut, "wardenctl decrypt: the stopped decrypt is recorded in the audit ledger (stream wardenctl-t in "+ledgerDir+")")
	evs := ledgerEvents(t, ledgerDir, "wardenctl-t", actionDecrypt)
	require.Len(t, evs, 1)
	assert.Equal(t, "failure", evs[0].Status)
	assert.Equal(t, "stopped, nothing written: line 2: not OTLP JSON logs", evs[0].ErrorMessage)
	assert.Equal(t, int64(ciphertexts(good)), evs[0].Counts["fields_decrypted"])
	assertNoPlaintext(t, journalText(t, ledgerDir))

	// To stdout without a ledger, the lines before the error were written.
	code, stdout, errOut = wardenctlIn(strings.NewReader(good+"\nnot json\n"), "decrypt", "--keyring", keyring)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, 1, strings.Count(stdout, "\n"))
	assert.Contains(t, errOut, "the lines before it were written to stdout")

	// Lines are bounded.
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 1024
	code, _, errOut = wardenctlIn(strings.NewReader(good+"\n"), "decrypt", "--keyring", keyring)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "line 1: longer than 1024 bytes")
}

func TestDecryptUsage(t *testing.T) {
	keyring := newKeyring(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.jsonl")
	require.NoError(t, os.WriteFile(existing, []byte("keep me\n"), 0o600))
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "give the keys: either --keyring FILE, or --aws-kms-key-id ID and/or --aws-kms-tenant-key TENANT=ID"},
		{[]string{"--keyring", keyring, "--aws-kms-key-id", "alias/x"}, "give the keys: either"},
		{[]string{"--keyring", keyring, "--aws-region", "eu-west-1"}, "--aws-region and --aws-endpoint go with the KMS keys"},
		{[]string{"--keyring", keyring, "stray"}, `unexpected argument "stray"`},
		{[]string{"--aws-kms-tenant-key", "acme"}, `--aws-kms-tenant-key "acme": want TENANT=ID`},
		{[]string{"--aws-kms-tenant-key", "acme=warden"}, `--aws-kms-tenant-key acme=: "warden" is not a KMS key id`},
		{[]string{"--aws-kms-key-id", "alias/x", "--aws-endpoint", "localhost:1"}, `--aws-endpoint: "localhost:1": want an http:// or https:// URL`},
		{[]string{"--keyring", filepath.Join(dir, "none.json")}, "no such file"},
		{[]string{"--keyring", keyring, "--in", filepath.Join(dir, "none.jsonl")}, "--in: open"},
		{[]string{"--keyring", keyring, "--out", existing}, "--out " + existing + ": file already exists: refusing to replace it"},
		{[]string{"--keyring", keyring, "--ledger-signing-key", "k"}, "go with --ledger-dir or --ledger-postgres"},
	}
	for _, tt := range tests {
		code, stdout, errOut := wardenctlIn(strings.NewReader(""), append([]string{"decrypt"}, tt.args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", tt.args, errOut)
		assert.Empty(t, stdout)
		assert.Contains(t, errOut, tt.wantErr, "%v", tt.args)
	}
	got, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(got))
}

func first3(code int, _, _ string) int { return code }
