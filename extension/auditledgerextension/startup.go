package auditledgerextension

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelwarden/warden/extension/auditledgerextension/internal/alerting"
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/ledger"
)

// successorFile, in a damaged stream's directory, names the stream that replaced it.
const successorFile = "successor"

// streamLink is what a new stream's start entry says about the damaged stream it replaces.
type streamLink struct {
	stream     string
	checkpoint *ledger.Checkpoint
	damage     string
}

// kmsSetupTimeout bounds reaching KMS for the signing key at start.
const kmsSetupTimeout = 30 * time.Second

// Start opens the journal after checking it is whole, loads the signing key under the rules
// that keep a signed ledger signed, resumes the chain, starts the writer, the sinks and the
// witnesses, and records a start entry that announces the signing key. When the key changed,
// the previous key signs the hand-over to the new one.
func (l *ledgerExtension) Start(ctx context.Context, _ component.Host) error {
	if err := os.MkdirAll(l.cfg.File.Directory, 0o750); err != nil {
		return fmt.Errorf("audit_ledger: file.directory: %w", err)
	}
	stream, err := l.resolveStream()
	if err != nil {
		return err
	}
	j, head, err := l.openStream(stream)
	if err != nil {
		return err
	}
	l.journal, l.head, l.durable = j, head, head
	l.lastCp = head.Checkpoint
	l.sinceCp = int(head.Seq - head.Checkpoint.Seq)
	l.headSeq.Store(head.Seq)
	l.dedup = newRecentIDs(l.cfg.DedupWindow, head.RecentIDs)
	if head.RepairedBytes > 0 {
		l.tb.AuditLedgerRepairedBytes.Add(ctx, head.RepairedBytes)
		l.logger.Warn("Cut a torn write off the audit journal (it was never acknowledged)", zap.Int64("bytes", head.RepairedBytes))
	}

	current, previous, err := l.loadSigners(ctx, head)
	if err != nil {
		_ = j.Close()
		return err
	}
	// Until the hand-over is signed, the previous key is the stream's key.
	if previous != nil {
		l.signer.Store(&signerHolder{previous})
	} else if current != nil {
		l.signer.Store(&signerHolder{current})
	}

	if l.cfg.Alerts.Enabled() {
		alerts, err := alerting.New(ctx, &l.cfg.Alerts, alerting.Settings{
			Recorder: l, Actor: l.id.String(), Stream: l.stream, Logger: l.logger,
			Count: func(ctx context.Context, webhook, outcome string) {
				l.tb.AuditLedgerAlerts.Add(ctx, 1, metric.WithAttributes(attribute.String("webhook", webhook), attribute.String("outcome", outcome)))
			},
		})
		if err != nil {
			_ = j.Close()
			return fmt.Errorf("audit_ledger: %w", err)
		}
		l.alerts = alerts
	}
	if pg := l.cfg.Postgres.Get(); l.cfg.Postgres.HasValue() && pg != nil {
		l.shipper = newPGShipper(*pg, j.Dir(), l.stream, l.logger, l.tb, l.headSeq.Load)
		if err := l.tb.RegisterAuditLedgerSinkBacklogCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(l.shipper.backlog()), sinkPostgres)
			return nil
		}); err != nil {
			_ = j.Close()
			return err
		}
		l.shipper.start()
	}
	l.witnesses = newWitnesses(j.Dir(), l.logger, l.tb)
	if wcfg := l.cfg.Checkpoint.Witness.Postgres.Get(); l.cfg.Checkpoint.Witness.Postgres.HasValue() && wcfg != nil {
		p := &pgWitnessPublisher{cfg: *wcfg}
		if _, err := l.witnesses.add(witnessPostgresName, p.publish, sinkWitnessPostgres, p.close); err != nil {
			_ = j.Close()
			return err
		}
	}
	if l.alerts != nil {
		l.alerts.Start()
	}
	l.stopCh, l.writerDone = make(chan struct{}), make(chan struct{})
	l.sealed = make(chan *sealedBatch, 2)
	l.control = make(chan checkpointRequest)
	go l.run()
	go l.persist()
	l.mu.Lock()
	l.running = true
	l.mu.Unlock()

	if err := l.recordStart(ctx, head, current, previous); err != nil {
		_ = l.Shutdown(ctx)
		return err
	}
	l.witnesses.poke()
	l.logStarted(head, j.Dir())
	return nil
}

