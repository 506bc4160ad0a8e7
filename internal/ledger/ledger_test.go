package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/audit"
)

func sampleEvent(i int) audit.Event {
	return audit.Event{
		Actor:              audit.Actor{Type: audit.ActorUser, ID: "u-42", Email: "ops@example.com", IP: "10.0.0.7"},
		Action:             "login.success",
		Resource:           audit.Resource{Type: "session", ID: "s-1"},
		Outcome:            audit.OutcomeSuccess,
		Counts:             map[string]int64{"records": int64(i), "bytes": 1024},
		Attributes:         map[string]string{"signal": "logs"},
		Details:            map[string]any{"n": i, "ratio": 0.5, "big": 1e20, "nested": map[string]any{"z": true, "a": []any{1, "x"}}},
		ComplianceTags:     []string{"sox", "gdpr"},
		DataClassification: audit.ClassInternal,
	}
}

func TestCanonicalJSONIsStable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{`{"a": 1.0, "b": 1e3, "c": 1.50, "d": -0.000001}`, `{"a":1,"b":1000,"c":1.5,"d":-0.000001}`},
		{`{"a":"<&>\u00e9\n\u0001"}`, "{\"a\":\"<&>\u00e9\\n\\u0001\"}"},
		{`{"big": 123456789012345678901234567890}`, `{"big":123456789012345678901234567890}`},
		{`{}`, ``},
		{`null`, ``},
		{`[3, {"y": null, "x": false}]`, `[3,{"x":false,"y":null}]`},
	} {
		got, err := CanonicalJSON([]byte(tc.in))
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, string(got), tc.in)
		again, err := CanonicalJSON(got)
		require.NoError(t, err)
		assert.Equal(t, string(got), string(again), "idempotent")
	}
	_, err := CanonicalJSON([]byte(`{"a":`))
	assert.Error(t, err)
	_, err = CanonicalJSON([]byte(`{} {}`))
	assert.Error(t, err)
}

