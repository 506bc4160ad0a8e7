package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/metadata"
)

// Counter slots: built-in type t is slot t-1, then the two synthetic types, then the custom
// patterns in configuration order.
const (
	numBuiltin    = int(detect.Custom) - 1
	slotSensitive = numBuiltin
	slotOversize  = numBuiltin + 1
	slotName      = numBuiltin + 2
	slotCustom0   = numBuiltin + 3
)

var signals = [...]walk.Signal{walk.SignalTraces, walk.SignalLogs, walk.SignalMetrics}

type piiProcessor struct {
	cfg    *Config
	id     component.ID
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder

	scanner  *detect.Scanner
	keys     *detect.KeyMatcher
	nameKeys *detect.NameKeyMatcher
	urls     detect.URLScrubber
	urlKeys  map[string]bool
	key      hashKey
	usesHash bool

	builtin    [numBuiltin + 1]act // by detect.Type
	custom     []act
	sensitive  act
	names      act
	oversize   act
	slotNames  []string
	countNames []string // of the summaries' counts, by slot*len(actionNames)+action

	allowKeys     map[string]bool
	allowKeyRE    *regexp.Regexp
	allowValueRE  *regexp.Regexp
	allowServices map[string]bool

	// findingAttrs[signal index][slot][action index] are the metric attributes, made once.
	findingAttrs [len(signals)][][len(actionNames)]metric.AddOption

	states sync.Pool
	// summary merges the findings into the ledger's summaries; nil without a ledger.
	summary *audit.Aggregator
}

func newProcessor(set processor.Settings, cfg *Config) (*piiProcessor, error) {
	p := &piiProcessor{cfg: cfg, id: set.ID, logger: set.Logger}
	var err error
	p.keys = detect.NewKeyMatcher(cfg.SensitiveKeys.Extra, cfg.SensitiveKeys.Exclude)
	opts := detect.Options{MaxScanBytes: cfg.Scan.MaxScanBytes, Keys: p.keys,
		PhoneRegions: append([]string{}, cfg.Detectors.Phone.Regions...)} // empty, not nil: no region
	for _, t := range detect.BuiltinTypes() {
		ac := *cfg.Detectors.byType(t)
		p.builtin[t] = newAct(ac, t.String(), int(t)-1, normalisationOf(t))
		opts.Types = opts.Types.With(t)
	}
	for i, c := range cfg.Custom {
		opts.Custom = append(opts.Custom, detect.CustomPattern{Name: c.Name, Regexp: c.Regexp})
		p.custom = append(p.custom, newAct(c.ActionConfig, c.Name, slotCustom0+i, normNone))
	}
	if p.scanner, err = detect.NewScanner(opts); err != nil {
		return nil, fmt.Errorf("pii_redaction: %w", err)
	}
	p.sensitive = newAct(cfg.SensitiveKeys.ActionConfig, detect.SensitiveKey.String(), slotSensitive, normNone)
	p.oversize = newAct(ActionConfig{Action: Action(cfg.Scan.Oversize)}, "oversize", slotOversize, normNone)
	p.names = newAct(cfg.Names.ActionConfig, "name", slotName, normLower)
	p.nameKeys = detect.NewNameKeyMatcher(cfg.Names.Extra, cfg.Names.Exclude)
	p.urls = detect.URLScrubber{Keys: p.keys, Scanner: p.scanner}
	if len(cfg.URL.SensitiveQueryParameters) > 0 {
		p.urls.Params = make(map[string]bool, len(cfg.URL.SensitiveQueryParameters))
		for _, k := range cfg.URL.SensitiveQueryParameters {
			p.urls.Params[k] = true
		}
	}
	p.urlKeys = setOf(cfg.URL.Keys)
	p.allowKeys = setOf(cfg.Allow.Keys)
	p.allowServices = setOf(cfg.Allow.Services)
	if p.allowKeyRE, err = anyOf(cfg.Allow.KeyPatterns); err != nil {
		return nil, fmt.Errorf("pii_redaction: allow.key_patterns: %w", err)
	}
	if p.allowValueRE, err = anyOf(cfg.Allow.Values); err != nil {
		return nil, fmt.Errorf("pii_redaction: allow.values: %w", err)
	}

	p.slotNames = make([]string, slotCustom0+len(cfg.Custom))
	for _, a := range p.allActs() {
		p.slotNames[a.slot] = a.typeName
		p.usesHash = p.usesHash || a.kind == ActionHash
	}
	p.countNames = countNames(p.slotNames)
	for si, sig := range signals {
		p.findingAttrs[si] = make([][len(actionNames)]metric.AddOption, len(p.slotNames))
		for slot, name := range p.slotNames {
			for ai, an := range actionNames {
				p.findingAttrs[si][slot][ai] = metric.WithAttributeSet(attribute.NewSet(
					attribute.String("pii_type", name), attribute.String("action", string(an)), attribute.String("signal", sig.String())))
			}
		}
	}
	if p.tb, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, err
	}
	p.states.New = func() any { return p.newState() }
	return p, nil
}

