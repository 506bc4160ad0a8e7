package fieldcrypt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/loopback"
)

// countingKMS counts the calls that reach a KMS API, and sends them to a closed port while
// down is set: a KMS outage as the production client sees it.
type countingKMS struct {
	up, unreachable                KMSAPI
	down                           atomic.Bool
	generateDataKeyCalls, decrypts atomic.Int64
}

func (c *countingKMS) api() KMSAPI {
	if c.down.Load() {
		return c.unreachable
	}
	return c.up
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generateDataKeyCalls.Add(1)
	return c.api().GenerateDataKey(ctx, in, o...)
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypts.Add(1)
	return c.api().Decrypt(ctx, in, o...)
}

// kmsFixture is a local-kms with a default key and a tenant key, reached through the
// production client (awskms.NewClient).
type kmsFixture struct {
	srv                   *kmstest.Server
	api                   *countingKMS
	provider              *KMSProvider
	defaultKey, acmeKey   string
	defaultARN, acmeAlias string
}

func newKMSFixture(t *testing.T) kmsFixture {
	t.Helper()
	srv := kmstest.Start(t)
	defaultKey := srv.CreateSymmetricKey(t)
	acmeKey := srv.CreateSymmetricKey(t)
	srv.CreateAlias(t, "alias/warden-acme", acmeKey)
	srv.Setenv(t)

	client, err := awskms.NewClient(context.Background(), awskms.Config{KeyID: defaultKey, Region: srv.Region(), Endpoint: srv.Endpoint()})
	require.NoError(t, err)
	closed := "http://" + loopback.FreeAddr(t)
	unreachable, err := awskms.NewClient(context.Background(), awskms.Config{KeyID: defaultKey, Region: srv.Region(), Endpoint: closed})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, c := range []*kms.Client{client, unreachable} {
			if hc, ok := c.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
				hc.CloseIdleConnections()
			}
		}
	})

	api := &countingKMS{up: client, unreachable: unreachable}
	p, err := NewKMSProvider(api, KMSKeys{Default: srv.KeyARN(defaultKey), Tenants: map[string]string{"acme": "alias/warden-acme"}})
	require.NoError(t, err)
	return kmsFixture{srv: srv, api: api, provider: p, defaultKey: defaultKey, acmeKey: acmeKey, defaultARN: srv.KeyARN(defaultKey), acmeAlias: "alias/warden-acme"}
}

func TestKMSProviderDataKeys(t *testing.T) {
	f := newKMSFixture(t)
	ctx := context.Background()
	ec := mustContext(t, map[string]string{"tenant.id": "acme"}).withField("card.number")

	label, err := f.provider.KeyFor("acme")
	require.NoError(t, err)
	assert.Equal(t, "acme", label)
	label, err = f.provider.KeyFor("globex")
	require.NoError(t, err)
	assert.Equal(t, DefaultLabel, label, "a tenant not listed uses the default key")
	keyID, ok := f.provider.KeyID("acme")
	assert.True(t, ok)
	assert.Equal(t, "alias/warden-acme", keyID)

	for _, label := range []string{DefaultLabel, "acme"} {
		t.Run(label, func(t *testing.T) {
			pt, wrapped, err := f.provider.GenerateDataKey(ctx, label, ec)
			require.NoError(t, err)
			require.Len(t, pt, dataKeySize)
			t.Logf("local-kms CiphertextBlob of an AES_256 data key: %d bytes", len(wrapped))

			got, err := f.provider.Decrypt(ctx, label, wrapped, ec)
			require.NoError(t, err)
			assert.Equal(t, pt, got)

			for _, bad := range []struct {
				name string
				ec   Context
			}{
				{"other field", mustContext(t, map[string]string{"tenant.id": "acme"}).withField("card.cvv")},
				{"other tenant", mustContext(t, map[string]string{"tenant.id": "globex"}).withField("card.number")},
				{"no resource context", Context{}.withField("card.number")},
			} {
				_, err := f.provider.Decrypt(ctx, label, wrapped, bad.ec)
				require.ErrorIs(t, err, ErrTampered, bad.name)
				var invalid *types.InvalidCiphertextException
				assert.ErrorAs(t, err, &invalid, "the SDK error is kept")
			}
			other := DefaultLabel
			if label == DefaultLabel {
				other = "acme"
			}
			_, err = f.provider.Decrypt(ctx, other, wrapped, ec)
			require.ErrorIs(t, err, ErrTampered, "the label pins the KMS key")
		})
	}
}

