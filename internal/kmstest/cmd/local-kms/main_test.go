package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log that the server writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The seeded example keys are served on 127.0.0.1, and only there, until the context ends.
func TestServesSeededKeysOnLoopbackOnly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	env := map[string]string{
		"PORT":          port,
		"KMS_DATA_PATH": filepath.Join(t.TempDir(), "local-kms"),
		"KMS_SEED_PATH": "../../../../examples/kms/local-kms.yaml",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &log) }()

	serving := regexp.MustCompile(`serving KMS on http://(\S+) `)
	require.Eventually(t, func() bool { return serving.MatchString(log.String()) }, 10*time.Second, 20*time.Millisecond, log.String())
	assert.Equal(t, "127.0.0.1:"+port, serving.FindStringSubmatch(log.String())[1])
	assert.Contains(t, log.String(), "3 new keys and 3 new aliases")

	c := kms.New(kms.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String("http://127.0.0.1:" + port),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	out, err := c.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{
		KeyId: aws.String("alias/warden-tenant-acme"), NumberOfBytes: aws.Int32(32),
	})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:kms:eu-west-2:111122223333:key/9493334b-cda3-4a4f-8a84-53e824089c97", aws.ToString(out.KeyId))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("local-kms did not stop when its context ended")
	}
}