func TestPrepareValidatesAndNormalises(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	ev := sampleEvent(1)
	ev.Actor.ID = "u\x00ser\xff"
	ev.Actor.IP = "2001:DB8::1"
	p, err := Prepare(ev, now)
	require.NoError(t, err)
	assert.Equal(t, "u\uFFFDser\uFFFD", p.Event.ActorID)
	assert.Equal(t, "2001:db8::1", p.Event.ActorIP)
	assert.Equal(t, now.Truncate(time.Microsecond), p.Time)
	assert.Len(t, p.RecordID, 36)
	assert.JSONEq(t, `{"big":100000000000000000000,"n":1,"nested":{"a":[1,"x"],"z":true},"ratio":0.5}`, string(p.Event.Details))

	bad := sampleEvent(1)
	bad.Actor.IP = "not-an-ip"
	bad.Action = strings.Repeat("a", 101)
	bad.ComplianceTags = []string{""}
	_, err = Prepare(bad, now)
	require.Error(t, err)
	for _, want := range []string{"actor ip", "action longer than 100", "compliance tag"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = Prepare(audit.Event{}, now)
	assert.Error(t, err, "an invalid audit event is refused")
}

func sealed(t testing.TB, stream string, seq uint64, prev string) (Entry, []byte) {
	t.Helper()
	p, err := Prepare(sampleEvent(int(seq)), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	require.NoError(t, err)
	e := Entry{Version: SchemaVersion, StreamID: stream, Seq: seq, RecordID: p.RecordID, Time: FormatTime(p.Time),
		LedgerTime: FormatTime(p.Time), Event: p.Event, PrevHash: prev}
	line, err := e.Seal(nil)
	require.NoError(t, err)
	return e, line
}

func TestSealParseRoundTrip(t *testing.T) {
	e, line := sealed(t, "s1", 1, ZeroHash)
	assert.True(t, bytes.HasSuffix(line, []byte("}\n")))
	back, err := ParseEntry(line)
	require.NoError(t, err)
	h, err := back.ComputeHash()
	require.NoError(t, err)
	assert.Equal(t, e.Hash, h, "the hash recomputes from the stored line")
	seq, ok := PeekSeq(line)
	assert.True(t, ok)
	assert.Equal(t, e.Seq, seq)
	_, ok = PeekSeq([]byte(`{"v":1,"stream":"x"}`))
	assert.False(t, ok)

	// Every field is covered by the hash.
	mutations := []func(*Entry){
		func(x *Entry) { x.Seq++ },
		func(x *Entry) { x.RecordID += "x" },
		func(x *Entry) { x.Time = "2026-01-02T03:04:06.000000Z" },
		func(x *Entry) { x.PrevHash = strings.Repeat("1", 64) },
		func(x *Entry) { x.Event.ActorID = "someone-else" },
		func(x *Entry) { x.Event.Counts = map[string]int64{"records": 999} },
		func(x *Entry) { x.Event.Details = json.RawMessage(`{"n":2}`) },
		func(x *Entry) { x.Event.ComplianceTags = []string{"gdpr", "sox"} },
		func(x *Entry) { x.KeyID = "abc" },
	}
	for i, m := range mutations {
		c := back
		c.Event.Counts = map[string]int64{"records": 1, "bytes": 1024}
		m(&c)
		got, err := c.ComputeHash()
		require.NoError(t, err)
		assert.NotEqual(t, e.Hash, got, "mutation %d changes the hash", i)
	}

	// A JSONB-style rewrite of the documents (spaces, reordered keys) hashes the same.
	c := back
	c.Event.Details = json.RawMessage(`{"ratio": 0.5, "n": 1, "nested": {"z": true, "a": [1, "x"]}, "big": 100000000000000000000}`)
	got, err := c.ComputeHash()
	require.NoError(t, err)
	assert.Equal(t, e.Hash, got)
}

// writeStream writes n chained entries with a checkpoint after every cpEvery entries.
func writeStream(t *testing.T, root, stream string, n, cpEvery int, signer *Signer) string {
	t.Helper()
	j, head, err := OpenJournal(root, stream, JournalOptions{MaxSegmentBytes: 4 << 10})
	require.NoError(t, err)
	defer j.Close()
	prev := head.Hash
	var lastCp Checkpoint
	for i := 1; i <= n; i++ {
		e, line := sealed(t, stream, uint64(i), prev)
		require.NoError(t, j.Append(line, e.Seq, time.Now()))
		prev = e.Hash
		if i%cpEvery == 0 {
			cp := Checkpoint{StreamID: stream, FirstSeq: lastCp.Seq + 1, Seq: e.Seq, TipHash: e.Hash, PrevCheckpoint: lastCp.Hash, Time: FormatTime(time.Now()), Reason: "entries"}
			require.NoError(t, j.AppendCheckpoint(cp.Seal(signer)))
			lastCp = cp
		}
	}
	return filepath.Join(root, stream)
}

func testSigner(t *testing.T) (*Signer, map[string]ed25519.PublicKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signing.key")
	s, err := GenerateSigningKey(path)
	require.NoError(t, err)
	pub, err := LoadPublicKey(path + ".pub")
	require.NoError(t, err)
	loaded, err := LoadSigningKey(path)
	require.NoError(t, err)
	require.Equal(t, s.ID(), loaded.ID())
	return s, map[string]ed25519.PublicKey{s.ID(): pub}
}

func TestJournalReopenAndRepair(t *testing.T) {
	root := t.TempDir()
	dir := writeStream(t, root, "s1", 50, 10, nil)
	segs, err := Segments(dir)
	require.NoError(t, err)
	assert.Greater(t, len(segs), 1, "segments rotate by size")

	// A torn write at the tail is cut off when the journal is reopened.
	last := segs[len(segs)-1].Path
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"stream":"s1","seq":51,"rec`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j, head, err := OpenJournal(root, "s1", JournalOptions{RecentIDs: 5})
	require.NoError(t, err)
	defer j.Close()
	assert.Equal(t, uint64(50), head.Seq)
	assert.Equal(t, uint64(50), head.Checkpoint.Seq)
	assert.Len(t, head.RecentIDs, 5)
	assert.EqualValues(t, len(`{"v":1,"stream":"s1","seq":51,"rec`), head.RepairedBytes)

	v := &Verifier{}
	reports, failure, err := v.VerifyDir(root)
	require.NoError(t, err)
	require.Nil(t, failure)
	assert.Equal(t, uint64(50), reports[0].Entries)
}

func TestJournalRefusesCorruptHead(t *testing.T) {
	root := t.TempDir()
	dir := writeStream(t, root, "s1", 3, 10, nil)
	segs, _ := Segments(dir)
	f, err := os.OpenFile(segs[0].Path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, _ = f.WriteString("garbage that is a whole line\n")
	require.NoError(t, f.Close())
	_, _, err = OpenJournal(root, "s1", JournalOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wardenctl audit verify")
}

func rewriteLines(t *testing.T, path string, edit func(lines [][]byte) [][]byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	require.NoError(t, os.WriteFile(path, bytes.Join(edit(lines), nil), 0o600))
}

func TestVerifyFindsTampering(t *testing.T) {
	signer, pubs := testSigner(t)
	keys := map[string]ed25519.PublicKey{}
	for k, v := range pubs {
		keys[k] = v
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		kind   FailureKind
		want   string
	}{
		{"intact", func(*testing.T, string) {}, "", ""},
		{"flip one byte in a value", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte {
				l[2] = bytes.Replace(l[2], []byte("u-42"), []byte("u-43"), 1)
				return l
			})
		}, Tampered, "entry 3 (" + "SEG0 line 3): stored hash does not match"},
		{"delete one line", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) })
		}, Tampered, "entry 3 (SEG0 line 3): entry 3 is missing"},
		{"reorder two lines", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l })
		}, Tampered, "entry 2 (SEG0 line 2): entry 2 is missing"},
		{"duplicate line is benign", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			rewriteLines(t, segs[0].Path, func(l [][]byte) [][]byte {
				return append(l[:3:3], append([][]byte{l[2]}, l[3:]...)...)
			})
		}, "", ""},
		{"remove the tail", func(t *testing.T, dir string) {
			segs, _ := Segments(dir)
			require.NoError(t, os.Remove(segs[len(segs)-1].Path))
		}, Tampered, "truncated"},
		{"forge a checkpoint", func(t *testing.T, dir string) {
			rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte {
				l[0] = bytes.Replace(l[0], []byte(`"reason":"entries"`), []byte(`"reason":"interval"`), 1)
				return l
			})
		}, Tampered, "stored hash does not match its content"},
		{"drop a checkpoint", func(t *testing.T, dir string) {
			rewriteLines(t, filepath.Join(dir, checkpointsFile), func(l [][]byte) [][]byte { return l[1:] })
		}, Tampered, "does not link to the previous checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := writeStream(t, root, "s1", 40, 10, signer)
			tc.tamper(t, dir)
			v := &Verifier{Keys: map[string]ed25519.PublicKey{}}
			for k, p := range keys {
				v.Keys[k] = p
			}
			_, failure, err := v.VerifyDir(root)
			require.NoError(t, err)
			if tc.kind == "" {
				require.Nil(t, failure)
				return
			}
			require.NotNil(t, failure)
			segs, _ := Segments(dir)
			want := strings.ReplaceAll(tc.want, "SEG0", segs[0].Path)
			assert.Equal(t, tc.kind, failure.Kind)
			assert.Contains(t, failure.Error(), want)
		})
	}
}

