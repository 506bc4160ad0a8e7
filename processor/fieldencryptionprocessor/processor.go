package fieldencryptionprocessor // import "github.com/otelwarden/warden/processor/fieldencryptionprocessor"

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/walk"
	"github.com/otelwarden/warden/processor/fieldencryptionprocessor/internal/metadata"
)

// FailedMarker replaces a value that could not be encrypted when on_key_error is drop_field.
const FailedMarker = "[ENCRYPTION_FAILED]"

// Summary action and count names in the audit ledger.
const (
	summaryAction  = "field_encryption.encrypt"
	countEncrypted = "encrypted"
	countDropped   = "dropped"
	countRefused   = "refused"
)

var summaryCounts = []string{countEncrypted, countDropped, countRefused}

// fieldProcessor encrypts the configured fields. One instance serves every signal of a
// configuration, so that all share one data-key cache.
type fieldProcessor struct {
	cfg    *Config
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder
	id     component.ID
	sel    *walk.Selector

	provider  fieldcrypt.Provider
	keys      fieldcrypt.KeySelector
	encryptor *fieldcrypt.Encryptor
	dataKeys  uint64 // data keys already counted in the metric, under statsMu
	statsMu   sync.Mutex

	agg     *audit.Aggregator
	walkers sync.Pool

	attrs struct {
		encrypted, dropped, refused, keyErrors [4]metric.AddOption // by walk.Signal
	}
}

func newProcessor(set processor.Settings, cfg *Config) (*fieldProcessor, error) {
	patterns := make([]walk.Pattern, len(cfg.Fields))
	for i, f := range cfg.Fields {
		levels, err := walk.ParseLevels(f.Levels)
		if err != nil {
			return nil, fmt.Errorf("fields[%d].levels: %w", i, err)
		}
		patterns[i] = walk.Pattern{Key: f.Key, Levels: levels}
	}
	sel, err := walk.CompileSelector(patterns...)
	if err != nil {
		return nil, fmt.Errorf("fields: %w", err)
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &fieldProcessor{cfg: cfg, logger: set.Logger, tb: tb, id: set.ID, sel: sel}
	p.walkers.New = func() any { return &walk.Walker{} }
	for _, s := range []walk.Signal{walk.SignalTraces, walk.SignalLogs, walk.SignalMetrics} {
		sig := attribute.String("signal", s.String())
		p.attrs.encrypted[s] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "encrypted"), sig))
		p.attrs.dropped[s] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "dropped"), sig))
		p.attrs.refused[s] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "refused"), sig))
		p.attrs.keyErrors[s] = metric.WithAttributeSet(attribute.NewSet(sig))
	}
	return p, nil
}

// Start opens the key provider (creating a development keyring when configured to) and the
// ledger's aggregator.
func (p *fieldProcessor) Start(ctx context.Context, host component.Host) error {
	if err := p.openProvider(ctx); err != nil {
		return fmt.Errorf("field_encryption: %w", err)
	}
	enc, err := fieldcrypt.NewEncryptor(p.provider, fieldcrypt.CacheConfig{
		MaxAge: p.cfg.Cache.MaxAge, MaxMessages: p.cfg.Cache.MaxMessages, MaxBytes: p.cfg.Cache.MaxBytes,
	})
	if err != nil {
		return fmt.Errorf("field_encryption: cache: %w", err)
	}
	p.encryptor = enc
	rec, err := audit.FromHost(host, p.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("field_encryption: %w", err)
	}
	if !audit.IsNop(rec) {
		p.agg, err = audit.NewAggregator(audit.AggregatorSettings{
			Recorder: rec, Actor: p.id.String(), Action: summaryAction, Classification: audit.ClassRestricted,
			Interval: p.cfg.SummaryInterval, MaxKeys: maxSummaryKeys, MaxRetries: maxSummaryRetries, Logger: p.logger,
			OnFailed:  func(ctx context.Context, n int) { p.tb.ProcessorFieldEncryptionLedgerFailures.Add(ctx, int64(n)) },
			OnDropped: func(ctx context.Context, n int) { p.tb.ProcessorFieldEncryptionSummariesDropped.Add(ctx, int64(n)) },
		})
		if err != nil {
			return fmt.Errorf("field_encryption: %w", err)
		}
		p.agg.Start()
	}
	return nil
}

// Bounds of the ledger summaries: services x signals per interval, and retries of a refused
// round.
const (
	maxSummaryKeys    = 1000
	maxSummaryRetries = 6
)