func (p *piiProcessor) allActs() []*act {
	out := []*act{&p.sensitive, &p.oversize, &p.names}
	for _, t := range detect.BuiltinTypes() {
		out = append(out, &p.builtin[t])
	}
	for i := range p.custom {
		out = append(out, &p.custom[i])
	}
	return out
}

func normalisationOf(t detect.Type) normalisation {
	switch t {
	case detect.Email:
		return normLower
	case detect.Card, detect.SSN, detect.Phone, detect.IBAN:
		return normAlnumUpper
	}
	return normNone
}

func setOf(ss []string) map[string]bool {
	if len(ss) == 0 {
		return nil
	}
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// anyOf compiles patterns into one regexp that matches a whole string matched by any of them.
func anyOf(patterns []string) (*regexp.Regexp, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	parts := make([]string, len(patterns))
	for i, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		parts[i] = "(?:" + p + ")"
	}
	return regexp.Compile(`^(?:` + strings.Join(parts, "|") + `)$`)
}

var ephemeralKeyWarning sync.Once

// start reads the hash key (at start, not at creation, so that `validate` needs no secret)
// and finds the ledger.
func (p *piiProcessor) start(_ context.Context, host component.Host) error {
	key, err := loadHashKey(p.cfg.Hash)
	if err != nil {
		return fmt.Errorf("pii_redaction: %w", err)
	}
	p.key = key
	for _, a := range p.allActs() {
		a.setKey(&p.key)
	}
	rec, err := audit.FromHost(host, p.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("pii_redaction: %w", err)
	}
	if !audit.IsNop(rec) {
		if p.summary, err = p.newSummaries(rec); err != nil {
			return fmt.Errorf("pii_redaction: %w", err)
		}
		p.summary.Start()
	}
	if p.key.ephemeral && p.usesHash {
		ephemeralKeyWarning.Do(func() {
			p.logger.Warn("pii_redaction: no hash key is configured, so a random key was made at start: hashed values join within this process only, not across restarts or collectors. Set hash.key_file or hash.key_env to a secret of at least 32 bytes.")
		})
	}
	if p.cfg.DryRun {
		p.logger.Warn("pii_redaction: dry_run is set: findings are counted but no data is changed")
	}
	if p.key.unkeyed {
		p.logger.Warn("pii_redaction: hash.unkeyed is set: hashes of low-entropy values (e-mails, phone numbers) can be reversed by trying candidates")
	}
	return nil
}

func (p *piiProcessor) shutdown(ctx context.Context) error {
	if p.summary != nil {
		// A failure is logged and counted by the aggregator; the telemetry was protected.
		_ = p.summary.Shutdown(ctx)
	}
	if p.tb != nil {
		p.tb.Shutdown()
	}
	return nil
}

func (p *piiProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if p.cfg.Signals.Traces {
		st := p.acquire(0)
		st.walker.Traces(td)
		p.release(ctx, st)
	}
	return td, nil
}

func (p *piiProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if p.cfg.Signals.Logs {
		st := p.acquire(1)
		st.walker.Logs(ld)
		p.release(ctx, st)
	}
	return ld, nil
}

func (p *piiProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	if p.cfg.Signals.Metrics {
		st := p.acquire(2)
		st.walker.Metrics(md)
		p.release(ctx, st)
	}
	return md, nil
}

func (p *piiProcessor) acquire(signalIdx int) *state {
	st := p.states.Get().(*state)
	st.signalIdx = signalIdx
	return st
}

// release reports the batch's findings (metrics, and the ledger summary) and returns the
// state to the pool.
func (p *piiProcessor) release(ctx context.Context, st *state) {
	if st.findings > 0 {
		attrs := p.findingAttrs[st.signalIdx]
		for slot := range st.counts {
			for ai, n := range st.counts[slot] {
				if n > 0 {
					p.tb.ProcessorPiiRedactionFindings.Add(ctx, n, attrs[slot][ai])
				}
			}
			st.counts[slot] = [len(actionNames)]int64{}
		}
		if p.summary != nil {
			st.summarize()
		}
		st.findings = 0
	}
	st.lastService, st.lastResource = "", pcommon.Resource{}
	p.states.Put(st)
}