// The encryption context KMS sees is the field and the resource attributes, never the value.
func TestKMSEncryptionContextHoldsNoValue(t *testing.T) {
	var seen map[string]string
	api := &fakeKMS{generate: func(in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		seen = in.EncryptionContext
		assert.Equal(t, types.DataKeySpecAes256, in.KeySpec)
		assert.Equal(t, "alias/warden", aws.ToString(in.KeyId))
		return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 32), CiphertextBlob: []byte("blob")}, nil
	}}
	p, err := NewKMSProvider(api, KMSKeys{Default: "alias/warden"})
	require.NoError(t, err)
	e := newEncryptor(t, p, CacheConfig{MaxAge: time.Hour})
	ec := mustContext(t, map[string]string{"tenant.id": "acme", "service.name": "checkout"})
	_, err = e.Encrypt(context.Background(), "user.password", ec, DefaultLabel, pcommon.NewValueStr("hunter2"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{FieldKey: "user.password", "tenant.id": "acme", "service.name": "checkout"}, seen)
}

// End to end through local-kms: values encrypt and decrypt per tenant, a million... (see the
// benchmark) and 100,000 values cost one GenerateDataKey and one Decrypt.
func TestKMSRoundTripAndCallCount(t *testing.T) {
	f := newKMSFixture(t)
	ctx := context.Background()
	enc := newEncryptor(t, f.provider, CacheConfig{MaxAge: time.Hour})
	dec := newDecryptor(t, f.provider)
	acme := mustContext(t, map[string]string{"tenant.id": "acme"})

	for _, tc := range valueCases() {
		s, err := enc.Encrypt(ctx, "body.card", acme, "acme", tc.v)
		require.NoError(t, err, tc.name)
		got, err := dec.Decrypt(ctx, "body.card", s)
		require.NoError(t, err, tc.name)
		assertSameValue(t, tc.v, got)
	}
	assert.Equal(t, int64(1), f.api.generateDataKeyCalls.Load())
	assert.Equal(t, int64(1), f.api.decrypts.Load())

	const n = 100_000
	values := make([]string, 0, n)
	v := pcommon.NewValueStr("Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo")
	for range n {
		s, err := enc.Encrypt(ctx, "http.request.header.authorization", Context{}, DefaultLabel, v)
		require.NoError(t, err)
		values = append(values, s)
	}
	for _, s := range values {
		got, err := dec.Decrypt(ctx, "http.request.header.authorization", s)
		require.NoError(t, err)
		require.Equal(t, v.Str(), got.Str())
	}
	assert.Equal(t, int64(2), f.api.generateDataKeyCalls.Load(), "100,000 values: one more GenerateDataKey")
	assert.Equal(t, int64(2), f.api.decrypts.Load(), "and one more Decrypt")
	assert.Equal(t, uint64(2), enc.Stats().DataKeys)
	assert.Equal(t, uint64(2), dec.Stats().Unwraps)
}

