//go:build precision

package piiredactionprocessor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestPrecisionOnLogLines runs every line of the files under $WARDEN_PRECISION_LOGS, as log
// bodies, through the zero-configuration processor and reports how many lines change, per
// file, with each changed line before and after: a measure of what the detectors take from
// real logs that hold no personal data. Real log samples stay out of the repository: run it
// with `make precision LOGS=dir`.
func TestPrecisionOnLogLines(t *testing.T) {
	dir := os.Getenv("WARDEN_PRECISION_LOGS")
	if dir == "" {
		t.Skip("WARDEN_PRECISION_LOGS names a directory of log files")
	}
	p := newTestProcessor(t, testConfig(nil))
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	}))
	sort.Strings(files)
	var total, changed int
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var lines, diff int
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			lines++
			ld := plog.NewLogs()
			lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.Body().SetStr(line)
			_, err := p.processLogs(context.Background(), ld)
			require.NoError(t, err)
			if got := lr.Body().AsString(); got != line {
				diff++
				t.Logf("%s:\n  - %s\n  + %s", filepath.Base(f), line, got)
			}
		}
		require.NoError(t, fh.Close())
		fmt.Printf("%-40s %6d lines %4d changed\n", filepath.Base(f), lines, diff)
		total += lines
		changed += diff
	}
	fmt.Printf("%-40s %6d lines %4d changed (%.3f%%)\n", "all", total, changed, 100*float64(changed)/float64(max(total, 1)))
}
