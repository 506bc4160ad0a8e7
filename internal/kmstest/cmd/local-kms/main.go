// Command local-kms serves the AWS KMS API of local-kms (github.com/nsmithuk/local-kms) on
// 127.0.0.1 only, for trying KMS configurations on one machine. Upstream's own binary listens on
// every interface, and local-kms checks no credentials: anyone who could reach it could use its
// keys. It reads local-kms's environment variables: PORT (8080), KMS_SEED_PATH (a seed file of
// keys and aliases, in local-kms's format), KMS_DATA_PATH (./data/local-kms), KMS_ACCOUNT_ID
// (111122223333) and KMS_REGION (eu-west-2). It runs until interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/otelwarden/warden/internal/kmstest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	kmstest.SetAccount(getenv("KMS_ACCOUNT_ID", "111122223333"), getenv("KMS_REGION", "eu-west-2"))
	dir, err := filepath.Abs(getenv("KMS_DATA_PATH", filepath.Join("data", "local-kms")))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	db, err := kmstest.OpenDatabase(dir)
	if err != nil {
		return fmt.Errorf("database in %s: %w", dir, err)
	}
	defer db.Close()
	if seed := os.Getenv("KMS_SEED_PATH"); seed != "" {
		keys, aliases, err := kmstest.Seed(db, seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "local-kms: %s: %d new keys and %d new aliases\n", seed, keys, aliases)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", getenv("PORT", "8080")))
	if err != nil {
		return err
	}
	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	logger.SetLevel(logrus.WarnLevel)
	srv := &http.Server{Handler: kmstest.Handler(db, logger), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(os.Stderr, "local-kms: serving KMS on http://%s (data in %s)\n", ln.Addr(), dir)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