// A KMS outage mid-stream: values keep being encrypted under the cached data key until its
// age, the renewals fail without holding up any value, then Encrypt fails closed
// (retryably, no ciphertext, no plaintext); once KMS is back, encryption resumes.
func TestKMSOutageMidStream(t *testing.T) {
	f := newKMSFixture(t)
	ctx := context.Background()
	enc := newEncryptor(t, f.provider, CacheConfig{MaxAge: time.Minute})
	clock := newFakeClock()
	enc.now = clock.Now
	dec := newDecryptor(t, f.provider)
	v := pcommon.NewValueStr("4111111111111111")
	encrypt := func() (string, error) { return enc.Encrypt(ctx, "card.number", Context{}, DefaultLabel, v) }
	idle := func() {
		require.Eventually(t, func() bool {
			enc.mu.Lock()
			defer enc.mu.Unlock()
			for _, e := range *enc.entries.Load() {
				if e.fetching != nil {
					return false
				}
			}
			return true
		}, 10*time.Second, time.Millisecond)
	}

	first, err := encrypt()
	require.NoError(t, err)
	f.api.down.Store(true)

	for range 50 { // 50 s of traffic during the outage, renewals failing from 45 s on
		clock.Advance(time.Second)
		start := time.Now()
		s, err := encrypt()
		require.NoError(t, err)
		assert.Equal(t, wrappedKeyOf(t, first), wrappedKeyOf(t, s), "the cached key")
		assert.Less(t, time.Since(start), 100*time.Millisecond, "no value waits for KMS")
		idle()
	}
	st := enc.Stats()
	assert.Positive(t, st.DataKeyErrors, "renewals were tried and failed")
	assert.Equal(t, st.DataKeys-1, st.DataKeyErrors)

	clock.Advance(11 * time.Second) // 61 s: the data key is past its age
	s, err := encrypt()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "connection refused")
	assert.True(t, IsRetryable(err))
	assert.Empty(t, s)
	calls := f.api.generateDataKeyCalls.Load()
	for range 100 {
		_, err := encrypt()
		require.ErrorIs(t, err, ErrUnavailable)
	}
	assert.Equal(t, calls, f.api.generateDataKeyCalls.Load(), "no KMS call per failing value")

	f.api.down.Store(false)
	clock.Advance(time.Second)
	s, err = encrypt()
	require.NoError(t, err, "recovered")
	assert.NotEqual(t, wrappedKeyOf(t, first), wrappedKeyOf(t, s))
	for _, s := range []string{first, s} {
		got, err := dec.Decrypt(ctx, "card.number", s)
		require.NoError(t, err)
		assert.Equal(t, v.Str(), got.Str())
	}

	// Decryption during an outage is retryable and is not remembered.
	f.api.down.Store(true)
	dec2 := newDecryptor(t, f.provider)
	_, err = dec2.Decrypt(ctx, "card.number", first)
	require.ErrorIs(t, err, ErrUnavailable)
	f.api.down.Store(false)
	_, err = dec2.Decrypt(ctx, "card.number", first)
	require.NoError(t, err)
}

// Errors of a real KMS (local-kms) and of the SDK are classified.
func TestKMSErrorClasses(t *testing.T) {
	f := newKMSFixture(t)
	ctx := context.Background()
	c := f.srv.Client(t)
	disabled := f.srv.CreateSymmetricKey(t)
	_, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled)})
	require.NoError(t, err)
	deleting := f.srv.CreateSymmetricKey(t)
	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(deleting), PendingWindowInDays: aws.Int32(7)})
	require.NoError(t, err)
	signing := f.srv.CreateSigningKey(t)

	p, err := NewKMSProvider(f.api, KMSKeys{Tenants: map[string]string{
		"disabled": disabled, "deleting": deleting, "missing": "1234abcd-12ab-34cd-56ef-1234567890ab",
		"signing": signing, "no-alias": "alias/none",
	}})
	require.NoError(t, err)
	ec := Context{}.withField("password")
	for _, tc := range []struct {
		label string
		want  error
	}{
		{"disabled", ErrKeyDisabled},
		{"deleting", ErrKeyDisabled},
		{"missing", ErrUnknownKey},
		{"no-alias", ErrUnknownKey},
		{"signing", errPermanentKMS},
		{"unconfigured", ErrUnknownKey},
	} {
		t.Run(tc.label, func(t *testing.T) {
			_, _, err := p.GenerateDataKey(ctx, tc.label, ec)
			require.ErrorIs(t, err, tc.want)
			assert.False(t, IsRetryable(err))
			_, err = p.Decrypt(ctx, tc.label, []byte("blob"), ec)
			require.Error(t, err)
			if tc.label != "signing" { // local-kms answers InternalFailure there; AWS InvalidKeyUsage
				assert.False(t, IsRetryable(err))
			}
		})
	}
	_, err = p.KeyFor("globex")
	require.ErrorIs(t, err, ErrUnknownKey, "no default key")
}