// recordStart records the start entry (announcing the stream's key) and, when the key
// changes, the rotation entry and the checkpoint the previous key signs over it.
func (l *ledgerExtension) recordStart(ctx context.Context, head ledger.Head, current, previous ledger.Signer) error {
	ev := l.systemEvent(ledger.ActionStart)
	ev.Counts = map[string]int64{"resumed_at_seq": int64(head.Seq), "repaired_bytes": head.RepairedBytes}
	if s := l.currentSigner(); s != nil {
		ev.Details = ledger.KeyAnnouncement(s.Public())
	}
	if l.link != nil {
		ev.Attributes["previous_stream"] = l.link.stream
		ev.Attributes["previous_stream_damage"] = l.link.damage
		if cp := l.link.checkpoint; cp != nil {
			ev.Attributes["previous_stream_checkpoint_hash"] = cp.Hash
			ev.Counts["previous_stream_checkpoint_seq"] = int64(cp.Seq)
		}
	}
	if err := l.Record(ctx, ev); err != nil {
		return fmt.Errorf("audit_ledger: recording the start: %w", err)
	}
	if previous == nil {
		return nil
	}
	rot := l.systemEvent(ledger.ActionKeyRotation)
	rot.Attributes["previous_signing_key_id"] = previous.Public().ID()
	rot.Attributes["signing_key_id"] = current.Public().ID()
	rot.Details = ledger.KeyAnnouncement(current.Public())
	if err := l.Record(ctx, rot); err != nil {
		return fmt.Errorf("audit_ledger: recording the key rotation: %w", err)
	}
	if err := l.checkpointNow(ctx, ledger.ReasonRotation, previous); err != nil {
		return fmt.Errorf("audit_ledger: the previous key %s could not sign the hand-over to key %s: %w", previous.Public().ID(), current.Public().ID(), err)
	}
	l.signer.Store(&signerHolder{current})
	l.logger.Info("Audit ledger signing key rotated: the previous key signed the hand-over; checkpoint.previous_signer is no longer needed",
		zap.String("previous_key_id", previous.Public().ID()), zap.String("key_id", current.Public().ID()),
		zap.String("fingerprint", current.Public().Fingerprint()))
	return nil
}

// logStopped says where the stream ends once the writer has stopped: its last entry and the
// checkpoint that seals it (the stop entry's), signed or not.
func (l *ledgerExtension) logStopped() {
	fields := []zap.Field{zap.String("stream", l.stream), zap.Uint64("seq", l.durable.Seq),
		zap.Uint64("checkpoint_seq", l.lastCp.Seq), zap.Bool("sealed", l.lastCp.Seq == l.durable.Seq)}
	if l.lastCp.KeyID != "" {
		fields = append(fields, zap.String("signing_key_id", l.lastCp.KeyID))
	}
	if l.lastCp.Seq == l.durable.Seq {
		l.logger.Info("Audit ledger stopped; its last checkpoint seals every entry", fields...)
		return
	}
	l.logger.Warn("Audit ledger stopped with entries after its last checkpoint: no checkpoint seals them yet (verify --require-sealed refuses them)", fields...)
}

func (l *ledgerExtension) logStarted(head ledger.Head, dir string) {
	fields := []zap.Field{zap.String("stream", l.stream), zap.Uint64("seq", head.Seq), zap.String("directory", dir)}
	s := l.currentSigner()
	if s == nil {
		l.logger.Info("Audit ledger started", fields...)
		return
	}
	pub := s.Public()
	fields = append(fields, zap.String("signing_key_id", pub.ID()), zap.String("fingerprint", pub.Fingerprint()),
		zap.String("verify", fmt.Sprintf("wardenctl audit verify --dir %s --key-id %s", l.cfg.File.Directory, pub.Fingerprint())))
	l.logger.Info("Audit ledger started; pin its signing key by the fingerprint to verify it", fields...)
}

var hostChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// resolveStream returns the configured stream id, or the one kept in the directory (creating
// it), followed through the successor links of damaged streams.
func (l *ledgerExtension) resolveStream() (string, error) {
	stream := l.cfg.StreamID
	if stream == "" {
		var err error
		if stream, err = l.storedStreamID(); err != nil {
			return "", err
		}
	}
	for range 1000 {
		raw, err := os.ReadFile(filepath.Join(l.cfg.File.Directory, stream, successorFile))
		if errors.Is(err, os.ErrNotExist) {
			return stream, nil
		}
		if err != nil {
			return "", fmt.Errorf("audit_ledger: %w", err)
		}
		next := strings.TrimSpace(string(raw))
		if !ledger.ValidStreamID(next) {
			return "", fmt.Errorf("audit_ledger: %s names an invalid stream id %q", filepath.Join(l.cfg.File.Directory, stream, successorFile), next)
		}
		stream = next
	}
	return "", errors.New("audit_ledger: too many successor links between streams")
}

