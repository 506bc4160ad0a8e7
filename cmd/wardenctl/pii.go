package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelwarden/warden/processor/piiredactionprocessor"
)

// piiScanOptions are the flags of `pii scan`.
type piiScanOptions struct {
	config    string
	processor string
	format    string
}

// piiReport is what `pii scan` found: counts only, never a value.
type piiReport struct {
	Files          []string                  `json:"files"`
	Lines          int                       `json:"lines"`
	MalformedLines int                       `json:"malformed_lines"`
	Records        map[string]int            `json:"records"`
	ValuesScanned  int                       `json:"values_scanned"`
	Findings       int                       `json:"findings"`
	Actions        map[string]string         `json:"actions"`
	ByType         map[string]int            `json:"by_type"`
	BySignal       map[string]int            `json:"by_signal"`
	ByService      map[string]int            `json:"by_service"`
	ByKey          map[string]map[string]int `json:"by_key"`
}

func newPIIReport() *piiReport {
	return &piiReport{
		Files:   []string{},
		Records: map[string]int{"traces": 0, "logs": 0, "metrics": 0},
		Actions: map[string]string{}, ByType: map[string]int{}, BySignal: map[string]int{},
		ByService: map[string]int{}, ByKey: map[string]map[string]int{},
	}
}

func (r *piiReport) add(f piiredactionprocessor.Finding) {
	r.Findings++
	r.Actions[f.Type] = f.Action
	r.ByType[f.Type]++
	r.BySignal[f.Signal]++
	r.ByService[f.Service]++
	byType := r.ByKey[f.Key]
	if byType == nil {
		byType = map[string]int{}
		r.ByKey[f.Key] = byType
	}
	byType[f.Type]++
}

func piiScanCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "scan [--config FILE [--processor pii_redaction/NAME]] [--format text|json] [FILE|-]...",
		Short: "Report what the pii_redaction processor would find, changing nothing",
		Long: `Report what the pii_redaction processor would find in the file exporter's OTLP JSON lines
(traces, logs, metrics; stdin when no FILE is given, or for -), changing nothing: counts by
type, key, signal and service, and the records and values scanned; never a value. --config
takes the processor's block or a collector configuration (default: the zero configuration).
Malformed lines are counted, reported on stderr by file and line, and skipped.`,
	}, `  0  scanned (with findings or not, with malformed lines or not)
  2  bad arguments, a bad configuration, or an input that cannot be read (every input is
     checked before any is scanned)
`, &piiScanOptions{})
}

func (o *piiScanOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "a pii_redaction configuration `FILE` (YAML): the processor's block, or a collector configuration with processors: pii_redaction[/name]; default: the zero configuration")
	fs.StringVar(&o.processor, "processor", "", "which pii_redaction processor of a collector configuration (`pii_redaction/NAME`), when it has several")
	fs.StringVar(&o.format, "format", "text", "report `FORMAT`: text or json")
}

func (o *piiScanOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if o.format != "text" && o.format != "json" {
		fmt.Fprintf(stderr, "wardenctl pii scan: --format %q: want text or json\n", o.format)
		return exitUsage
	}
	cfg, err := loadPIIConfig(o.config, o.processor)
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl pii scan: %v\n", err)
		return exitUsage
	}
	in, err := piiredactionprocessor.NewInspector(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl pii scan: --config %s: %v\n", o.config, err)
		return exitUsage
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	// Every input is checked before any is read: a typo'd path fails the run at once.
	for _, name := range inputs {
		if err := checkInput(name); err != nil {
			fmt.Fprintf(stderr, "wardenctl pii scan: %v\n", err)
			return exitUsage
		}
	}
	rep := newPIIReport()
	for _, name := range inputs {
		if err := scanInput(name, in, rep, stderr); err != nil {
			fmt.Fprintf(stderr, "wardenctl pii scan: %v\n", err)
			return exitUsage
		}
	}
	if rep.MalformedLines > 0 {
		fmt.Fprintf(stderr, "wardenctl pii scan: %d malformed %s skipped\n", rep.MalformedLines, plural(rep.MalformedLines, "line", "lines"))
	}
	if o.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "wardenctl pii scan: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	writePIIText(stdout, rep)
	return exitOK
}

