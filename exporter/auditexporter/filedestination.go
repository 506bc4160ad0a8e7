package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"bytes"
	"errors"
	"io/fs"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// The file exporter keeps what it writes in an in-memory buffer, flushed on a timer, unless
// rotation is configured: then each batch goes to the file in the call that delivers it. A
// delivery is recorded once that call returns, so an audited file must be written through,
// and the audit exporter gives a file destination without rotation one that never triggers.
const neverRotateMegabytes = 1 << 30 // 1 PiB

// writeThrough makes cfg write every batch straight to its file (appending, as rotation
// does). It reports whether sub sets `append: false`, which would truncate the file at start
// and cannot be honoured.
func writeThrough(cfg *fileexporter.Config, sub *confmap.Conf) (truncates bool) {
	if cfg.Rotation != nil {
		return false
	}
	truncates = sub.IsSet("append") && !cfg.Append
	// The file exporter refuses append together with rotation; with rotation it appends anyway.
	cfg.Append = false
	cfg.Rotation = &fileexporter.Rotation{MaxMegabytes: neverRotateMegabytes}
	return truncates
}

// jsonLinesFile is the path of a file destination written as OTLP JSON lines, whose torn
// last line can be found and cut off at start; empty for other destinations and formats
// (protobuf, an encoding extension, compression, one file per group).
func jsonLinesFile(cfg component.Config) string {
	fc, ok := cfg.(*fileexporter.Config)
	if !ok || fc.FormatType != "json" || fc.Encoding != nil || fc.Compression != "" || (fc.GroupBy != nil && fc.GroupBy.Enabled) {
		return ""
	}
	return fc.Path
}

// cutTornLine truncates the file at path after its last newline and returns how many bytes
// it cut. The file exporter writes a batch and its newline in two writes, so a crash between
// or during them leaves a line without its newline; that batch was never recorded as
// delivered, and the next line appended to it would make both unreadable.
func cutTornLine(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return 0, err
	}
	size := info.Size()
	buf := make([]byte, 64<<10)
	keep := int64(0)
	for end := size; end > 0; {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if keep == size {
		return 0, nil
	}
	return size - keep, f.Truncate(keep)
}
