package fieldcrypt

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// Errors of encryption and decryption, for errors.Is. A returned error wraps exactly one of
// them (and, for KMS, the SDK's error too), so that a processor can tell a retryable outage
// from a permanent refusal and a decrypt tool can say why a value stays ciphertext.
var (
	// ErrNotCiphertext: the string does not start with "wenc:v1:<key id>:".
	ErrNotCiphertext = errors.New("not a field_encryption value")
	// ErrUnsupported: the payload has a version this build does not know (a newer writer).
	ErrUnsupported = errors.New("unsupported field_encryption payload")
	// ErrTampered: the value is not authentic: altered, truncated, moved from another field,
	// given another key id, or wrapped under another encryption context.
	ErrTampered = errors.New("value failed authentication (altered, truncated, or moved from another field)")
	// ErrUnknownKey: no such key: not in the keyring, not a configured KMS label, or not
	// found by KMS.
	ErrUnknownKey = errors.New("unknown key")
	// ErrShredded: the key's material was destroyed (crypto-shredding); its values are
	// unrecoverable by design.
	ErrShredded = errors.New("key shredded")
	// ErrAccessDenied: KMS refused the caller the key.
	ErrAccessDenied = errors.New("access denied")
	// ErrKeyDisabled: the key exists but may not be used now: a disabled KMS key, one pending
	// deletion or import, or a retired keyring key asked for new data keys.
	ErrKeyDisabled = errors.New("key disabled")
	// ErrUnavailable: the key provider could not answer now (throttled, unreachable, timed
	// out, internal failure). The only retryable class.
	ErrUnavailable = errors.New("key provider unavailable")
	// ErrClosed: the Encryptor or Decryptor was closed.
	ErrClosed = errors.New("closed")
)

// IsRetryable reports whether err may go away on its own: a key provider outage or
// throttling. Every other error is permanent for the key, value or field it names.
func IsRetryable(err error) bool { return errors.Is(err, ErrUnavailable) }

// kmsError classifies an AWS KMS error under one of the errors above, keeping the SDK error
// for errors.As.
func kmsError(op, label string, err error) error {
	class := ErrUnavailable
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up, or the Encryptor was closed: nothing was refused.
	case errors.As(err, &apiErr):
		class = classifyKMSCode(apiErr.ErrorCode(), apiErr.ErrorFault())
	}
	return fmt.Errorf("aws kms %s (key %s): %w: %w", op, label, class, err)
}

func classifyKMSCode(code string, fault smithy.ErrorFault) error {
	switch code {
	case "AccessDeniedException":
		return ErrAccessDenied
	case "NotFoundException", "InvalidArnException":
		return ErrUnknownKey
	case "DisabledException", "KMSInvalidStateException":
		return ErrKeyDisabled
	case "InvalidCiphertextException", "IncorrectKeyException":
		return ErrTampered
	case "ThrottlingException", "LimitExceededException", "KMSInternalException",
		"DependencyTimeoutException", "KeyUnavailableException", "InternalFailureException",
		"ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException":
		return ErrUnavailable
	}
	if fault == smithy.FaultServer {
		return ErrUnavailable
	}
	// A request KMS will refuse again (InvalidKeyUsageException for an asymmetric key,
	// ValidationException, UnsupportedOperationException): permanent, in no class above.
	return errPermanentKMS
}

// errPermanentKMS marks a KMS refusal that is neither retryable nor one of the named classes.
var errPermanentKMS = errors.New("refused by KMS")
