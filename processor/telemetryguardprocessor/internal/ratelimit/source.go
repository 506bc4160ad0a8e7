package ratelimit

import (
	"context"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// PerResource reports whether the source is a resource attribute, so that a batch is charged
// per resource (AllowAllAt when refusing, AllowAt per resource when dropping), rather than as
// a whole to the request's client metadata (SourceFromContext).
func (l *Limiter) PerResource() bool { return l.source.ResourceAttribute != "" }

// SourceFromContext is the request's source when the source is a client metadata key: its
// first value, or "" when the request has none (or the source is a resource attribute). The
// receiver must have include_metadata: true. client.Metadata.Get copies the values, which costs
// one small allocation per call.
func (l *Limiter) SourceFromContext(ctx context.Context) string {
	if l.source.MetadataKey == "" {
		return ""
	}
	if values := client.FromContext(ctx).Metadata.Get(l.source.MetadataKey); len(values) > 0 {
		return values[0]
	}
	return ""
}

// SourceFromResource is a resource's source when the source is a resource attribute: its value
// (a non-string value in its string form), or "" when the resource has none (or the source is a
// metadata key).
func (l *Limiter) SourceFromResource(res pcommon.Resource) string {
	if l.source.ResourceAttribute == "" {
		return ""
	}
	v, ok := res.Attributes().Get(l.source.ResourceAttribute)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}
