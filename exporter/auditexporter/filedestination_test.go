package auditexporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelwarden/warden/internal/audit/audittest"
	"github.com/otelwarden/warden/internal/sample"
)

// fileRecords counts the log records in the complete JSON lines of a file.
func fileRecords(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	n := 0
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			continue
		}
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		require.NoError(t, err)
		n += ld.LogRecordCount()
	}
	return n
}

// onlyMessage returns the message of a file that holds exactly one length-prefixed message.
func onlyMessage(t *testing.T, raw []byte) []byte {
	t.Helper()
	require.Greater(t, len(raw), 4)
	require.Equal(t, len(raw)-4, int(binary.BigEndian.Uint32(raw)), "one complete length-prefixed message")
	return raw[4:]
}

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// TestFileDestinationWritesThrough delivers through the real file exporter, configured without
// rotation, and reads the file while the exporter still runs: what the ledger records as
// delivered is in the file, not in a buffer waiting for the exporter's flush timer (1s) or
// its shutdown.
func TestFileDestinationWritesThrough(t *testing.T) {
	tests := []struct {
		name   string
		file   map[string]any
		native bool
		// check reads the file written for one batch of 20 records.
		check func(t *testing.T, raw []byte)
	}{
		{name: "json lines", file: map[string]any{}, check: func(t *testing.T, raw []byte) {
			require.True(t, bytes.HasSuffix(raw, []byte("\n")), "a complete line")
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(raw)
			require.NoError(t, err)
			assert.Equal(t, 20, ld.LogRecordCount())
		}},
		{name: "protobuf", file: map[string]any{"format": "proto"}, check: func(t *testing.T, raw []byte) {
			ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(onlyMessage(t, raw))
			require.NoError(t, err)
			assert.Equal(t, 20, ld.LogRecordCount())
		}},
		{name: "compressed messages", file: map[string]any{"compression": "zstd"}, check: func(t *testing.T, raw []byte) {
			assert.True(t, bytes.HasPrefix(onlyMessage(t, raw), zstdMagic), "a zstd frame")
		}},
		{name: "compressed file", file: map[string]any{"compression": "zstd"}, native: true, check: func(t *testing.T, raw []byte) {
			assert.True(t, bytes.HasPrefix(raw, zstdMagic), "whole zstd frames, written per batch")
			assert.Greater(t, len(raw), 100)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.native {
				const gate = "exporter.file.nativeCompression"
				require.NoError(t, featuregate.GlobalRegistry().Set(gate, true))
				t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(gate, false)) })
			}
			path := filepath.Join(t.TempDir(), "logs.out")
			tc.file["path"] = path
			cfg := newTestConfig(t, synchronous(map[string]any{"destination": map[string]any{"file": tc.file}}))
			ledger := &audittest.Ledger{}
			exp := startLogs(t, cfg, ledger, testSettings(componenttest.NewTelemetry()))
			require.NoError(t, exp.ConsumeLogs(t.Context(), sample.Logs(sample.Options{Items: 20})))
			require.Len(t, ledger.Events(), 1)

			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			tc.check(t, raw)
		})
	}
}

// TestFileDestinationAppendsAndCutsATornLine: the audited file keeps what earlier runs wrote,
// except a torn last line, which a crash left and no delivery entry covers.
func TestFileDestinationAppendsAndCutsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	cfg := newTestConfig(t, synchronous(map[string]any{"destination": map[string]any{"file": map[string]any{"path": path}}}))
	run := func() {
		exp, err := NewFactory().CreateLogs(t.Context(), testSettings(componenttest.NewTelemetry()), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(t.Context(), audittest.Host{ledgerID: &audittest.Ledger{}}))
		require.NoError(t, exp.ConsumeLogs(t.Context(), sample.Logs(sample.Options{Items: 5})))
		require.NoError(t, exp.Shutdown(context.Background()))
	}
	run()
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	torn := first[:len(first)/2]
	require.NoError(t, os.WriteFile(path, append(append([]byte(nil), first...), torn...), 0o600))

	run()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(raw, first), "the earlier run's line is kept")
	assert.Equal(t, 2*len(first), len(raw), "the torn line is gone, the new line follows the earlier one")
	assert.Equal(t, 10, fileRecords(t, path))
}

func TestCutTornLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", ""},
		{"complete", "a\nb\n", "a\nb\n"},
		{"torn", "a\nb\n{\"resource", "a\nb\n"},
		{"only a torn line", "{\"resource", ""},
		{"torn line longer than a read", "a\n" + long, "a\n"},
		{"long lines, complete", long + "\n" + long + "\n", long + "\n" + long + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			cut, err := cutTornLine(path)
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.content)-len(tc.want)), cut)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(raw))
		})
	}

	cut, err := cutTornLine(filepath.Join(t.TempDir(), "missing.jsonl"))
	require.NoError(t, err)
	assert.Zero(t, cut)
}
