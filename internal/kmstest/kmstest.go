// Package kmstest runs local-kms (github.com/nsmithuk/local-kms) inside the test process, on
// 127.0.0.1 and a free port, with its keys in the test's temporary directory: a real KMS API for
// tests of KMS signing and encryption, and the AWS environment a collector process needs to
// reach it.
package kmstest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// The account, region and credentials of every server. local-kms keeps account and region in
// package variables (they make its ARNs), so they are the same for all servers of a process;
// it checks no credentials, but the SDK signs every request and needs some.
const (
	AccountID       = "111122223333"
	Region          = "eu-west-2"
	AccessKeyID     = "AKIDKMSTEST"
	SecretAccessKey = "kmstest-secret"
)

var setGlobals sync.Once

// SetAccount sets the account and region that local-kms's ARNs name. It writes local-kms's
// package variables: call it before any request is served.
func SetAccount(account, region string) {
	config.AWSAccountId = account
	config.AWSRegion = region
}

// Server is a running local-kms.
type Server struct {
	http   *httptest.Server
	db     *data.Database
	logger *logrus.Logger
	down   atomic.Bool
	calls  sync.Map // operation name -> *atomic.Int64
}

// SetDown makes the server drop every connection without an answer (down) or serve again: a
// KMS outage as a client sees it, a network error.
func (s *Server) SetDown(down bool) {
	s.down.Store(down)
	if down {
		s.http.CloseClientConnections()
	}
}

// Calls is how many requests of an operation ("GenerateDataKey", "Decrypt", ...) were served.
func (s *Server) Calls(op string) int64 {
	if n, ok := s.calls.Load(op); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// Start runs a local-kms until the test ends. Stopping it takes about a second (LevelDB's last
// goroutine is awaited), so a test that needs several keys creates them on one server.
func Start(t testing.TB) *Server {
	t.Helper()
	// Written once, before any server serves, so that handlers of parallel tests never read
	// them while they change. local-kms's config.DatabasePath is only read by its own main
	// loop, which is not used: each server opens its own database below.
	setGlobals.Do(func() { SetAccount(AccountID, Region) })
	dir := filepath.Join(t.TempDir(), "local-kms")
	db, err := OpenDatabase(dir)
	if err != nil {
		t.Fatalf("kmstest: local-kms database in %s: %v", dir, err)
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	s := &Server{db: db, logger: logger}

	// Never on all interfaces: the server accepts any credentials.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatalf("kmstest: listen on 127.0.0.1: %v", err)
	}
	s.http = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.http.Start()
	databases.Lock()
	databases.open++
	databases.Unlock()
	t.Cleanup(func() {
		s.http.Close()
		s.db.Close()
		databases.Lock()
		databases.open--
		databases.Unlock()
		awaitDatabaseGoroutines()
	})
	return s
}

// databases counts the open local-kms databases of the process.
var databases struct {
	sync.Mutex
	open int
}

// awaitDatabaseGoroutines waits, for up to 3 s, until no LevelDB goroutine outlives its
// database. LevelDB's memory pool drainer exits up to a second after Close returns; left
// running, it would fail the goroutine leak checks of the tests that use a server.
func awaitDatabaseGoroutines() {
	const drainer = "\ngithub.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain("
	buf := make([]byte, 1<<16)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n := runtime.Stack(buf, true)
		for n == len(buf) {
			buf = make([]byte, 2*len(buf))
			n = runtime.Stack(buf, true)
		}
		databases.Lock()
		open := databases.open
		databases.Unlock()
		if strings.Count(string(buf[:n]), drainer) <= open {
			return
		}
	}
}

// OpenDatabase opens local-kms's LevelDB store in dir (created when missing), which panics
// rather than returning an error.
func OpenDatabase(dir string) (db *data.Database, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return data.NewDatabase(dir), nil
}

// serve answers as local-kms does, unless the server is down, and counts the operations.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	n, _ := s.calls.LoadOrStore(op, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	Handler(s.db, s.logger).ServeHTTP(w, r)
}