func (l *ledgerExtension) storedStreamID() (string, error) {
	path := filepath.Join(l.cfg.File.Directory, "stream_id")
	if raw, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(raw))
		if !ledger.ValidStreamID(id) {
			return "", fmt.Errorf("audit_ledger: %s holds an invalid stream id %q", path, id)
		}
		return id, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("audit_ledger: %w", err)
	}
	host, _ := os.Hostname()
	host = strings.Trim(hostChars.ReplaceAllString(host, "-"), "-._")
	if host == "" {
		host = "collector"
	}
	if len(host) > 40 {
		host = host[:40]
	}
	id := host + "-" + randomHex(6)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("audit_ledger: %w", err)
	}
	return id, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openStream opens the stream's journal after checking it; a damaged journal is refused, or
// replaced by a new stream when on_damage says so.
func (l *ledgerExtension) openStream(stream string) (*ledger.Journal, ledger.Head, error) {
	j, head, err := ledger.OpenJournal(l.cfg.File.Directory, stream, l.journalOptions())
	if err == nil {
		if herr := l.checkHints(filepath.Join(l.cfg.File.Directory, stream), head); herr != nil {
			_ = j.Close()
			err = herr
		}
	}
	var damage *ledger.DamageError
	if !errors.As(err, &damage) {
		l.stream = stream
		if err != nil {
			return nil, ledger.Head{}, fmt.Errorf("audit_ledger: %w", err)
		}
		return j, head, nil
	}
	if l.cfg.OnDamage != OnDamageNewStream {
		return nil, ledger.Head{}, fmt.Errorf("audit_ledger: %w. Nothing was written. Run `wardenctl audit verify --dir %s` to see what changed; "+
			"to keep recording, set on_damage: new_stream, which leaves this stream as it is and starts a new one linked to its last good checkpoint", damage, l.cfg.File.Directory)
	}
	oldDir := filepath.Join(l.cfg.File.Directory, stream)
	link := &streamLink{stream: stream, checkpoint: ledger.LastGoodCheckpoint(oldDir), damage: damage.Error()}
	next := successorName(stream)
	if err := writeFileSync(filepath.Join(oldDir, successorFile), []byte(next+"\n")); err != nil {
		return nil, ledger.Head{}, fmt.Errorf("audit_ledger: starting a new stream after damage: %w", err)
	}
	l.logger.Error("Audit ledger journal is damaged; it is left as it is and a new stream starts (on_damage: new_stream)",
		zap.String("damaged_stream", stream), zap.String("new_stream", next), zap.Error(damage))
	j, head, err = ledger.OpenJournal(l.cfg.File.Directory, next, l.journalOptions())
	if err != nil {
		return nil, ledger.Head{}, fmt.Errorf("audit_ledger: new stream %s: %w", next, err)
	}
	l.stream, l.link = next, link
	return j, head, nil
}