func (p *fieldProcessor) openProvider(ctx context.Context) error {
	if local := p.cfg.Provider.Local.Get(); p.cfg.Provider.Local.HasValue() && local != nil {
		if _, err := os.Stat(local.Keyring); errors.Is(err, os.ErrNotExist) && local.Create {
			info, err := fieldcrypt.GenerateKeyring(local.Keyring)
			if err != nil {
				return fmt.Errorf("provider.local.keyring: creating %s: %w", local.Keyring, err)
			}
			p.logger.Warn("Created a local keyring for field encryption: this is a development key, kept in a file on this host. "+
				"Keep the file away from where the telemetry is stored, back it up (without it nothing can be decrypted), and use aws_kms in production",
				zap.String("keyring", local.Keyring), zap.String("key_id", info.ID))
		}
		lp, err := fieldcrypt.NewLocalProvider(local.Keyring)
		if err != nil {
			return fmt.Errorf("provider.local.keyring: %w", err)
		}
		p.provider, p.keys = lp, lp
		if !local.Create {
			p.logger.Info("Field encryption keys come from a local keyring file; use aws_kms to keep master keys out of the collector",
				zap.String("keyring", local.Keyring))
		}
		return nil
	}
	kcfg := p.cfg.Provider.AWSKMS.Get()
	client, err := awskms.NewClient(ctx, *kcfg)
	if err != nil {
		return fmt.Errorf("provider.aws_kms: %w", err)
	}
	kp, err := fieldcrypt.NewKMSProvider(client, fieldcrypt.KMSKeys{Default: kcfg.KeyID, Tenants: p.cfg.Tenant.Keys})
	if err != nil {
		return fmt.Errorf("provider.aws_kms: %w", err)
	}
	p.provider, p.keys = kp, kp
	return nil
}

func (p *fieldProcessor) Shutdown(ctx context.Context) error {
	var errs []error
	if p.agg != nil {
		errs = append(errs, p.agg.Shutdown(ctx))
	}
	if p.encryptor != nil {
		p.encryptor.Close()
	}
	p.tb.Shutdown()
	return errors.Join(errs...)
}

func (p *fieldProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	return td, p.process(ctx, walk.SignalTraces, func(w *walk.Walker, v walk.ValueVisitor) error {
		return w.SelectTraces(ctx, td, p.sel, v)
	})
}

func (p *fieldProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	return ld, p.process(ctx, walk.SignalLogs, func(w *walk.Walker, v walk.ValueVisitor) error {
		return w.SelectLogs(ctx, ld, p.sel, v)
	})
}

func (p *fieldProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	return md, p.process(ctx, walk.SignalMetrics, func(w *walk.Walker, v walk.ValueVisitor) error {
		return w.SelectMetrics(ctx, md, p.sel, v)
	})
}

// process walks one batch with an encrypting visitor. With on_key_error refuse, the first
// value without a key stops the walk and the batch is refused with a retryable error: values
// encrypted before it stay encrypted, the rest never leaves.
func (p *fieldProcessor) process(ctx context.Context, signal walk.Signal, walkBatch func(*walk.Walker, walk.ValueVisitor) error) error {
	w := p.walkers.Get().(*walk.Walker)
	vis := &encryptVisitor{p: p}
	err := walkBatch(w, vis)
	p.walkers.Put(w)
	vis.flushSummary(signal)
	if vis.encrypted > 0 {
		p.tb.ProcessorFieldEncryptionValues.Add(ctx, int64(vis.encrypted), p.attrs.encrypted[signal])
	}
	if vis.dropped > 0 {
		p.tb.ProcessorFieldEncryptionValues.Add(ctx, int64(vis.dropped), p.attrs.dropped[signal])
	}
	p.countDataKeys(ctx)
	if err != nil {
		p.tb.ProcessorFieldEncryptionValues.Add(ctx, 1, p.attrs.refused[signal])
		p.tb.ProcessorFieldEncryptionKeyErrors.Add(ctx, 1, p.attrs.keyErrors[signal])
		if p.agg != nil {
			p.agg.Add(audit.TelemetryKey(vis.service, signal.String()), summaryCounts, []int64{0, 0, 1})
		}
		// Not permanent: the sender keeps the batch and tries again once a key can be had.
		return fmt.Errorf("field_encryption: no data key, the batch is refused so that no plaintext leaves: %w", err)
	}
	if vis.dropped > 0 {
		p.tb.ProcessorFieldEncryptionKeyErrors.Add(ctx, 1, p.attrs.keyErrors[signal])
	}
	return nil
}