// Handler is local-kms's request dispatch (its own is unexported, and its server listens on
// every interface) over db: the operation named by X-Amz-Target ("TrentService.Sign") is the
// handler method of that name. Account and region are local-kms's package variables (see
// SetAccount).
func Handler(db *data.Database, logger *logrus.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/":
			http.Error(w, "Page not found", http.StatusNotFound)
			return
		case r.Method != http.MethodPost:
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		case !strings.Contains(r.Header.Get("Content-Type"), "json"):
			http.Error(w, "Only JSON based content types accepted", http.StatusUnsupportedMediaType)
			return
		}
		target := r.Header.Get("X-Amz-Target")
		_, op, _ := strings.Cut(target, ".")
		h := handler.NewRequestHandler(r, logger, db)
		m := reflect.ValueOf(h).MethodByName(op)
		if op == "" || !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
			http.Error(w, "Passed X-Amz-Target ("+target+") is not implemented", http.StatusNotImplemented)
			return
		}
		res, ok := m.Call(nil)[0].Interface().(handler.Response)
		if !ok {
			http.Error(w, "local-kms: "+op+" returned no response", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(res.Code)
		_, _ = io.WriteString(w, res.Body)
	})
}

// Endpoint is the server's base URL ("http://127.0.0.1:PORT").
func (s *Server) Endpoint() string { return s.http.URL }

// Region is the region the server's ARNs name.
func (s *Server) Region() string { return Region }

// Env is the AWS environment a collector (or any SDK client) needs to reach the server through
// the default credential chain: static credentials, the region, the KMS endpoint (a config's
// own endpoint setting takes precedence), no instance metadata lookups, and no shared config
// or profile of the user running the tests. Append it to os.Environ(): os/exec keeps the last
// value of a name.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ENDPOINT_URL_KMS=" + s.Endpoint(),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
	}
}

// Setenv sets Env in the test process, for code under test that builds its own client from the
// default chain. Like t.Setenv, it cannot be used in parallel tests.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Client is a KMS client of the server with static test credentials, independent of the
// process environment.
func (s *Server) Client(t testing.TB) *kms.Client {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   &http.Client{Transport: transport, Timeout: 10 * time.Second},
	})
}

// CreateKey creates a key of the given spec and usage and returns its key id.
func (s *Server) CreateKey(t testing.TB, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := s.Client(t).CreateKey(context.Background(), &kms.CreateKeyInput{
		KeySpec:     spec,
		KeyUsage:    usage,
		Description: aws.String("kmstest " + t.Name()),
	})
	if err != nil {
		t.Fatalf("kmstest: create %s %s key: %v", spec, usage, err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// CreateSigningKey creates an ECC_NIST_P256 SIGN_VERIFY key (ECDSA_SHA_256) and returns its
// key id.
func (s *Server) CreateSigningKey(t testing.TB) string {
	t.Helper()
	return s.CreateKey(t, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
}

// CreateSymmetricKey creates a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key (Encrypt, Decrypt,
// GenerateDataKey) and returns its key id.
func (s *Server) CreateSymmetricKey(t testing.TB) string {
	t.Helper()
	return s.CreateKey(t, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
}

// CreateAlias points alias ("alias/NAME") at keyID. local-kms refuses every name that starts
// with "alias/aws" (AWS KMS reserves "alias/aws/").
func (s *Server) CreateAlias(t testing.TB, alias, keyID string) {
	t.Helper()
	_, err := s.Client(t).CreateAlias(context.Background(), &kms.CreateAliasInput{
		AliasName:   aws.String(alias),
		TargetKeyId: aws.String(keyID),
	})
	if err != nil {
		t.Fatalf("kmstest: create alias %s for key %s: %v", alias, keyID, err)
	}
}

// KeyARN is the ARN of keyID on this server.
func (s *Server) KeyARN(keyID string) string {
	return "arn:aws:kms:" + Region + ":" + AccountID + ":key/" + keyID
}
