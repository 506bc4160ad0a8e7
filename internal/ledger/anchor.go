package ledger

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// stateVersion is the version of the state file's format.
const stateVersion = 1

// maxStateBytes bounds the state file.
const maxStateBytes = 64 << 20

// stateFile is what `wardenctl audit verify --state` keeps between runs: per stream, the newest
// checkpoint verified. The ledger verified next time must extend it.
type stateFile struct {
	Version int               `json:"version"`
	Streams map[string]Anchor `json:"streams"`
}

// LoadAnchors reads a state file; a missing file is an empty state (the first verification).
func LoadAnchors(path string) (map[string]Anchor, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]Anchor{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxStateBytes {
		return nil, fmt.Errorf("state file %s is larger than %d bytes", path, maxStateBytes)
	}
	var st stateFile
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("state file %s: unknown version %d", path, st.Version)
	}
	if st.Streams == nil {
		st.Streams = map[string]Anchor{}
	}
	return st.Streams, nil
}

// UpdateAnchors moves each verified stream's anchor to its newest checkpoint. Anchors of
// streams that were not part of this verification stay as they are.
func UpdateAnchors(anchors map[string]Anchor, reports []StreamReport, now time.Time) map[string]Anchor {
	out := make(map[string]Anchor, len(anchors)+len(reports))
	for k, a := range anchors {
		out[k] = a
	}
	for _, r := range reports {
		c := r.LastCheckpoint
		if c.Seq == 0 {
			continue
		}
		a := Anchor{Seq: c.Seq, TipHash: c.TipHash, CheckpointHash: c.Hash, KeyID: c.KeyID, VerifiedAt: FormatTime(now)}
		if r.Key != nil {
			a.Fingerprint = r.Key.Fingerprint()
		}
		out[r.Stream] = a
	}
	return out
}

// SaveAnchors writes a state file atomically: a crash leaves the old state or the new one.
func SaveAnchors(path string, anchors map[string]Anchor) error {
	raw, err := json.MarshalIndent(stateFile{Version: stateVersion, Streams: anchors}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}