func TestClassifyKMSErrors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		want      error
		retryable bool
	}{
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}, ErrAccessDenied, false},
		{&types.NotFoundException{Message: aws.String("no key")}, ErrUnknownKey, false},
		{&types.DisabledException{}, ErrKeyDisabled, false},
		{&types.KMSInvalidStateException{}, ErrKeyDisabled, false},
		{&types.InvalidCiphertextException{}, ErrTampered, false},
		{&types.IncorrectKeyException{}, ErrTampered, false},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, ErrUnavailable, true},
		{&types.KMSInternalException{}, ErrUnavailable, true},
		{&types.KeyUnavailableException{}, ErrUnavailable, true},
		{&types.DependencyTimeoutException{}, ErrUnavailable, true},
		{&smithy.GenericAPIError{Code: "SomethingNew", Fault: smithy.FaultServer}, ErrUnavailable, true},
		{&types.InvalidKeyUsageException{}, errPermanentKMS, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, ErrUnavailable, true},
		{context.DeadlineExceeded, ErrUnavailable, true},
		{context.Canceled, ErrUnavailable, true},
	} {
		t.Run(fmt.Sprintf("%T", tc.err), func(t *testing.T) {
			p, err := NewKMSProvider(&fakeKMS{err: fmt.Errorf("operation error KMS: %w", tc.err)}, KMSKeys{Default: "alias/warden"})
			require.NoError(t, err)
			_, _, err = p.GenerateDataKey(context.Background(), DefaultLabel, Context{})
			require.ErrorIs(t, err, tc.want)
			assert.ErrorIs(t, err, tc.err, "the SDK error is kept")
			assert.Equal(t, tc.retryable, IsRetryable(err))
			assert.ErrorContains(t, err, "key default = alias/warden")
		})
	}
}

func TestKMSProviderChecksAnswers(t *testing.T) {
	p, err := NewKMSProvider(&fakeKMS{generate: func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 16), CiphertextBlob: []byte("blob")}, nil
	}}, KMSKeys{Default: "alias/warden"})
	require.NoError(t, err)
	_, _, err = p.GenerateDataKey(context.Background(), DefaultLabel, Context{})
	require.ErrorContains(t, err, "answered a 16-byte key")

	_, err = NewKMSProvider(&fakeKMS{}, KMSKeys{})
	require.ErrorContains(t, err, "no key")
	_, err = NewKMSProvider(&fakeKMS{}, KMSKeys{Tenants: map[string]string{"acme": ""}})
	require.ErrorContains(t, err, `tenant "acme": both the tenant and its key are required`)
}

func TestTenantLabel(t *testing.T) {
	for tenant, want := range map[string]string{
		"acme":               "acme",
		"acme-eu.prod":       "acme-eu.prod",
		"default":            "t-37a8eec1ce19687d",
		"Acme Corp":          "t-",
		"t-0123456789abcdef": "t-",
	} {
		got := TenantLabel(tenant)
		if want == "t-" {
			assert.Regexp(t, `^t-[0-9a-f]{16}$`, got, tenant)
			assert.NotEqual(t, tenant, got)
		} else {
			assert.Equal(t, want, got, tenant)
		}
		assert.NoError(t, ValidKeyID(got))
	}
}

// fakeKMS answers GenerateDataKey with generate, or fails every call with err.
type fakeKMS struct {
	generate func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
	err      error
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.generate(in)
}

func (f *fakeKMS) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return nil, f.err
}