// loadPIIConfig reads a pii_redaction configuration: the processor's block, or a collector
// configuration holding one under processors. No file means the zero configuration.
func loadPIIConfig(path, id string) (*piiredactionprocessor.Config, error) {
	cfg := piiredactionprocessor.NewFactory().CreateDefaultConfig().(*piiredactionprocessor.Config)
	if path == "" {
		if id != "" {
			return nil, errors.New("--processor needs --config")
		}
		return cfg, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	ret, err := confmap.NewRetrievedFromYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	conf, err := ret.AsConf()
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	if conf == nil {
		conf = confmap.New()
	}
	if conf.IsSet("processors") || conf.IsSet("service") || conf.IsSet("receivers") || conf.IsSet("exporters") {
		procs, err := conf.Sub("processors")
		if err != nil {
			return nil, fmt.Errorf("--config %s: processors: %w", path, err)
		}
		var ids []string
		for _, k := range procs.AllKeys() {
			top, _, _ := strings.Cut(k, confmap.KeyDelimiter)
			if (top == "pii_redaction" || strings.HasPrefix(top, "pii_redaction/")) && !slices.Contains(ids, top) {
				ids = append(ids, top)
			}
		}
		for top := range procs.ToStringMap() { // a processor with an empty block has no leaf keys
			if (top == "pii_redaction" || strings.HasPrefix(top, "pii_redaction/")) && !slices.Contains(ids, top) {
				ids = append(ids, top)
			}
		}
		sort.Strings(ids)
		switch {
		case id != "" && !slices.Contains(ids, id):
			return nil, fmt.Errorf("--config %s: no processor %q (found: %s)", path, id, listOrNone(ids))
		case id == "" && len(ids) == 0:
			return nil, fmt.Errorf("--config %s: a collector configuration without a pii_redaction processor", path)
		case id == "" && len(ids) > 1:
			return nil, fmt.Errorf("--config %s: several pii_redaction processors (%s): choose one with --processor", path, strings.Join(ids, ", "))
		case id == "":
			id = ids[0]
		}
		if conf, err = procs.Sub(id); err != nil {
			return nil, fmt.Errorf("--config %s: processors::%s: %w", path, id, err)
		}
	} else if id != "" {
		return nil, fmt.Errorf("--config %s: --processor %s: the file is a processor's configuration, not a collector's", path, id)
	}
	if err := conf.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return cfg, nil
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// checkInput fails for an input that cannot be read as a file of lines.
func checkInput(name string) error {
	if name == "-" {
		return nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s: is a directory; give the file exporter's files", name)
	}
	return nil
}

// scanInput scans the OTLP JSON lines of one input into rep. A line that is not OTLP JSON is
// counted and reported by number, without its content; an input that cannot be read is an
// error.
func scanInput(name string, in *piiredactionprocessor.Inspector, rep *piiReport, stderr io.Writer) error {
	input := stdin
	display := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		input, display = f, name
	}
	rep.Files = append(rep.Files, display)
	r := bufio.NewReaderSize(input, 1<<20)
	var buf []byte
	lines := 0
	for n := 1; ; n++ {
		line, rerr := readWholeLine(r, buf[:0])
		if errors.Is(rerr, errLineTooLong) {
			rep.Lines++
			lines++
			rep.MalformedLines++
			fmt.Fprintf(stderr, "wardenctl pii scan: %s: line %d: longer than %s: not a line of the file exporter\n", display, n, byteSize(maxLineBytes))
			continue
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("reading %s: %w", display, rerr)
		}
		if len(line) == 0 && rerr != nil {
			break
		}
		buf = line
		if line = bytes.TrimSpace(line); len(line) > 0 {
			rep.Lines++
			lines++
			if err := scanLine(line, in, rep); err != nil {
				rep.MalformedLines++
				fmt.Fprintf(stderr, "wardenctl pii scan: %s: line %d: %v\n", display, n, err)
			}
		}
		if rerr != nil {
			break
		}
	}
	if lines == 0 {
		fmt.Fprintf(stderr, "wardenctl pii scan: %s: no telemetry (empty)\n", display)
	}
	return nil
}

// readWholeLine is readLine that, for a line longer than maxLineBytes, reads past the rest of
// it before returning errLineTooLong, so that the next line is read whole.
func readWholeLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLineBytes+1 {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

// scanLine inspects one batch. The error says what the line is not, never what it holds:
// the decoder's messages quote the input, so they are left out.
func scanLine(line []byte, in *piiredactionprocessor.Inspector, rep *piiReport) error {
	var values int
	switch key := firstKey(line); key {
	case "resourceSpans", "resource_spans":
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			return errors.New("not OTLP JSON traces (malformed or truncated)")
		}
		rep.Records["traces"] += td.SpanCount()
		values = in.Traces(td, rep.add)
	case "resourceLogs", "resource_logs":
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return errors.New("not OTLP JSON logs (malformed or truncated)")
		}
		rep.Records["logs"] += ld.LogRecordCount()
		values = in.Logs(ld, rep.add)
	case "resourceMetrics", "resource_metrics":
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
		if err != nil {
			return errors.New("not OTLP JSON metrics (malformed or truncated)")
		}
		rep.Records["metrics"] += md.DataPointCount()
		values = in.Metrics(md, rep.add)
	case "resourceProfiles", "resource_profiles":
		return errors.New("OTLP JSON profiles, which pii_redaction does not process")
	default:
		if !json.Valid(line) {
			return errors.New("not JSON (malformed or truncated)")
		}
		return errors.New("JSON, but not OTLP as the file exporter writes it (want an object of resourceSpans, resourceLogs or resourceMetrics)")
	}
	rep.ValuesScanned += values
	return nil
}

