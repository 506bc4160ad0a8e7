package ratelimit

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRefusalError(t *testing.T) {
	assert.NoError(t, RefusalError(Decision{Allowed: true, Oversized: true}))

	err := fmt.Errorf("telemetry_guard: %w", RefusalError(refused(ExceededBytes, 1300*time.Millisecond)))
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.False(t, consumererror.IsPermanent(err), "senders retry")
	var refusal *Refusal
	require.ErrorAs(t, err, &refusal)
	assert.Equal(t, &Refusal{Exceeded: ExceededBytes, RetryAfter: 2 * time.Second}, refusal)
	assert.EqualError(t, err, "telemetry_guard: rate limit exceeded: over this source's bytes per second, retry after 2s")

	// What the OTLP receiver reads: the status, through the wrapping, with its retry delay.
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Equal(t, err.Error(), st.Message())
	assert.Equal(t, 2*time.Second, retryDelay(t, st))
}

func TestRetryHintIsWholeSeconds(t *testing.T) {
	for wait, want := range map[time.Duration]time.Duration{
		0:                        time.Second,
		time.Nanosecond:          time.Second,
		time.Second:              time.Second,
		time.Second + 1:          2 * time.Second,
		1200 * time.Millisecond:  2 * time.Second,
		2 * time.Second:          2 * time.Second,
		90500 * time.Millisecond: 91 * time.Second,
	} {
		assert.Equal(t, want, retryHint(wait), "wait %s", wait)
	}
}

func TestRefusalMessageNamesTheLimit(t *testing.T) {
	for exceeded, want := range map[Exceeded]string{
		ExceededRecords:                 "records per second",
		ExceededBytes:                   "bytes per second",
		ExceededRecords | ExceededBytes: "records and bytes per second",
	} {
		assert.ErrorContains(t, RefusalError(refused(exceeded, time.Second)), want)
	}
}

func retryDelay(t *testing.T, st *status.Status) time.Duration {
	t.Helper()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			return info.GetRetryDelay().AsDuration()
		}
	}
	require.Failf(t, "no RetryInfo", "details: %v", st.Details())
	return 0
}

func TestRefusalJoinedKeepsItsStatus(t *testing.T) {
	// A receiver feeding several pipelines gets their errors joined.
	err := errors.Join(errors.New("other pipeline: ok"), RefusalError(refused(ExceededRecords, time.Second)))
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Equal(t, time.Second, retryDelay(t, st))
}