// state is the per-call scratch space: a walker and the buffers of one batch.
type state struct {
	p         *piiProcessor
	walker    walk.Walker
	signalIdx int
	matches   []detect.Match
	out       []byte
	hash      hasher
	urlAct    detect.ActFunc
	dropValue bool
	// onFinding, when set, is told of every finding where it is counted (Inspector only).
	onFinding func(a *act)

	findings int
	counts   [][len(actionNames)]int64
	// byService counts findings per service for the ledger summary (only with a ledger),
	// indexed like countNames; spare are cleared count slices for the next batches.
	byService    map[string][]int64
	spare        [][]int64
	keyCache     map[string]uint8
	lastResource pcommon.Resource
	lastService  string
	loc          *walk.Location
}

func (p *piiProcessor) newState() *state {
	st := &state{p: p, counts: make([][len(actionNames)]int64, len(p.slotNames)),
		matches: make([]detect.Match, 0, 16), byService: map[string][]int64{}, keyCache: map[string]uint8{}}
	st.hash.mac = p.key.newMAC()
	st.urlAct = st.actURL
	fields := walk.Fields(walk.FieldAttribute)
	if p.cfg.Scan.Bodies {
		fields |= walk.Fields(walk.FieldBody)
	}
	if p.cfg.Scan.Names {
		fields |= walk.Fields(walk.FieldName, walk.FieldEventName, walk.FieldVersion, walk.FieldDescription)
	}
	if p.cfg.Scan.StatusMessages {
		fields |= walk.Fields(walk.FieldStatusMessage)
	}
	st.walker = walk.Walker{Visitor: st, Levels: walk.AllLevels, Fields: fields, Numbers: p.cfg.Scan.Numbers}
	if p.allowServices != nil {
		st.walker.SkipResource = func(res pcommon.Resource) bool { return p.allowServices[walk.ServiceName(res)] }
	}
	return st
}

// VisitString decides one value. The order is the documented precedence: allow lists, values
// already encrypted, sensitive keys, URL attributes, then the detectors.
func (st *state) VisitString(loc *walk.Location, v string) (walk.Op, string) {
	op, out := st.visit(loc, v)
	if st.p.cfg.DryRun {
		return walk.Keep, ""
	}
	return op, out
}

func (st *state) visit(loc *walk.Location, v string) (walk.Op, string) {
	if v == "" {
		return walk.Keep, ""
	}
	p := st.p
	key := loc.Key()
	if p.allowedKey(loc, key) || fieldcrypt.IsCiphertext(v) {
		return walk.Keep, ""
	}
	st.loc = loc
	kind := st.keyKind(key)
	if kind == keySensitive {
		return st.whole(&p.sensitive, v)
	}
	if (kind == keyName || kind == keyNameTail && nestedNameKey(p.nameKeys, loc)) && st.isName(v) {
		if p.names.kind != ActionKeep {
			return st.whole(&p.names, v)
		}
		st.count(&p.names) // kept, and scanned like any value below
	}
	if kind == keyURL {
		out, changed, isURL := p.urls.Scrub(v, st.urlAct)
		if isURL {
			switch {
			case st.dropValue:
				st.dropValue = false
				return walk.Delete, ""
			case changed:
				return walk.Replace, out
			}
			return walk.Keep, ""
		}
	}
	matches, truncated := p.scanner.Scan(v, st.matches[:0])
	st.matches = matches[:0]
	if truncated {
		return st.whole(&p.oversize, v)
	}
	if len(matches) == 0 {
		return walk.Keep, ""
	}
	return st.apply(v, matches)
}

// What a key says about its values.
const (
	keyPlain uint8 = iota + 1
	keySensitive
	keyURL
	keyName     // a person's name (names.*)
	keyNameTail // "name", "holder": a person's name when its map's key says so
)

// maxKeyCache bounds the per-state cache of key kinds. Attribute keys repeat on every
// record, so a few hundred entries answer nearly every lookup; past the bound the cache
// starts over, so hostile inputs with endless distinct keys cost memory only up to it.
const maxKeyCache = 4096