func TestVerifySignatures(t *testing.T) {
	signer, pubs := testSigner(t)
	other, otherPubs := testSigner(t)
	_ = other
	root := t.TempDir()
	writeStream(t, root, "s1", 20, 10, signer)

	_, f, err := (&Verifier{}).VerifyDir(root)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, Unverifiable, f.Kind, "no key given")

	_, f, err = (&Verifier{SkipSignatures: true}).VerifyDir(root)
	require.NoError(t, err)
	assert.Nil(t, f)

	wrong := map[string]ed25519.PublicKey{}
	for k, p := range otherPubs {
		wrong[k] = p
	}
	_, f, err = (&Verifier{Keys: wrong}).VerifyDir(root)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, Unverifiable, f.Kind, "a key id without its public key")

	// The right id with the wrong key material: a forged signature.
	forged := map[string]ed25519.PublicKey{}
	for k := range pubs {
		for _, p := range otherPubs {
			forged[k] = p
		}
	}
	_, f, err = (&Verifier{Keys: forged}).VerifyDir(root)
	require.NoError(t, err)
	require.NotNil(t, f)
	assert.Equal(t, Tampered, f.Kind)
	assert.Contains(t, f.Msg, "signature does not verify")

	good := map[string]ed25519.PublicKey{}
	for k, p := range pubs {
		good[k] = p
	}
	reps, f, err := (&Verifier{Keys: good}).VerifyDir(root)
	require.NoError(t, err)
	require.Nil(t, f)
	assert.Equal(t, 2, reps[0].SignedCheckpoints)
	assert.Equal(t, []string{signer.ID()}, reps[0].KeyIDs)
}