// countDataKeys adds the data keys obtained since the last call to the metric.
func (p *fieldProcessor) countDataKeys(ctx context.Context) {
	n := p.encryptor.Stats().DataKeys
	p.statsMu.Lock()
	delta := n - p.dataKeys
	p.dataKeys = n
	p.statsMu.Unlock()
	if delta > 0 {
		p.tb.ProcessorFieldEncryptionDataKeys.Add(ctx, int64(delta))
	}
}

// encryptVisitor encrypts the selected values of one batch. The key and encryption context
// are worked out once per resource.
type encryptVisitor struct {
	p *fieldProcessor

	res     pcommon.Resource
	hasRes  bool
	keyID   string
	ec      fieldcrypt.Context
	keyErr  error
	service string

	fieldBuf []byte
	field    string

	encrypted, dropped int
	perService         map[string][2]int64
}

// VisitValue encrypts v in place. A value that is a ciphertext already (from a collector
// upstream) is left as it is.
func (vis *encryptVisitor) VisitValue(ctx context.Context, loc *walk.Location, v pcommon.Value) (walk.Op, error) {
	if v.Type() == pcommon.ValueTypeStr && fieldcrypt.IsCiphertext(v.Str()) {
		return walk.Keep, nil
	}
	if !vis.hasRes || loc.Resource != vis.res {
		vis.useResource(loc.Resource)
	}
	err := vis.keyErr
	var s string
	if err == nil {
		vis.fieldBuf = loc.AppendPath(vis.fieldBuf[:0])
		if string(vis.fieldBuf) != vis.field { // compared without a copy; copied only when it changes
			vis.field = string(vis.fieldBuf)
		}
		s, err = vis.p.encryptor.Encrypt(ctx, vis.field, vis.ec, vis.keyID, v)
	}
	if err != nil {
		if vis.p.cfg.OnKeyError == OnKeyErrorRefuse {
			return walk.Keep, err
		}
		v.SetStr(FailedMarker)
		vis.count(1, 1)
		return walk.Replace, nil
	}
	v.SetStr(s)
	vis.count(0, 1)
	return walk.Replace, nil
}

// count adds one value to the batch's counts: encrypted (kind 0) or dropped (kind 1).
func (vis *encryptVisitor) count(kind, n int) {
	if kind == 0 {
		vis.encrypted += n
	} else {
		vis.dropped += n
	}
	if vis.p.agg == nil {
		return
	}
	if vis.perService == nil {
		vis.perService = map[string][2]int64{}
	}
	c := vis.perService[vis.service]
	c[kind] += int64(n)
	vis.perService[vis.service] = c
}

// useResource works out the tenant's key and the encryption context of a resource.
func (vis *encryptVisitor) useResource(res pcommon.Resource) {
	vis.res, vis.hasRes = res, true
	vis.service = walk.ServiceName(res)
	vis.keyID, vis.ec, vis.keyErr = vis.p.keyAndContext(res)
}

// keyAndContext returns the key for new data of res's tenant and the encryption context of
// its values: the tenant attribute and the configured context attributes that res has.
func (p *fieldProcessor) keyAndContext(res pcommon.Resource) (string, fieldcrypt.Context, error) {
	attrs := res.Attributes()
	ec := map[string]string{}
	tenant := ""
	if a := p.cfg.Tenant.Attribute; a != "" {
		if v, ok := attrs.Get(a); ok && v.AsString() != "" {
			tenant = v.AsString()
			ec[a] = tenant
		}
	}
	for _, a := range p.cfg.ContextAttributes {
		if v, ok := attrs.Get(a); ok && v.AsString() != "" {
			ec[a] = v.AsString()
		}
	}
	ctx, err := fieldcrypt.NewContext(ec)
	if err != nil {
		return "", fieldcrypt.Context{}, fmt.Errorf("encryption context of the resource: %w", err)
	}
	keyID, err := p.keyFor(tenant)
	return keyID, ctx, err
}

// keyFor chooses the key for a tenant: the configured mapping for a local keyring, otherwise
// the provider's choice (the KMS provider knows the mapping itself).
func (p *fieldProcessor) keyFor(tenant string) (string, error) {
	if tenant != "" && p.cfg.Provider.Local.HasValue() {
		if id, ok := p.cfg.Tenant.Keys[tenant]; ok {
			return id, nil
		}
	}
	return p.keys.KeyFor(tenant)
}

// flushSummary adds the batch's counts to the ledger's aggregator.
func (vis *encryptVisitor) flushSummary(signal walk.Signal) {
	if vis.p.agg == nil {
		return
	}
	for service, c := range vis.perService {
		vis.p.agg.Add(audit.TelemetryKey(service, signal.String()), summaryCounts, []int64{c[0], c[1], 0})
	}
}
