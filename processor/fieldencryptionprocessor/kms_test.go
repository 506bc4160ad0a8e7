package fieldencryptionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	kmsapi "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
	"github.com/otelwarden/warden/internal/kmstest"
)

// TestKMSEnvelopeWithOutage runs the processor against a real local-kms: fields encrypt under
// KMS data keys per tenant, KMS is called per data key (not per record), an outage is ridden
// out on the cached key and then fails closed (the batch refused retryably, nothing passes),
// and encryption resumes when KMS returns; KMS decrypts what was written, and a tenant whose
// key is scheduled for deletion is unrecoverable.
func TestKMSEnvelopeWithOutage(t *testing.T) {
	kms := kmstest.Start(t)
	kms.Setenv(t)
	defaultKey, acmeKey := kms.CreateSymmetricKey(t), kms.CreateSymmetricKey(t)
	kms.CreateAlias(t, "alias/warden-acme", acmeKey)
	cfg := localConfig(t)
	cfg.Provider.Local = configoptional.None[LocalConfig]()
	cfg.Provider.AWSKMS = configoptional.Some(awskms.Config{KeyID: defaultKey, Endpoint: kms.Endpoint(), Region: kms.Region()})
	cfg.Tenant.Keys = map[string]string{"acme": "alias/warden-acme"}
	cfg.Cache.MaxAge = 2 * time.Second
	require.NoError(t, cfg.Validate())
	s := start(t, cfg, nil)

	for range 300 {
		require.NoError(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme")))
		require.NoError(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("globex")))
	}
	assert.Equal(t, int64(2), kms.Calls("GenerateDataKey"), "600 batches, two tenants: one data key each")
	assert.Equal(t, uint64(600), s.p.encryptor.Stats().Encryptions)

	// KMS goes away. The cached data keys serve until they expire; then batches are refused,
	// retryably, and nothing reaches the next consumer.
	kms.SetDown(true)
	delivered := len(s.lsink.AllLogs())
	var refused error
	require.Eventually(t, func() bool {
		refused = s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme"))
		return refused != nil
	}, 10*time.Second, 50*time.Millisecond)
	assert.False(t, consumererror.IsPermanent(refused))
	assert.ErrorIs(t, refused, fieldcrypt.ErrUnavailable)
	for _, ld := range s.lsink.AllLogs()[delivered:] {
		assertNoPassword(t, ld)
	}
	n := len(s.lsink.AllLogs())
	require.Error(t, s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme")))
	assert.Len(t, s.lsink.AllLogs(), n, "refused batches never pass")

	// KMS returns: encryption resumes.
	kms.SetDown(false)
	require.Eventually(t, func() bool {
		return s.logs.ConsumeLogs(context.Background(), logsWithPassword("acme")) == nil
	}, 10*time.Second, 50*time.Millisecond)
	for _, ld := range s.lsink.AllLogs() {
		assertNoPassword(t, ld)
	}

	// Whoever may call KMS Decrypt reads the values back; the key's deletion shreds them.
	kp, err := fieldcrypt.NewKMSProvider(kms.Client(t), fieldcrypt.KMSKeys{Default: defaultKey, Tenants: cfg.Tenant.Keys})
	require.NoError(t, err)
	d, err := fieldcrypt.NewDecryptor(kp, fieldcrypt.DecryptorConfig{})
	require.NoError(t, err)
	acme, globex := passwordOf(s.lsink.AllLogs()[0]), passwordOf(s.lsink.AllLogs()[1])
	back, err := d.Decrypt(context.Background(), "password", acme)
	require.NoError(t, err)
	assert.Equal(t, "hunter2", back.Str())
	_, err = kms.Client(t).ScheduleKeyDeletion(context.Background(), scheduleDeletion(acmeKey))
	require.NoError(t, err)
	d2, err := fieldcrypt.NewDecryptor(kp, fieldcrypt.DecryptorConfig{})
	require.NoError(t, err)
	_, err = d2.Decrypt(context.Background(), "password", acme)
	require.Error(t, err, "the tenant's key is pending deletion")
	assert.False(t, fieldcrypt.IsRetryable(err))
	back, err = d2.Decrypt(context.Background(), "password", globex)
	require.NoError(t, err, "another tenant still decrypts")
	assert.Equal(t, "hunter2", back.Str())
}

func passwordOf(ld plog.Logs) string {
	v, _ := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("password")
	return v.Str()
}

func assertNoPassword(t *testing.T, ld plog.Logs) {
	t.Helper()
	assert.True(t, fieldcrypt.IsCiphertext(passwordOf(ld)), "never in clear: %s", passwordOf(ld))
}

func scheduleDeletion(keyID string) *kmsapi.ScheduleKeyDeletionInput {
	days := int32(7)
	return &kmsapi.ScheduleKeyDeletionInput{KeyId: &keyID, PendingWindowInDays: &days}
}
