package ratelimit

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrRateLimited is what every refusal of the rate guard matches with errors.Is.
var ErrRateLimited = errors.New("rate limit exceeded")

// Refusal is the error of a batch refused by the rate guard. It is retryable, not permanent
// (consumererror.IsPermanent is false). It carries a gRPC status, which the OTLP receiver
// answers as is, also when the error is wrapped: code RESOURCE_EXHAUSTED with a RetryInfo
// detail over gRPC, and over HTTP status 429 with a Retry-After header of the same delay. The
// RetryInfo matters: the OTLP exporter retries RESOURCE_EXHAUSTED only when the server sends it.
type Refusal struct {
	// Exceeded names the limits the batch exceeded.
	Exceeded Exceeded
	// RetryAfter is the delay asked of the sender: the decision's wait rounded up to whole
	// seconds, at least one, since Retry-After counts whole seconds and the receiver truncates.
	RetryAfter time.Duration
}

// RefusalError is the error refusing a batch the limiter did not allow, and nil for an allowed
// batch.
func RefusalError(d Decision) error {
	if d.Allowed {
		return nil
	}
	return &Refusal{Exceeded: d.Exceeded, RetryAfter: retryHint(d.RetryAfter)}
}

func retryHint(wait time.Duration) time.Duration {
	if wait <= time.Second {
		return time.Second
	}
	if rounded := wait.Truncate(time.Second); rounded < wait {
		return rounded + time.Second
	}
	return wait
}

// Error names the exceeded limits and the delay; never the source, which may be a secret.
func (r *Refusal) Error() string {
	what := "records and bytes"
	switch r.Exceeded {
	case 0:
		what = "limits"
	case ExceededRecords:
		what = "records"
	case ExceededBytes:
		what = "bytes"
	}
	return fmt.Sprintf("%s: over this source's %s per second, retry after %s", ErrRateLimited, what, r.RetryAfter)
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (r *Refusal) Unwrap() error { return ErrRateLimited }

// GRPCStatus is RESOURCE_EXHAUSTED with a RetryInfo detail holding RetryAfter.
func (r *Refusal) GRPCStatus() *status.Status {
	st := status.New(codes.ResourceExhausted, r.Error())
	if detailed, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.RetryAfter)}); err == nil {
		return detailed
	}
	return st
}
