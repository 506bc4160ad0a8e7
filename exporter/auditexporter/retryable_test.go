package auditexporter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/otelwarden/warden/extension/auditledgerextension"
)

func TestRetryableHidesOnlyPermanence(t *testing.T) {
	pathErr := &fs.PathError{Op: "write", Path: "/data/audit/entries-1.jsonl", Err: errors.New("no space left on device")}
	tests := []struct {
		name string
		err  error
		is   []error
	}{
		{"permanent sentinel", consumererror.NewPermanent(auditledgerextension.ErrBacklogFull), []error{auditledgerextension.ErrBacklogFull}},
		{"wrapped, then permanent", consumererror.NewPermanent(fmt.Errorf("shipping: %w", auditledgerextension.ErrBacklogFull)), []error{auditledgerextension.ErrBacklogFull}},
		{"permanent, then wrapped", fmt.Errorf("ledger: %w", consumererror.NewPermanent(pathErr)), []error{pathErr}},
		{"joined", consumererror.NewPermanent(errors.Join(context.DeadlineExceeded, pathErr)), []error{context.DeadlineExceeded, pathErr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, consumererror.IsPermanent(tc.err))
			err := retryable(tc.err)
			assert.False(t, consumererror.IsPermanent(err), "retried by exporterhelper")
			assert.Equal(t, tc.err.Error(), err.Error())
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target)
			}
			var asPath *fs.PathError
			assert.Equal(t, errors.As(tc.err, &asPath), errors.As(err, &asPath), "errors.As to another type is unchanged")

			wrapped := fmt.Errorf("audit: recording: %w", err)
			assert.False(t, consumererror.IsPermanent(wrapped))
			for _, target := range tc.is {
				assert.ErrorIs(t, wrapped, target)
			}
		})
	}

	plain := fmt.Errorf("ledger: %w", auditledgerextension.ErrBacklogFull)
	assert.Same(t, plain, retryable(plain), "a retryable error is returned as is")
	assert.NoError(t, retryable(nil))
}
