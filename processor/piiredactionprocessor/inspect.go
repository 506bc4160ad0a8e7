package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadata"
)

// Finding is one finding of an Inspector: where it is and what it is, never the value.
type Finding struct {
	// Signal is traces, logs or metrics.
	Signal string
	// Service is the service.name of the resource, or "unknown_service".
	Service string
	// Key is the field path: the attribute key (user.email, customer.name for a nested map),
	// the body path (body, body.user.card), or the field's name (name, status_message, ...).
	Key string
	// Type is the pii_type (email, card, sensitive_key, name, oversize, a custom pattern's name).
	Type string
	// Action is the configured action for the finding.
	Action string
}

// Inspector finds what a pii_redaction processor with a configuration would find, through
// the processor's own code (same precedence, detectors, allow lists and key matching), and
// changes nothing: it runs as dry_run, needs no hash key (a random one is made) and no
// ledger, and records no telemetry. An Inspector is used by one goroutine at a time.
type Inspector struct {
	p      *piiProcessor
	st     *state
	values int
	onFind func(Finding)
	path   []byte
}

// NewInspector validates cfg (but its hash and ledger) and returns an Inspector for it.
func NewInspector(cfg *Config) (*Inspector, error) {
	// The hash key and the ledger play no part in what is found: they are left out, so that
	// an inspection needs neither (nor the environment variables a key may come from).
	c := *cfg
	c.DryRun, c.Ledger, c.Hash = true, nil, HashConfig{}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("pii_redaction: %w", err)
	}
	set := processor.Settings{
		ID:                component.NewID(metadata.Type),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	p, err := newProcessor(set, &c)
	if err != nil {
		return nil, err
	}
	if p.key, err = loadHashKey(c.Hash); err != nil {
		return nil, fmt.Errorf("pii_redaction: %w", err)
	}
	for _, a := range p.allActs() {
		a.setKey(&p.key)
	}
	in := &Inspector{p: p, st: p.newState()}
	in.st.onFinding = in.found
	in.st.walker.Visitor = in
	return in, nil
}

// VisitString counts the value and decides it as the processor does (dry run: unchanged).
func (in *Inspector) VisitString(loc *walk.Location, v string) (walk.Op, string) {
	in.values++
	return in.st.VisitString(loc, v)
}

func (in *Inspector) found(a *act) {
	if in.onFind == nil {
		return
	}
	loc := in.st.loc
	service := walk.ServiceName(loc.Resource)
	if service == "" {
		service = "unknown_service"
	}
	in.path = loc.AppendPath(in.path[:0])
	in.onFind(Finding{Signal: loc.Signal.String(), Service: service, Key: string(in.path), Type: a.typeName, Action: string(a.kind)})
}

// Traces reports each finding of td to fn and returns the number of values scanned; td is
// not changed. Nothing is scanned when the configuration disables traces.
func (in *Inspector) Traces(td ptrace.Traces, fn func(Finding)) int {
	if !in.p.cfg.Signals.Traces {
		return 0
	}
	return in.run(0, fn, func(w *walk.Walker) { w.Traces(td) })
}

// Logs is Traces for logs.
func (in *Inspector) Logs(ld plog.Logs, fn func(Finding)) int {
	if !in.p.cfg.Signals.Logs {
		return 0
	}
	return in.run(1, fn, func(w *walk.Walker) { w.Logs(ld) })
}

// Metrics is Traces for metrics.
func (in *Inspector) Metrics(md pmetric.Metrics, fn func(Finding)) int {
	if !in.p.cfg.Signals.Metrics {
		return 0
	}
	return in.run(2, fn, func(w *walk.Walker) { w.Metrics(md) })
}

func (in *Inspector) run(signalIdx int, fn func(Finding), walkAll func(*walk.Walker)) int {
	st := in.st
	st.signalIdx, in.onFind, in.values = signalIdx, fn, 0
	walkAll(&st.walker)
	for slot := range st.counts {
		st.counts[slot] = [len(actionNames)]int64{}
	}
	st.findings, st.loc, in.onFind = 0, nil, nil
	return in.values
}
