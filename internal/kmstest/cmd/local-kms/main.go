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
	"io"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, reading its settings through getenv and saying what it does on
// log.
func run(ctx context.Context, getenv func(string) string, log io.Writer) error {
	setting := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	kmstest.SetAccount(setting("KMS_ACCOUNT_ID", "111122223333"), setting("KMS_REGION", "eu-west-2"))
	dir, err := filepath.Abs(setting("KMS_DATA_PATH", filepath.Join("data", "local-kms")))
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
	if seed := getenv("KMS_SEED_PATH"); seed != "" {
		keys, aliases, err := kmstest.Seed(db, seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "local-kms: %s: %d new keys and %d new aliases\n", seed, keys, aliases)
	}
	// Never on every interface: the server accepts any credentials.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", setting("PORT", "8080")))
	if err != nil {
		return err
	}
	logger := logrus.New()
	logger.SetOutput(log)
	logger.SetLevel(logrus.WarnLevel)
	srv := &http.Server{Handler: kmstest.Handler(db, logger), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(log, "local-kms: serving KMS on http://%s (data in %s)\n", ln.Addr(), dir)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
