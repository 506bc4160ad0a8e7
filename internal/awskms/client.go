package awskms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
)

// Bounds of every KMS call made through a client from NewClient. A KMS operation normally
// answers in milliseconds; these keep a throttled, unreachable or hanging endpoint from holding
// a caller (a checkpoint, a batch) for long, whatever context the caller passes.
const (
	// MaxAttempts is the number of tries of one call, first included.
	MaxAttempts = 3
	// MaxBackoff caps the wait between two tries.
	MaxBackoff = time.Second
	// DialTimeout bounds establishing a TCP connection.
	DialTimeout = 3 * time.Second
	// AttemptTimeout bounds one HTTP round trip (connect, TLS, request, response).
	AttemptTimeout = 10 * time.Second
	// CallTimeout bounds one call, all its tries and waits included.
	CallTimeout = 30 * time.Second
)

// NewClient validates cfg and builds a KMS client from it: credentials from the SDK's default
// chain (environment, shared files, web identity, instance or task role), the region of cfg (or
// of its key ARN, or the default chain's), cfg.Endpoint as base endpoint when set (else the
// SDK's: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the region's), and the retry and timeout
// bounds above. It makes no call to KMS.
func NewClient(ctx context.Context, cfg Config) (*kms.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws kms: %w", err)
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(AttemptTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = DialTimeout
			t.ResponseHeaderTimeout = AttemptTimeout
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(newRetryer),
	}
	if r := cfg.region(); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws kms: loading the AWS configuration (environment and shared config files): %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("aws kms: no AWS region: set region, give key_id as an ARN, or set AWS_REGION")
	}
	return kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// AWS_MAX_ATTEMPTS and the shared config's max_attempts may not lift the bound.
		o.Retryer = newRetryer()
		o.RetryMaxAttempts = MaxAttempts
		o.APIOptions = append(o.APIOptions, withCallTimeout(CallTimeout))
	}), nil
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
	})
}

const callTimeoutID = "WardenCallTimeout"

// withCallTimeout bounds each operation, retries included, by d.
func withCallTimeout(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(callTimeoutID,
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}
