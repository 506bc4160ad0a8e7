package auditledgerextension

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/metadata"
	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/kmstest"
	"github.com/otelwarden/warden/internal/ledger"
	"github.com/otelwarden/warden/internal/pgtest"
)

// tryStart creates and starts a ledger, returning Start's error.
func tryStart(t *testing.T, cfg *Config) (*ledgerExtension, error) {
	t.Helper()
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	if err != nil {
		require.NoError(t, ext.Shutdown(context.Background()))
		return nil, err
	}
	return ext.(*ledgerExtension), nil
}

func runOnce(t *testing.T, cfg *Config, events int) {
	t.Helper()
	l := startLedger(t, cfg, nil)
	for i := range events {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.NoError(t, l.Shutdown(context.Background()))
}

func TestStartAnnouncesTheKeyForPinning(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	runOnce(t, cfg, 3)
	pub := publicKey(t, keyFile(dir, "signing.key.pub"))
	r := (&ledger.Verifier{Pins: []string{pub.Fingerprint()}}).VerifyDir(dir)
	require.Nil(t, r.Failure, "%v", r.Failure)
	require.NoError(t, r.Err)
	assert.True(t, r.Reports[0].Key.Equal(pub))

	entries := allEntries(t, filepath.Join(dir, "test-stream"))
	announced, err := ledger.AnnouncedKey(&entries[0])
	require.NoError(t, err)
	assert.True(t, announced.Equal(pub), "the start entry announces the signing key")
}

func TestCreateKeyNeverReplacesASigningKey(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	runOnce(t, cfg, 2)
	kid := publicKey(t, keyFile(dir, "signing.key.pub")).ID()
	require.NoError(t, os.Remove(keyFile(dir, "signing.key")))
	_, err := tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is missing, but stream test-stream's checkpoints are signed by key "+kid)
	_, err = os.Stat(keyFile(dir, "signing.key"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no key was created")
}

func TestSignedStreamStaysSigned(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	runOnce(t, cfg, 2)
	cfg.Checkpoint.SigningKeyFile, cfg.Checkpoint.CreateKey = "", false
	_, err := tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a signed ledger must stay signed")
}

func TestKeyRotationNeedsThePreviousKey(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	runOnce(t, cfg, 2)
	old := publicKey(t, keyFile(dir, "signing.key.pub"))

	// Another key without the previous one is refused, naming both.
	cfg.Checkpoint.SigningKeyFile = keyFile(dir, "signing-2.key")
	_, err := tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set checkpoint.previous_signer to key "+old.ID())
	_, err = os.Stat(keyFile(dir, "signing-2.key"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no key was created")

	// With it, the previous key signs the hand-over.
	cfg.Checkpoint.PreviousSigner.SigningKeyFile = keyFile(dir, "signing.key")
	runOnce(t, cfg, 2)
	next := publicKey(t, keyFile(dir, "signing-2.key.pub"))
	rep := verifyDir(t, dir, old)
	assert.ElementsMatch(t, []string{old.ID(), next.ID()}, rep.KeyIDs)
	assert.True(t, rep.Key.Equal(next), "trust flows from the old key to the new one")

	// Once handed over, the previous key is no longer needed.
	cfg.Checkpoint.PreviousSigner.SigningKeyFile = ""
	runOnce(t, cfg, 1)
	verifyDir(t, dir, old)

	// Trusting only the new key does not vouch for the history before it.
	r := (&ledger.Verifier{Roots: []*ledger.PublicKey{next}}).VerifyDir(dir)
	require.NotNil(t, r.Failure)
	assert.Equal(t, ledger.Tampered, r.Failure.Kind)
}

func TestStartRefusesADamagedJournal(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Checkpoint.Entries = 5
	runOnce(t, cfg, 20)
	stream := filepath.Join(dir, "test-stream")
	segs, err := ledger.Segments(stream)
	require.NoError(t, err)
	// The newest entries are cut off (a deleted tail), checkpoints left as they were.
	raw, err := os.ReadFile(segs[0].Path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(raw), "\n")
	require.NoError(t, os.WriteFile(segs[0].Path, []byte(strings.Join(lines[:10], "")), 0o640))
	before, err := os.ReadFile(segs[0].Path)
	require.NoError(t, err)

	_, err = tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the journal of stream test-stream is damaged")
	assert.Contains(t, err.Error(), "entries were removed")
	assert.Contains(t, err.Error(), "on_damage: new_stream")
	after, err := os.ReadFile(segs[0].Path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing is written to a damaged journal")

	// on_damage: new_stream leaves the damaged stream and links a new one to it.
	cfg.OnDamage = OnDamageNewStream
	l := startLedger(t, cfg, nil)
	newStream := l.stream
	require.NoError(t, l.Shutdown(context.Background()))
	assert.True(t, strings.HasPrefix(newStream, "test-stream.r"), newStream)
	entries := allEntries(t, filepath.Join(dir, newStream))
	start := entries[0].Event
	assert.Equal(t, ledger.ActionStart, start.Action)
	assert.Equal(t, "test-stream", start.Attributes["previous_stream"])
	assert.Contains(t, start.Attributes["previous_stream_damage"], "entries were removed")
	assert.NotEmpty(t, start.Attributes["previous_stream_checkpoint_hash"], "the last good checkpoint")
	after, err = os.ReadFile(segs[0].Path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the damaged stream is kept as it was")

	// The next start continues the new stream.
	cfg.OnDamage = OnDamageRefuse
	l = startLedger(t, cfg, nil)
	assert.Equal(t, newStream, l.stream)
	require.NoError(t, l.Shutdown(context.Background()))
	verifyDir(t, filepath.Join(dir, newStream), publicKey(t, keyFile(dir, "signing.key.pub")))
}

func TestStartComparesWithWhatSinksWereTold(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	runOnce(t, cfg, 5)
	stream := filepath.Join(dir, "test-stream")
	require.NoError(t, os.WriteFile(filepath.Join(stream, ledger.ShippedHintFile), []byte("500\n"), 0o640))
	_, err := tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "entries up to 500 were delivered to PostgreSQL, but the journal ends at entry 7")
	require.NoError(t, os.Remove(filepath.Join(stream, ledger.ShippedHintFile)))

	require.NoError(t, os.WriteFile(filepath.Join(stream, witnessCursorPrefix+"postgres.seq"), []byte("99\n"), 0o640))
	_, err = tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a witness received a checkpoint for entries up to 99")
}

func TestOversizedEventIsRefusedAlone(t *testing.T) {
	dir := t.TempDir()
	l := startLedger(t, testConfig(t, dir), nil)
	big := event(1)
	big.Details = map[string]any{"blob": strings.Repeat("x", ledger.MaxEntryLine)}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			ev := event(i)
			if i == 7 {
				ev = big
			}
			errs[i] = l.Record(context.Background(), ev)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			require.ErrorIs(t, err, ErrEntryTooLarge)
			continue
		}
		require.NoError(t, err, "event %d", i)
	}
	require.NoError(t, l.Shutdown(context.Background()))
	assert.Equal(t, uint64(21), verifyDir(t, dir, publicKey(t, keyFile(dir, "signing.key.pub"))).Entries)
}

func TestKMSSignedCheckpoints(t *testing.T) {
	kms := kmstest.Start(t)
	kms.Setenv(t)
	keyID := kms.CreateSigningKey(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Checkpoint.SigningKeyFile, cfg.Checkpoint.CreateKey = "", false
	cfg.Checkpoint.Signer.AWSKMS = configoptional.Some(awskms.Config{KeyID: keyID, Endpoint: kms.Endpoint(), Region: kms.Region()})
	require.NoError(t, cfg.Validate())
	runOnce(t, cfg, 150)

	signer, err := ledger.NewKMSSigner(context.Background(), kms.Client(t), keyID)
	require.NoError(t, err)
	pub := signer.Public()
	assert.Equal(t, ledger.AlgECDSAP256, pub.Alg())
	rep := (&ledger.Verifier{Pins: []string{pub.Fingerprint()}}).VerifyDir(dir)
	require.Nil(t, rep.Failure, "%v", rep.Failure)
	require.NoError(t, rep.Err)
	assert.GreaterOrEqual(t, rep.Reports[0].SignedCheckpoints, 2)
	assert.Equal(t, []string{pub.ID()}, rep.Reports[0].KeyIDs)

	// From a key file to KMS: the file key hands over.
	dir2 := t.TempDir()
	cfg2 := testConfig(t, dir2)
	runOnce(t, cfg2, 3)
	old := publicKey(t, keyFile(dir2, "signing.key.pub"))
	cfg2.Checkpoint.PreviousSigner.SigningKeyFile = cfg2.Checkpoint.SigningKeyFile
	cfg2.Checkpoint.SigningKeyFile, cfg2.Checkpoint.CreateKey = "", false
	cfg2.Checkpoint.Signer.AWSKMS = cfg.Checkpoint.Signer.AWSKMS
	runOnce(t, cfg2, 3)
	r := verifyDir(t, dir2, old)
	assert.True(t, r.Key.Equal(pub), "the stream ends signed by the KMS key")

	// KMS unreachable at start: a clear error, promptly.
	cfg.Checkpoint.Signer.AWSKMS.Get().Endpoint = "http://127.0.0.1:1"
	start := time.Now()
	_, err = tryStart(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checkpoint.signer.aws_kms")
	assert.Less(t, time.Since(start), 45*time.Second)
}

func TestWitnessesReceiveEveryCheckpoint(t *testing.T) {
	conn := pgtest.Conn(t)
	table := pgtest.Table(t, conn) // dropped at the end, with its trigger function
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Checkpoint.Entries = 10
	cfg.Checkpoint.Witness.Postgres = configoptional.Some(WitnessPostgresConfig{DSN: configopaque.String(pgtest.DSN()), Table: table, CreateSchema: true})
	l := startLedger(t, cfg, nil)

	var mu sync.Mutex
	var got []ledger.Checkpoint
	fails := 2
	unregister, err := l.RegisterWitness("test", func(_ context.Context, cps []ledger.Checkpoint) error {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 { // the witness's pipeline fails at first: retried
			fails--
			return assert.AnError
		}
		got = append(got, cps...)
		return nil
	})
	require.NoError(t, err)
	for i := range 45 {
		require.NoError(t, l.Record(context.Background(), event(i)))
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 4
	}, 20*time.Second, 20*time.Millisecond)
	unregister(context.Background())
	require.NoError(t, l.Shutdown(context.Background()))

	cps, err := ledger.ReadCheckpoints(filepath.Join(dir, "test-stream"))
	require.NoError(t, err)
	mu.Lock()
	for i, c := range got {
		assert.Equal(t, cps[i].Hash, c.Hash, "in order, none twice")
	}
	mu.Unlock()

	w, err := ledger.OpenPGWitness(context.Background(), pgtest.DSN(), table)
	require.NoError(t, err)
	defer w.Close()
	witnessed, err := w.Read(context.Background())
	require.NoError(t, err)
	assert.Len(t, witnessed.Checkpoints["test-stream"], len(cps), "the PostgreSQL witness has every checkpoint, the shutdown one included")
	r := (&ledger.Verifier{Roots: []*ledger.PublicKey{publicKey(t, keyFile(dir, "signing.key.pub"))}}).VerifyDir(dir)
	ledger.CheckWitness(&r, witnessed, true)
	require.Nil(t, r.Failure, "%v", r.Failure)
}

func allEntries(t *testing.T, dir string) []ledger.Entry {
	t.Helper()
	r, err := ledger.NewEntryReader(dir, 1)
	require.NoError(t, err)
	defer r.Close()
	var out []ledger.Entry
	for {
		line, _, err := r.Next()
		if err != nil {
			return out
		}
		e, err := ledger.ParseEntry(line)
		require.NoError(t, err)
		out = append(out, e)
	}
}

var _ audit.Recorder = (*ledgerExtension)(nil)