// writePIIText writes the report for people: totals, then each breakdown by count.
func writePIIText(w io.Writer, rep *piiReport) {
	fmt.Fprintf(w, "scanned %s (%d malformed): %s, %s, %s; %s\n",
		count(rep.Lines, "line", "lines"), rep.MalformedLines,
		count(rep.Records["traces"], "span", "spans"), count(rep.Records["logs"], "log record", "log records"),
		count(rep.Records["metrics"], "data point", "data points"), count(rep.ValuesScanned, "value", "values"))
	fmt.Fprintf(w, "findings: %d\n", rep.Findings)
	if rep.Findings == 0 {
		return
	}
	section := func(title string, counts map[string]int, label func(string) string) {
		fmt.Fprintf(w, "\nby %s:\n", title)
		for _, k := range byCount(counts) {
			fmt.Fprintf(w, "  %-40s %d\n", label(k), counts[k])
		}
	}
	same := func(k string) string { return k }
	section("type", rep.ByType, func(k string) string { return k + " (" + rep.Actions[k] + ")" })
	section("signal", rep.BySignal, same)
	section("service", rep.ByService, same)
	keyTotals := make(map[string]int, len(rep.ByKey))
	for k, types := range rep.ByKey {
		for _, n := range types {
			keyTotals[k] += n
		}
	}
	section("key", keyTotals, func(k string) string {
		types := slices.Sorted(maps.Keys(rep.ByKey[k]))
		return k + " [" + strings.Join(types, ",") + "]"
	})
}

// byCount orders keys by count, largest first, then by name.
func byCount(counts map[string]int) []string {
	keys := slices.Collect(maps.Keys(counts))
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
