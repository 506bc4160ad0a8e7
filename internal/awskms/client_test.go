package awskms

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelwarden/warden/internal/kmstest"
)

const testKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// isolateEnv leaves the default chain only what the test sets: static credentials and no
// region, profile, shared files, endpoint or instance metadata.
func isolateEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDAWSKMSTEST", "AWS_SECRET_ACCESS_KEY": "awskms-test-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_KMS": "", "AWS_MAX_ATTEMPTS": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		env          map[string]string
		wantRegion   string
		wantEndpoint string
		wantErr      string
	}{
		{name: "region set", cfg: Config{KeyID: testKeyID, Region: "eu-central-1"}, wantRegion: "eu-central-1"},
		{name: "region of the key ARN", cfg: Config{KeyID: "arn:aws:kms:ap-southeast-2:111122223333:alias/warden"}, wantRegion: "ap-southeast-2"},
		{name: "region of the environment", cfg: Config{KeyID: testKeyID}, env: map[string]string{"AWS_REGION": "us-west-2"}, wantRegion: "us-west-2"},
		{name: "configured region before the environment's", cfg: Config{KeyID: testKeyID, Region: "eu-west-3"}, env: map[string]string{"AWS_REGION": "us-west-2"}, wantRegion: "eu-west-3"},
		{name: "endpoint", cfg: Config{KeyID: testKeyID, Region: "eu-west-2", Endpoint: "http://127.0.0.1:8080"}, wantRegion: "eu-west-2", wantEndpoint: "http://127.0.0.1:8080"},
		{name: "endpoint of the environment, for KMS", cfg: Config{KeyID: testKeyID, Region: "eu-west-2"}, env: map[string]string{"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4599"}, wantRegion: "eu-west-2", wantEndpoint: "http://127.0.0.1:4599"},
		{name: "endpoint of the environment, for every service", cfg: Config{KeyID: testKeyID, Region: "eu-west-2"}, env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, wantRegion: "eu-west-2", wantEndpoint: "http://127.0.0.1:4566"},
		{name: "configured endpoint before the environment's", cfg: Config{KeyID: testKeyID, Region: "eu-west-2", Endpoint: "http://127.0.0.1:8080"}, env: map[string]string{"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4599"}, wantRegion: "eu-west-2", wantEndpoint: "http://127.0.0.1:8080"},
		{name: "no region anywhere", cfg: Config{KeyID: "alias/warden"}, wantErr: "aws kms: no AWS region: set region, give key_id as an ARN, or set AWS_REGION"},
		{name: "invalid config", cfg: Config{Region: "moon"}, wantErr: `aws kms: key_id: required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := NewClient(context.Background(), tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			o := c.Options()
			assert.Equal(t, tt.wantRegion, o.Region)
			assert.Equal(t, tt.wantEndpoint, aws.ToString(o.BaseEndpoint))
			assert.Equal(t, MaxAttempts, o.RetryMaxAttempts)
			assert.Equal(t, MaxAttempts, o.Retryer.MaxAttempts())

			creds, err := o.Credentials.Retrieve(context.Background())
			require.NoError(t, err, "credentials of the default chain")
			assert.Equal(t, "AKIDAWSKMSTEST", creds.AccessKeyID)

			stack := middleware.NewStack("test", nil)
			for _, apply := range o.APIOptions {
				require.NoError(t, apply(stack))
			}
			_, ok := stack.Initialize.Get(callTimeoutID)
			assert.True(t, ok, "every call is bounded by CallTimeout")
		})
	}
}

// A failing KMS is tried MaxAttempts times, whatever AWS_MAX_ATTEMPTS says.
func TestNewClientBoundsRetries(t *testing.T) {
	isolateEnv(t)
	t.Setenv("AWS_MAX_ATTEMPTS", "10")
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		attempts.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"KMSInternalException","message":"try again"}`))
	}))
	defer srv.Close()

	c, err := NewClient(context.Background(), Config{KeyID: testKeyID, Region: "eu-west-2", Endpoint: srv.URL})
	require.NoError(t, err)
	start := time.Now()
	_, err = c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(testKeyID)})
	require.ErrorContains(t, err, "KMSInternalException")
	assert.Equal(t, int32(MaxAttempts), attempts.Load())
	assert.Less(t, time.Since(start), time.Duration(MaxAttempts)*MaxBackoff+time.Second)
}

// A KMS that never answers holds a call no longer than the call timeout, even when the caller
// gives no deadline.
func TestCallTimeout(t *testing.T) {
	isolateEnv(t)
	// The kernel completes connections to a listener that never accepts them.
	hanging, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer hanging.Close()

	c, err := NewClient(context.Background(), Config{KeyID: testKeyID, Region: "eu-west-2", Endpoint: "http://" + hanging.Addr().String()})
	require.NoError(t, err)
	start := time.Now()
	_, err = c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(testKeyID)}, func(o *kms.Options) {
		o.APIOptions = []func(*middleware.Stack) error{withCallTimeout(300 * time.Millisecond)}
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// The client reaches a real KMS API (local-kms) at the configured endpoint with credentials
// from the environment: data keys for encryption, as a field encryption processor uses them.
func TestNewClientAgainstLocalKMS(t *testing.T) {
	srv := kmstest.Start(t)
	keyID := srv.CreateSymmetricKey(t)
	srv.CreateAlias(t, "alias/warden-data-test", keyID)
	srv.Setenv(t)
	t.Setenv("AWS_ENDPOINT_URL_KMS", "") // the configured endpoint must be the one used

	c, err := NewClient(context.Background(), Config{KeyID: "alias/warden-data-test", Region: srv.Region(), Endpoint: srv.Endpoint()})
	require.NoError(t, err)
	ctx := context.Background()
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/warden-data-test"), NumberOfBytes: aws.Int32(32)})
	require.NoError(t, err)
	plain, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, KeyId: aws.String("alias/warden-data-test")})
	require.NoError(t, err)
	assert.Equal(t, dk.Plaintext, plain.Plaintext)
	assert.Equal(t, srv.KeyARN(keyID), aws.ToString(plain.KeyId))
}
