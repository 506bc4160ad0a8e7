package apikeyscopeprocessor // import "github.com/otelwarden/warden/processor/apikeyscopeprocessor"

import (
	"context"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelwarden/warden/extension/apikeyauthextension"
	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/processor/apikeyscopeprocessor/internal/metadata"
)

// Reasons a batch is refused, as recorded in the refused metric.
const (
	reasonMissingScope    = "missing_scope"
	reasonUnauthenticated = "unauthenticated"
)

// scopeProcessor is the processor of one pipeline: it knows the pipeline's signal.
type scopeProcessor struct {
	signal      apikeys.Scope
	required    []apikeys.Scope // the signal, and audit with audit_scope
	tenantAttr  string
	keyIDAttr   string
	requireAuth bool

	telemetry       *metadata.TelemetryBuilder
	refusedMissing  metric.AddOption
	refusedUnauthed metric.AddOption
	overrides       metric.AddOption
	unauthenticated error
}

func newProcessor(set processor.Settings, cfg *Config, signal apikeys.Scope) (*scopeProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	required := []apikeys.Scope{signal}
	if cfg.AuditScope {
		required = append(required, apikeys.ScopeAudit)
	}
	sig := attribute.String("signal", string(signal))
	return &scopeProcessor{
		signal:          signal,
		required:        required,
		tenantAttr:      cfg.TenantAttribute,
		keyIDAttr:       cfg.KeyIDAttribute,
		requireAuth:     cfg.RequireAuth,
		telemetry:       tb,
		refusedMissing:  metric.WithAttributeSet(attribute.NewSet(sig, attribute.String("reason", reasonMissingScope))),
		refusedUnauthed: metric.WithAttributeSet(attribute.NewSet(sig, attribute.String("reason", reasonUnauthenticated))),
		overrides:       metric.WithAttributeSet(attribute.NewSet(sig)),
		unauthenticated: status.Errorf(codes.Unauthenticated,
			"api_key_scope: this %s pipeline takes only batches authenticated with an API key (api_key_auth); send a key", signal),
	}, nil
}

func (p *scopeProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}

// identity is who a batch was sent as; a zero identity stamps nothing.
type identity struct {
	tenant string
	keyID  string
}

// refusal is why a batch is refused: the error the receiver turns into a status for the
// sender, and the attributes it is counted under.
type refusal struct {
	err    error
	reason metric.AddOption
}

// admit decides on a batch from the client.Info of its context. A batch not authenticated
// with an API key (no auth, or auth without scopes, as from another authenticator) passes
// with nothing to stamp, unless require_auth.
func (p *scopeProcessor) admit(ctx context.Context) (identity, *refusal) {
	auth := client.FromContext(ctx).Auth
	var scopes []string
	if auth != nil {
		scopes, _ = auth.GetAttribute(apikeyauthextension.AttributeScopes).([]string)
	}
	if scopes == nil {
		if p.requireAuth {
			return identity{}, &refusal{err: p.unauthenticated, reason: p.refusedUnauthed}
		}
		return identity{}, nil
	}
	tenant, _ := auth.GetAttribute(apikeyauthextension.AttributeTenant).(string)
	keyID, _ := auth.GetAttribute(apikeyauthextension.AttributeKeyID).(string)
	for _, s := range p.required {
		if !slices.Contains(scopes, string(s)) {
			return identity{}, &refusal{reason: p.refusedMissing, err: status.Errorf(codes.PermissionDenied,
				"api_key_scope: API key %s may not send to this %s pipeline: it lacks the %s scope (it has: %s); use a key with %s",
				keyID, p.signal, s, strings.Join(scopes, ", "), p.requiredText())}
		}
	}
	return identity{tenant: tenant, keyID: keyID}, nil
}

func (p *scopeProcessor) requiredText() string {
	parts := make([]string, len(p.required))
	for i, s := range p.required {
		parts[i] = string(s)
	}
	return strings.Join(parts, " and ")
}

// stamp sets the resource's tenant (and key id) attribute and reports whether the sender had
// claimed another tenant.
func (p *scopeProcessor) stamp(res pcommon.Resource, id identity) (overridden bool) {
	attrs := res.Attributes()
	if id.tenant != "" {
		v, ok := attrs.Get(p.tenantAttr)
		switch {
		case !ok:
			attrs.PutStr(p.tenantAttr, id.tenant)
		case v.Type() != pcommon.ValueTypeStr || v.Str() != id.tenant:
			v.SetStr(id.tenant)
			overridden = true
		}
	}
	if p.keyIDAttr != "" && id.keyID != "" {
		attrs.PutStr(p.keyIDAttr, id.keyID)
	}
	return overridden
}

func (p *scopeProcessor) countOverrides(ctx context.Context, n int) {
	if n > 0 {
		p.telemetry.ProcessorAPIKeyScopeTenantOverrides.Add(ctx, int64(n), p.overrides)
	}
}

func (p *scopeProcessor) refuse(ctx context.Context, r *refusal, items int) error {
	p.telemetry.ProcessorAPIKeyScopeRefused.Add(ctx, int64(items), r.reason)
	return r.err
}

func (p *scopeProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	id, r := p.admit(ctx)
	if r != nil {
		return td, p.refuse(ctx, r, td.SpanCount())
	}
	if id == (identity{}) {
		return td, nil
	}
	n := 0
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		if p.stamp(rss.At(i).Resource(), id) {
			n++
		}
	}
	p.countOverrides(ctx, n)
	return td, nil
}

func (p *scopeProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	id, r := p.admit(ctx)
	if r != nil {
		return ld, p.refuse(ctx, r, ld.LogRecordCount())
	}
	if id == (identity{}) {
		return ld, nil
	}
	n := 0
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		if p.stamp(rls.At(i).Resource(), id) {
			n++
		}
	}
	p.countOverrides(ctx, n)
	return ld, nil
}

func (p *scopeProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	id, r := p.admit(ctx)
	if r != nil {
		return md, p.refuse(ctx, r, md.DataPointCount())
	}
	if id == (identity{}) {
		return md, nil
	}
	n := 0
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		if p.stamp(rms.At(i).Resource(), id) {
			n++
		}
	}
	p.countOverrides(ctx, n)
	return md, nil
}
