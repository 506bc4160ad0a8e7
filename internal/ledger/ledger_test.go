package ledger

import (
	"bytes"
	"encoding/json"
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
