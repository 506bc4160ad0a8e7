package main

import (
	"bytes"
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/internal/walk"
)

// batch is one line's telemetry, whatever its signal.
type batch struct {
	records      int
	strings      func(*walk.Walker)
	selectValues func(context.Context, *walk.Walker, *walk.Selector, walk.ValueVisitor) error
	marshal      func() ([]byte, error)
}

// parseBatch reads a line of the file exporter's OTLP JSON: an object whose key names the
// signal.
func parseBatch(line []byte) (batch, error) {
	key := firstKey(line)
	switch key {
	case "resourceSpans", "resource_spans":
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			return batch{}, notOTLP("traces", err)
		}
		return batch{
			records: td.SpanCount(),
			strings: func(w *walk.Walker) { w.Traces(td) },
			selectValues: func(ctx context.Context, w *walk.Walker, s *walk.Selector, v walk.ValueVisitor) error {
				return w.SelectTraces(ctx, td, s, v)
			},
			marshal: func() ([]byte, error) { return (&ptrace.JSONMarshaler{}).MarshalTraces(td) },
		}, nil
	case "resourceLogs", "resource_logs":
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return batch{}, notOTLP("logs", err)
		}
		return batch{
			records: ld.LogRecordCount(),
			strings: func(w *walk.Walker) { w.Logs(ld) },
			selectValues: func(ctx context.Context, w *walk.Walker, s *walk.Selector, v walk.ValueVisitor) error {
				return w.SelectLogs(ctx, ld, s, v)
			},
			marshal: func() ([]byte, error) { return (&plog.JSONMarshaler{}).MarshalLogs(ld) },
		}, nil
	case "resourceMetrics", "resource_metrics":
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
		if err != nil {
			return batch{}, notOTLP("metrics", err)
		}
		return batch{
			records: md.DataPointCount(),
			strings: func(w *walk.Walker) { w.Metrics(md) },
			selectValues: func(ctx context.Context, w *walk.Walker, s *walk.Selector, v walk.ValueVisitor) error {
				return w.SelectMetrics(ctx, md, s, v)
			},
			marshal: func() ([]byte, error) { return (&pmetric.JSONMarshaler{}).MarshalMetrics(md) },
		}, nil
	case "resourceProfiles", "resource_profiles":
		return batch{}, &notOTLPError{what: "OTLP JSON profiles, which field_encryption does not encrypt: only traces, logs and metrics are decrypted"}
	}
	found := "not a JSON object"
	if key != "" || bytes.HasPrefix(bytes.TrimLeft(line, " \t\r"), []byte("{")) {
		found = fmt.Sprintf("an object starting with %q", truncate(key, 64))
	}
	return batch{}, &notOTLPError{
		what:   "not OTLP JSON as the file exporter writes it",
		detail: "want an object of resourceSpans, resourceLogs or resourceMetrics, found " + found,
	}
}

// notOTLPError is a line that is not what decrypt reads: what it is, and details that may
// quote the line (so they go to stderr, never into the ledger).
type notOTLPError struct{ what, detail string }

func (e *notOTLPError) Error() string {
	if e.detail == "" {
		return e.what
	}
	return e.what + " (" + e.detail + ")"
}

func notOTLP(signal string, err error) error {
	return &notOTLPError{what: "not OTLP JSON " + signal, detail: truncate(err.Error(), 300)}
}

// firstKey is the first key of the JSON object line starts with, or "".
func firstKey(line []byte) string {
	rest := bytes.TrimLeft(line, " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return string(rest[1 : 1+end])
}