// successorName is a new stream id derived from a damaged stream's.
func successorName(stream string) string {
	base := stream
	if i := strings.LastIndex(stream, ".r"); i > 0 {
		if _, err := strconv.ParseUint(stream[i+2:], 16, 64); err == nil {
			base = stream[:i]
		}
	}
	suffix := ".r" + randomHex(4)
	if len(base)+len(suffix) > 64 {
		base = base[:64-len(suffix)]
	}
	return base + suffix
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkHints compares the journal's head with what the sinks were told: a PostgreSQL sink or a
// witness that has more than the journal means the journal lost entries or checkpoints.
func (l *ledgerExtension) checkHints(dir string, head ledger.Head) error {
	stream := filepath.Base(dir)
	if shipped, ok := readUint(filepath.Join(dir, ledger.ShippedHintFile)); ok && shipped > head.Seq {
		return &ledger.DamageError{Stream: stream, Where: filepath.Join(dir, ledger.ShippedHintFile),
			Msg: fmt.Sprintf("entries up to %d were delivered to PostgreSQL, but the journal ends at entry %d (entries were removed)", shipped, head.Seq)}
	}
	cursors, _ := filepath.Glob(filepath.Join(dir, witnessCursorPrefix+"*"))
	for _, c := range cursors {
		if seq, ok := readUint(c); ok && seq > head.Checkpoint.Seq {
			return &ledger.DamageError{Stream: stream, Where: c,
				Msg: fmt.Sprintf("a witness received a checkpoint for entries up to %d, but the journal's newest checkpoint covers entries up to %d (checkpoints were removed)", seq, head.Checkpoint.Seq)}
		}
	}
	return nil
}

func readUint(path string) (uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	return n, err == nil
}

func (l *ledgerExtension) journalOptions() ledger.JournalOptions {
	return ledger.JournalOptions{
		MaxSegmentBytes: int64(l.cfg.File.MaxSegmentMiB) << 20,
		MaxSegmentAge:   l.cfg.File.MaxSegmentAge,
		RecentIDs:       l.cfg.DedupWindow,
	}
}

// loadSigners loads the signing key and, when the stream's checkpoints were signed by another
// key, the previous one to hand over with. A signed stream stays signed, and a key the stream
// was signed with is never replaced silently.
func (l *ledgerExtension) loadSigners(ctx context.Context, head ledger.Head) (current, previous ledger.Signer, err error) {
	cp := &l.cfg.Checkpoint
	last := head.Checkpoint.KeyID
	switch {
	case cp.Signer.kms() != nil:
		current, err = kmsSigner(ctx, cp.Signer.kms())
		if err != nil {
			return nil, nil, fmt.Errorf("audit_ledger: checkpoint.signer.aws_kms: %w", err)
		}
	case cp.SigningKeyFile != "":
		current, err = l.loadKeyFile(head)
		if err != nil {
			return nil, nil, err
		}
		l.logger.Warn("Audit ledger checkpoints are signed with a key file on this host: whoever can change the ledger here may be able to read the key as well. Keep the key file on another disk than the ledger, and prefer checkpoint.signer.aws_kms, which keeps the key out of the collector",
			zap.String("signing_key_file", cp.SigningKeyFile))
	default:
		if last != "" {
			return nil, nil, fmt.Errorf("audit_ledger: stream %s's checkpoints are signed by key %s, but no signing key is configured: a signed ledger must stay signed; configure that key (checkpoint.signing_key_file or checkpoint.signer.aws_kms)", l.stream, last)
		}
		l.logger.Warn("Audit ledger checkpoints are not signed: set checkpoint.signer.aws_kms or checkpoint.signing_key_file so that the ledger proves who wrote it")
		return nil, nil, nil
	}
	if last == "" || last == current.Public().ID() {
		if cp.PreviousSigner.kms() != nil || cp.PreviousSigner.SigningKeyFile != "" {
			l.logger.Info("checkpoint.previous_signer is not needed: the stream is already signed by the current key", zap.String("key_id", current.Public().ID()))
		}
		return current, nil, nil
	}
	switch {
	case cp.PreviousSigner.kms() != nil:
		previous, err = kmsSigner(ctx, cp.PreviousSigner.kms())
	case cp.PreviousSigner.SigningKeyFile != "":
		previous, err = ledger.LoadSigningKey(cp.PreviousSigner.SigningKeyFile)
	default:
		return nil, nil, fmt.Errorf("audit_ledger: stream %s's checkpoints are signed by key %s, but the configured key is %s. "+
			"To change keys, set checkpoint.previous_signer to key %s: it signs the hand-over once, at this start. "+
			"If key %s is lost, the stream cannot continue under another key: give the collector a new stream (stream_id, or another file.directory)",
			l.stream, last, current.Public().ID(), last, last)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit_ledger: checkpoint.previous_signer: %w", err)
	}
	if previous.Public().ID() != last {
		return nil, nil, fmt.Errorf("audit_ledger: checkpoint.previous_signer is key %s, but stream %s's checkpoints are signed by key %s", previous.Public().ID(), l.stream, last)
	}
	return current, previous, nil
}

// loadKeyFile loads checkpoint.signing_key_file, creating it only when allowed and when no
// signed checkpoint would be orphaned: the stream has none yet, or a previous signer is
// configured to hand over to the new key.
func (l *ledgerExtension) loadKeyFile(head ledger.Head) (ledger.Signer, error) {
	path := l.cfg.Checkpoint.SigningKeyFile
	s, err := ledger.LoadSigningKey(path)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !l.cfg.Checkpoint.CreateKey {
		return nil, fmt.Errorf("audit_ledger: checkpoint.signing_key_file: %w", err)
	}
	prev := &l.cfg.Checkpoint.PreviousSigner
	if last := head.Checkpoint.KeyID; last != "" && prev.kms() == nil && prev.SigningKeyFile == "" {
		return nil, fmt.Errorf("audit_ledger: checkpoint.signing_key_file %s is missing, but stream %s's checkpoints are signed by key %s: "+
			"restore that key file (create_key never replaces a key the ledger was signed with), "+
			"or, to change keys, set checkpoint.previous_signer to key %s so that it signs the hand-over", path, l.stream, last, last)
	}
	s, err = ledger.GenerateSigningKey(path)
	if err != nil {
		return nil, fmt.Errorf("audit_ledger: checkpoint.signing_key_file: %w", err)
	}
	l.logger.Info("Created the audit ledger signing key; record its fingerprint somewhere the collector cannot write, to verify the ledger with --key-id",
		zap.String("private_key", path), zap.String("public_key", path+".pub"), zap.String("key_id", s.Public().ID()),
		zap.String("fingerprint", s.Public().Fingerprint()))
	return s, nil
}

func kmsSigner(ctx context.Context, cfg *awskms.Config) (ledger.Signer, error) {
	ctx, cancel := context.WithTimeout(ctx, kmsSetupTimeout)
	defer cancel()
	client, err := awskms.NewClient(ctx, *cfg)
	if err != nil {
		return nil, err
	}
	return ledger.NewKMSSigner(ctx, client, cfg.KeyID)
}
