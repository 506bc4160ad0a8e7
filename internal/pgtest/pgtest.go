// Package pgtest gives tests the real PostgreSQL server of the machine (127.0.0.1:5432, user
// postgres, database test, or WARDEN_TEST_POSTGRES_DSN) and throwaway table names in it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN is the superuser DSN of the test database.
func DSN() string {
	if dsn := os.Getenv("WARDEN_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Conn connects as the superuser, failing the test when the server is not there (tests run
// against the real server: .ci/run starts it). Set WARDEN_SKIP_POSTGRES=1 to skip instead.
func Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	if os.Getenv("WARDEN_SKIP_POSTGRES") == "1" {
		t.Skip("WARDEN_SKIP_POSTGRES=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required (start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`): %v", DSN(), err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// Table returns a fresh table name and drops the table and its companions when the test ends.
func Table(t testing.TB, conn *pgx.Conn) string {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "audit_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = conn.Exec(ctx, `DROP TABLE IF EXISTS `+name+`, `+name+`_checkpoints CASCADE`)
		_, _ = conn.Exec(ctx, `DROP FUNCTION IF EXISTS `+name+`_refuse_change() CASCADE`)
	})
	return name
}

// Role creates a login role with the given privileges on tables and returns a DSN for it.
// The role is dropped when the test ends.
func Role(t testing.TB, conn *pgx.Conn, grants ...string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := "warden_writer_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatalf("create role: %v", err)
	}
	for _, g := range grants {
		if _, err := conn.Exec(ctx, g+` TO `+role); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, `DROP OWNED BY `+role)
		_, _ = conn.Exec(ctx, `DROP ROLE IF EXISTS `+role)
	})
	cfg, err := pgx.ParseConfig(DSN())
	if err != nil {
		t.Fatal(err)
	}
	return "postgres://" + role + "@" + cfg.Host + ":" + itoa(int(cfg.Port)) + "/" + cfg.Database + "?sslmode=disable"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
