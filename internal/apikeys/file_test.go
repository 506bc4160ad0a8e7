package apikeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestSaveAndReadRoundTrip(t *testing.T) {
	f := NewFile()
	_, a, err := Generate("acme", []Scope{ScopeTraces, ScopeLogs, ScopeMetrics}, t0.Add(90*24*time.Hour), t0)
	require.NoError(t, err)
	_, b, err := Generate("acme", []Scope{ScopeAudit}, time.Time{}, t0)
	require.NoError(t, err)
	b.Revoked = t0.Add(time.Hour)
	require.NoError(t, f.Add(a))
	require.NoError(t, f.Add(b))
	require.ErrorContains(t, f.Add(a), "already in the file (keys[0])")

	path := filepath.Join(t.TempDir(), "keys.yaml")
	require.NoError(t, f.Save(path))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	got, err := ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, f, got)
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.yaml")
	f := NewFile()
	_, rec, err := Generate("acme", []Scope{ScopeTraces}, time.Time{}, t0)
	require.NoError(t, err)
	require.NoError(t, f.Add(rec))
	require.NoError(t, f.Save(path))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	// An invalid file is not written, and the old one stays whole.
	bad := *f
	bad.Keys = append([]Record{}, f.Keys...)
	bad.Keys[0].Tenant = ""
	require.ErrorContains(t, bad.Save(path), "not saved")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	// A rename that cannot happen (the target is a directory) leaves no temporary file.
	require.Error(t, f.Save(dir))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only keys.yaml: no temporary file left behind")
}

const goodHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseErrors(t *testing.T) {
	rec := func(extra string) string {
		return "format: warden-apikeys\nversion: 1\nkeys:\n  - id: k-1\n    tenant: acme\n    scopes: [traces]\n    created: 2026-12-01T10:00:00Z\n    sha256: " + goodHash + "\n" + extra
	}
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"not yaml", "format: [", []string{"not a valid YAML document"}},
		{"not a mapping", "- a", []string{"want a mapping"}},
		{"format", strings.Replace(rec(""), "warden-apikeys", "other", 1), []string{`format: got "other"`}},
		{"version", strings.Replace(rec(""), "version: 1", "version: 2", 1), []string{"version: got 2, want 1"}},
		{"unknown top field", rec("extra: 1\n"), []string{`unknown field "extra"`}},
		{"unknown record field", rec("    tenantt: x\n"), []string{`keys[0]: line 9: unknown field "tenantt"`}},
		{"keys not a list", "format: warden-apikeys\nversion: 1\nkeys: 3\n", []string{"keys: line 3: want a list"}},
		{"bad time", strings.Replace(rec(""), "2026-12-01T10:00:00Z", "yesterday", 1), []string{"keys[0]: "}},
		{"bad scope", strings.Replace(rec(""), "[traces]", "[traces, profiles]", 1), []string{`keys[0]: scopes[1]: unknown scope "profiles"`}},
		{"twice the same scope", strings.Replace(rec(""), "[traces]", "[traces, traces]", 1), []string{`keys[0]: scopes[1]: "traces" is listed twice`}},
		{"no scopes", strings.Replace(rec(""), "[traces]", "[]", 1), []string{"keys[0]: scopes: at least one"}},
		{"bad hash", strings.Replace(rec(""), goodHash, strings.ToUpper(goodHash), 1), []string{"keys[0]: sha256: want 64 lowercase hex"}},
		{"short hash", strings.Replace(rec(""), goodHash, goodHash[:10], 1), []string{"keys[0]: sha256"}},
		{"bad id", strings.Replace(rec(""), "k-1", "K_1", 1), []string{`keys[0]: id: "K_1" is not a key id`}},
		{"no tenant", strings.Replace(rec(""), "tenant: acme", "tenant: ''", 1), []string{"keys[0]: tenant"}},
		{"no created", strings.Replace(rec(""), "    created: 2026-12-01T10:00:00Z\n", "", 1), []string{"keys[0]: created: required"}},
		{"expires before created", rec("    expires: 2026-11-01T10:00:00Z\n"), []string{"keys[0]: expires: must be after created"}},
		{
			"duplicate id and hash",
			rec("  - id: k-1\n    tenant: acme\n    scopes: [logs]\n    created: 2026-12-01T10:00:00Z\n    sha256: " + goodHash + "\n"),
			[]string{`keys[1].id: "k-1" is also the id of keys[0]`, "keys[1].sha256: same hash as keys[0]"},
		},
		{
			"every problem at once",
			"format: x\nversion: 3\nkeys:\n  - id: ''\n    tenant: ''\n    scopes: [nope]\n    sha256: z\n",
			[]string{"format:", "version:", "keys[0]: id:", "keys[0]: tenant:", "keys[0]: scopes[0]:", "keys[0]: created:", "keys[0]: sha256:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	f, err := Parse([]byte(rec("")))
	require.NoError(t, err, "the base document is valid")
	assert.Len(t, f.Keys, 1)
	f, err = Parse([]byte("format: warden-apikeys\nversion: 1\nkeys:\n"))
	require.NoError(t, err)
	assert.Empty(t, f.Keys)
}

func TestReadFileNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	require.NoError(t, os.WriteFile(path, []byte("format: x\nversion: 1\n"), 0o600))
	_, err := Load(path)
	require.ErrorContains(t, err, path)
	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestGenerate(t *testing.T) {
	key, rec, err := Generate("acme", []Scope{ScopeTraces}, time.Time{}, t0)
	require.NoError(t, err)
	assert.Regexp(t, `^wk_k-[0-9a-f]{8}_[A-Za-z0-9_-]{43}$`, key)
	assert.True(t, strings.HasPrefix(key, "wk_"+rec.ID+"_"))
	assert.Equal(t, t0, rec.Created)
	assert.True(t, rec.Expires.IsZero())
	assert.True(t, rec.HasScope(ScopeTraces))
	assert.False(t, rec.HasScope(ScopeLogs))

	_, _, err = Generate("", []Scope{"nope"}, t0.Add(-time.Hour), t0)
	require.ErrorContains(t, err, "tenant")
	require.ErrorContains(t, err, `unknown scope "nope"`)
	require.ErrorContains(t, err, "expires: must be after created")

	other, _, err := Generate("acme", []Scope{ScopeTraces}, time.Time{}, t0)
	require.NoError(t, err)
	assert.NotEqual(t, key, other)
}

func TestParseScope(t *testing.T) {
	s, err := ParseScope("audit")
	require.NoError(t, err)
	assert.Equal(t, ScopeAudit, s)
	_, err = ParseScope("Traces")
	require.ErrorContains(t, err, "want traces, logs, metrics or audit")
}
