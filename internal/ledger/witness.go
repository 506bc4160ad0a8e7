package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The OTLP form of a witnessed checkpoint: a log record whose body is the checkpoint's stored
// line, with these event name and attributes.
const (
	WitnessEventName     = "audit.checkpoint"
	WitnessAttrStream    = "audit.stream.id"
	WitnessAttrSeq       = "audit.checkpoint.seq"
	WitnessAttrHash      = "audit.checkpoint.hash"
	WitnessAttrKeyID     = "audit.checkpoint.key_id"
	WitnessScopeName     = "github.com/otelwarden/warden/audit_ledger"
	maxWitnessFileLine   = 256 << 20
	witnessFileReadBlock = 1 << 20
)

// Witness is what an independent sink holds of a ledger: the checkpoints it received, by stream.
type Witness struct {
	Name        string
	Checkpoints map[string][]Checkpoint
}

// AppendWitnessLog appends cp to ld as one log record in its OTLP witness form.
func AppendWitnessLog(ld plog.Logs, cp *Checkpoint, observed pcommon.Timestamp) {
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(WitnessAttrStream, cp.StreamID)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(WitnessScopeName)
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName(WitnessEventName)
	lr.SetObservedTimestamp(observed)
	if t, err := ParseTime(cp.Time); err == nil {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
	}
	line := cp.AppendLine(nil)
	lr.Body().SetStr(string(line[:len(line)-1]))
	attrs := lr.Attributes()
	attrs.PutStr(WitnessAttrStream, cp.StreamID)
	attrs.PutInt(WitnessAttrSeq, int64(cp.Seq))
	attrs.PutStr(WitnessAttrHash, cp.Hash)
	if cp.KeyID != "" {
		attrs.PutStr(WitnessAttrKeyID, cp.KeyID)
	}
}

// ReadWitnessFile reads the checkpoints a file witness holds: lines that are checkpoints in
// their stored form (a copy of checkpoints.jsonl), or OTLP JSON log lines (as the file
// exporter writes them) whose records carry checkpoints in their witness form.
func ReadWitnessFile(path string) (*Witness, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := &Witness{Name: path, Checkpoints: map[string][]Checkpoint{}}
	lr := newLineReader(f, maxWitnessFileLine, witnessFileReadBlock)
	var unmarshaler plog.JSONUnmarshaler
	for n := 1; ; n++ {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &LineError{File: path, Line: n, Err: err}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte(`{"v":`)) {
			c, err := ParseCheckpoint(line)
			if err != nil {
				return nil, &LineError{File: path, Line: n, Err: err}
			}
			w.add(c)
			continue
		}
		ld, err := unmarshaler.UnmarshalLogs(line)
		if err != nil {
			return nil, &LineError{File: path, Line: n, Err: fmt.Errorf("neither a checkpoint nor OTLP JSON logs: %w", err)}
		}
		if err := w.addLogs(ld); err != nil {
			return nil, &LineError{File: path, Line: n, Err: err}
		}
	}
	w.sort()
	return w, nil
}

// addLogs adds the checkpoints of the witness log records in ld.
func (w *Witness) addLogs(ld plog.Logs) error {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				if lr.EventName() != WitnessEventName {
					continue
				}
				c, err := ParseCheckpoint([]byte(lr.Body().Str()))
				if err != nil {
					return fmt.Errorf("witness log record: %w", err)
				}
				w.add(c)
			}
		}
	}
	return nil
}

func (w *Witness) add(c Checkpoint) { w.Checkpoints[c.StreamID] = append(w.Checkpoints[c.StreamID], c) }

func (w *Witness) sort() {
	for _, cps := range w.Checkpoints {
		sort.SliceStable(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	}
}

// CheckWitness compares a verified ledger with a witness: every checkpoint the witness holds
// must be in the ledger, identical. A ledger that lacks one was rolled back or truncated; one
// that holds another at the same place forked. whole says the result covers every stream of
// the ledger, so a witnessed stream that is missing was removed.
func CheckWitness(r *Result, w *Witness, whole bool) {
	if r.Failed() {
		return
	}
	streams := make([]string, 0, len(w.Checkpoints))
	for s := range w.Checkpoints {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, stream := range streams {
		cps := w.Checkpoints[stream]
		rep := r.report(stream)
		if rep == nil {
			if whole {
				r.Failure = &Failure{Kind: Tampered, Stream: stream, Where: w.Name,
					Msg: fmt.Sprintf("the witness holds %d checkpoints of this stream (up to entry %d), but the ledger has no such stream: it was removed", len(cps), cps[len(cps)-1].Seq)}
				return
			}
			continue
		}
		var newest uint64
		for i := range cps {
			c := &cps[i]
			where := fmt.Sprintf("%s, checkpoint for entries %d..%d", w.Name, c.FirstSeq, c.Seq)
			if c.ComputeHash() != c.Hash {
				r.Failure = &Failure{Kind: Tampered, Stream: stream, Where: where, Msg: "the witnessed checkpoint's hash does not match its content (the witness copy was edited)"}
				return
			}
			h, ok := rep.CheckpointHashes[c.Seq]
			switch {
			case !ok:
				r.Failure = &Failure{Kind: Tampered, Stream: stream, Where: where,
					Msg: fmt.Sprintf("the witness holds a checkpoint for entries up to %d that the ledger does not have (the ledger's newest covers up to %d): the ledger was rolled back, truncated or replaced", c.Seq, rep.LastCheckpoint.Seq)}
				return
			case h != c.Hash:
				r.Failure = &Failure{Kind: Tampered, Stream: stream, Where: where,
					Msg: fmt.Sprintf("the ledger's checkpoint for entries up to %d is not the witnessed one: the ledger was rewritten (a fork)", c.Seq)}
				return
			}
			newest = max(newest, c.Seq)
		}
		unwitnessed := 0
		for seq := range rep.CheckpointHashes {
			if seq > newest {
				unwitnessed++
			}
		}
		if unwitnessed > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d newest checkpoints are not in witness %s yet", unwitnessed, w.Name))
		}
	}
}

// ParseTime reads a time as the ledger writes it.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeLayout, s) }
