package fieldcrypt

import "context"

// Provider makes data keys and unwraps them, under named keys: the local keyring (Keyring,
// LocalProvider) or AWS KMS (KMSProvider). Errors wrap one of the package's error classes
// (ErrUnknownKey, ErrShredded, ErrAccessDenied, ErrKeyDisabled, ErrTampered, ErrUnavailable).
// Implementations are safe for concurrent use.
type Provider interface {
	// GenerateDataKey returns a new random 32-byte data key and its copy wrapped under keyID
	// and bound to ec, the whole encryption context (the field included). The caller zeroes
	// plaintext once it has used it.
	GenerateDataKey(ctx context.Context, keyID string, ec Context) (plaintext, wrapped []byte, err error)
	// Decrypt unwraps a data key that GenerateDataKey wrapped under keyID and ec; any other
	// key id or context fails.
	Decrypt(ctx context.Context, keyID string, wrapped []byte, ec Context) (plaintext []byte, err error)
}

// KeySelector chooses the key for new data of a tenant ("" for data without one): the tenant's
// own key when it has one, else the default key.
type KeySelector interface {
	KeyFor(tenant string) (keyID string, err error)
}