// keyKind classifies key once per state: the key matcher's normalisation of a key costs more
// than scanning a typical value, and keys repeat.
func (st *state) keyKind(key string) uint8 {
	if key == "" {
		return keyPlain
	}
	if k, ok := st.keyCache[key]; ok {
		return k
	}
	k := keyPlain
	switch {
	case st.p.keys.Sensitive(key):
		k = keySensitive
	case st.p.urlKeys[key]:
		k = keyURL
	}
	if k == keyPlain { // sensitive and URL keys, which are named on purpose, come first
		k = nameKeyKind(st.p.nameKeys, key, k)
	}
	if len(st.keyCache) >= maxKeyCache {
		clear(st.keyCache)
	}
	// A copy: the key may point into a request buffer that is reused or should be freed.
	st.keyCache[strings.Clone(key)] = k
	return k
}

func (p *piiProcessor) allowedKey(loc *walk.Location, key string) bool {
	if p.allowKeys == nil && p.allowKeyRE == nil {
		return false
	}
	top := loc.TopKey()
	for _, k := range [2]string{key, top} {
		if k == "" {
			continue
		}
		if p.allowKeys[k] || (p.allowKeyRE != nil && p.allowKeyRE.MatchString(k)) {
			return true
		}
	}
	return false
}

// actFor returns the action of a match.
func (p *piiProcessor) actFor(m detect.Match) *act {
	switch m.Type {
	case detect.Custom:
		return &p.custom[m.Custom]
	case detect.SensitiveKey: // "password=..." in text
		return &p.sensitive
	}
	return &p.builtin[m.Type]
}

// apply rewrites v once with every match's action; matches are sorted and do not overlap.
func (st *state) apply(v string, matches []detect.Match) (walk.Op, string) {
	p := st.p
	out := st.out[:0]
	last, changed := 0, false
	for _, m := range matches {
		// A match of a decoding view is handled as the text it stands for, so that
		// "jane%40example.com" hashes as "jane@example.com" does.
		text := detect.Decode(m.Encoding, v[m.Start:m.End])
		if p.allowValueRE != nil && p.allowValueRE.MatchString(text) {
			continue
		}
		a := p.actFor(m)
		st.count(a)
		switch a.kind {
		case ActionKeep:
			continue
		case ActionDrop:
			st.out = out
			return walk.Delete, ""
		}
		out = append(out, v[last:m.Start]...)
		out = st.appendReplacement(out, a, text)
		last, changed = m.End, true
	}
	if !changed {
		st.out = out
		return walk.Keep, ""
	}
	out = append(out, v[last:]...)
	st.out = out
	return walk.Replace, string(out)
}

// whole applies a to the whole value v (a sensitive key, or a value too long to scan).
func (st *state) whole(a *act, v string) (walk.Op, string) {
	st.count(a)
	switch a.kind {
	case ActionKeep:
		return walk.Keep, ""
	case ActionDrop:
		return walk.Delete, ""
	}
	st.out = st.appendReplacement(st.out[:0], a, v)
	return walk.Replace, string(st.out)
}

func (st *state) appendReplacement(dst []byte, a *act, text string) []byte {
	switch a.kind {
	case ActionHash:
		return st.hash.appendHash(dst, a, text)
	case ActionMask:
		if a.phone {
			return appendMaskPhone(dst, text, a.keepFirst, a.keepLast)
		}
		return appendMask(dst, text, a.keepFirst, a.keepLast)
	default:
		return append(dst, a.redactToken...)
	}
}

// actURL is the URL scrubber's callback for one part of a URL: a query value found under a
// sensitive key, or a detector's match in a part.
func (st *state) actURL(t detect.Type, custom int, s string) string {
	p := st.p
	var a *act
	switch t {
	case detect.SensitiveKey:
		a = &p.sensitive
	case detect.Custom:
		a = &p.custom[custom]
	default:
		if t < 1 || int(t) > numBuiltin {
			return detect.Redacted
		}
		a = &p.builtin[t]
	}
	if t != detect.SensitiveKey && p.allowValueRE != nil && p.allowValueRE.MatchString(s) {
		return s
	}
	st.count(a)
	switch a.kind {
	case ActionKeep:
		return s
	case ActionDrop:
		st.dropValue = true
		return a.redactToken
	}
	return string(st.appendReplacement(nil, a, s))
}

func (st *state) count(a *act) {
	st.findings++
	st.counts[a.slot][a.actIdx]++
	if st.onFinding != nil {
		st.onFinding(a)
	}
	if st.p.summary == nil || (a.kind == ActionKeep && !st.p.cfg.SummarizeKept) {
		return
	}
	if st.loc.Resource != st.lastResource || st.lastService == "" {
		st.lastResource = st.loc.Resource
		st.lastService = walk.ServiceName(st.loc.Resource)
		if st.lastService == "" {
			st.lastService = "unknown_service"
		}
	}
	st.serviceCounts(st.lastService)[a.slot*len(actionNames)+a.actIdx]++
}
