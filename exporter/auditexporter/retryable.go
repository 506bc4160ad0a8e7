package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"errors"
	"reflect"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// permanentType is the type consumererror.NewPermanent wraps errors in (unexported there).
var permanentType = reflect.TypeOf(consumererror.NewPermanent(errors.New("")))

// retryable returns err with its permanent classification hidden: consumererror.IsPermanent
// reports false, so exporterhelper retries, while errors.Is and errors.As still find every
// other error in it (audit_ledger's ErrBacklogFull, context.DeadlineExceeded, ...).
func retryable(err error) error {
	if !consumererror.IsPermanent(err) {
		return err
	}
	return retryableError{err: err}
}

type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }

// Is lets errors.Is see through to every error in e.err.
func (e retryableError) Is(target error) bool { return errors.Is(e.err, target) }

// As lets errors.As see through to every error in e.err except the permanent wrapper.
func (e retryableError) As(target any) bool {
	if t := reflect.TypeOf(target); t != nil && t.Kind() == reflect.Pointer && t.Elem() == permanentType {
		return false
	}
	return errors.As(e.err, target)
}
