package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/ledger"
)

// verifyOptions are the flags of `audit verify`.
type verifyOptions struct {
	dir, dsn, table            string
	publicKeys, keyIDs         []string
	state                      string
	streams                    []string
	witnessFiles               []string
	witnessDSN, witnessTable   string
	requireSigs, requireSealed bool
	noSigs                     bool
}

func auditVerifyCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use: "verify (--dir DIR | --postgres DSN [--table audit_log] | --dir DIR --postgres DSN)\n" +
			"      [--key-id sha256:HEX]... [--public-key FILE]... [--state FILE] [--stream ID]...\n" +
			"      [--witness-file FILE]... [--witness-postgres DSN [--witness-table audit_witness]]\n" +
			"      [--require-signatures] [--require-sealed] [--no-signatures]",
		Short: "Verify the audit ledger: hashes, links, checkpoints, signatures, copies",
		Long: `Recompute every hash of the ledger from its stored lines or rows; check links, gaps,
duplicates, forks, the stored form of every line, and the checkpoint signatures, trusting
only the keys given (--key-id pins a key by fingerprint; --public-key gives it) and the
rotations they signed. --state remembers what was verified so that a rolled-back or replaced
ledger fails next time; witnesses and --dir with --postgres compare copies.

Prints a line per stream (entries, checkpoints, signing keys, warnings), then OK or FAILED
with what failed and where. On a failure, the stream's line says how far it was checked.`,
	}, `  0  verified
  1  tampered: the ledger was changed (FAILED says what and where)
  2  bad arguments, or the ledger (or --state) cannot be read or written
  3  unverifiable: intact, but not provably authentic with what was given
     (no trusted key, an unsigned stream with --require-signatures, ...)
`, &verifyOptions{})
}

func (o *verifyOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.dir, "dir", "", "journal directory `DIR` (the audit_ledger file.directory, or one stream in it)")
	fs.StringVar(&o.dsn, "postgres", "", "PostgreSQL `DSN` of the ledger database (with --dir: both are verified and compared)")
	fs.StringVar(&o.table, "table", "audit_log", "ledger table `NAME` ([schema.]name)")
	fs.StringArrayVar(&o.keyIDs, "key-id", nil, "trusted key fingerprint (`sha256:HEX`, 64 hex digits), the key itself read from the ledger's announcement; repeatable")
	fs.StringArrayVar(&o.publicKeys, "public-key", nil, "trusted public key `FILE` (PEM); repeatable")
	fs.StringVar(&o.state, "state", "", "`FILE` remembering the last verified checkpoint of each stream: the ledger must extend it; updated when verification succeeds")
	fs.StringArrayVar(&o.streams, "stream", nil, "stream `ID` that must be present; repeatable")
	fs.StringArrayVar(&o.witnessFiles, "witness-file", nil, "a witness's copy of the checkpoints in `FILE` (checkpoint lines, or the file exporter's OTLP JSON from the audit_checkpoints receiver); repeatable")
	fs.StringVar(&o.witnessDSN, "witness-postgres", "", "PostgreSQL `DSN` of a witness table (checkpoint.witness.postgres)")
	fs.StringVar(&o.witnessTable, "witness-table", "audit_witness", "witness table `NAME` ([schema.]name)")
	fs.BoolVar(&o.requireSigs, "require-signatures", false, "a stream without a signed checkpoint is unverifiable")
	fs.BoolVar(&o.requireSealed, "require-sealed", false, "entries after the last checkpoint are unverifiable")
	fs.BoolVar(&o.noSigs, "no-signatures", false, "check the hash chain and the signature rules, not the signatures")
}

func (o *verifyOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wardenctl audit verify: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if o.dir == "" && o.dsn == "" {
		fmt.Fprintln(stderr, "wardenctl audit verify: give --dir, --postgres, or both")
		return exitUsage
	}
	v, err := o.verifier()
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl audit verify:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	start := time.Now()
	source, r := o.verify(ctx, v)
	if !r.Failed() {
		o.checkWitnesses(ctx, &r)
	}
	for i, rep := range r.Reports {
		// The stream the verification stopped in was checked only in part.
		stoppedBy := ""
		switch {
		case r.Failure != nil && rep.Stream == r.Failure.Stream:
			stoppedBy = "the failure"
		case r.Err != nil && i == len(r.Reports)-1:
			stoppedBy = "the error"
		}
		printReport(stdout, rep, stoppedBy)
	}
	switch {
	case r.Err != nil:
		fmt.Fprintln(stderr, "wardenctl audit verify:", r.Err)
		return exitUsage
	case r.Failure != nil:
		fmt.Fprintf(stdout, "FAILED %s\n", r.Failure.Error())
		if r.Failure.Kind == ledger.Unverifiable {
			return exitUnverifiable
		}
		return exitTampered
	}
	if o.state != "" {
		if err := ledger.SaveAnchors(o.state, ledger.UpdateAnchors(v.Anchors, r.Reports, time.Now())); err != nil {
			fmt.Fprintln(stderr, "wardenctl audit verify: the ledger verified, but the state could not be saved:", err)
			return exitUsage
		}
	}
	var total uint64
	for _, rep := range r.Reports {
		total += rep.Entries
	}
	fmt.Fprintf(stdout, "OK %s: %s, %s verified in %s\n", source, count(len(r.Reports), "stream", "streams"),
		count(total, "entry", "entries"), time.Since(start).Round(time.Millisecond))
	return exitOK
}

// verifier builds the Verifier from the trust roots, the state and the required streams.
func (o *verifyOptions) verifier() (*ledger.Verifier, error) {
	if o.noSigs && (o.requireSigs || len(o.publicKeys) > 0 || len(o.keyIDs) > 0) {
		return nil, errors.New("--no-signatures does not go with --require-signatures, --public-key or --key-id")
	}
	v := &ledger.Verifier{RequireSignatures: o.requireSigs, RequireSealed: o.requireSealed, SkipSignatures: o.noSigs, Streams: o.streams}
	for _, f := range o.publicKeys {
		pub, err := ledger.LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		v.Roots = append(v.Roots, pub)
	}
	for _, id := range o.keyIDs {
		if !ledger.ValidFingerprint(id) {
			return nil, fmt.Errorf("--key-id %q: want the key's full fingerprint, sha256:<64 hex digits> (`wardenctl keys fingerprint`, or the collector's start-up log)", id)
		}
		v.Pins = append(v.Pins, id)
	}
	if o.state != "" {
		anchors, err := ledger.LoadAnchors(o.state)
		if err != nil {
			return nil, err
		}
		v.Anchors = anchors
	}
	return v, nil
}

func (o *verifyOptions) verify(ctx context.Context, v *ledger.Verifier) (string, ledger.Result) {
	if o.dsn == "" {
		return o.dir, v.VerifyDir(o.dir)
	}
	store, err := ledger.OpenPG(ctx, o.dsn, o.table)
	if err != nil {
		return "", ledger.Result{Err: err}
	}
	defer store.Close()
	if o.dir == "" {
		return "table " + o.table, v.VerifyPG(ctx, store)
	}
	return o.dir + " and table " + o.table, v.VerifyDirAgainstPG(ctx, o.dir, store)
}

// checkWitnesses compares the verified ledger with each witness given.
func (o *verifyOptions) checkWitnesses(ctx context.Context, r *ledger.Result) {
	// A single stream directory is not the whole ledger: other streams may be witnessed.
	whole := o.dir == "" || !isStreamDir(o.dir)
	for _, f := range o.witnessFiles {
		w, err := ledger.ReadWitnessFile(f)
		if err != nil {
			r.Err = fmt.Errorf("witness %s: %w", f, err)
			return
		}
		ledger.CheckWitness(r, w, whole)
		if r.Failed() {
			return
		}
	}
	if o.witnessDSN != "" {
		pw, err := ledger.OpenPGWitness(ctx, o.witnessDSN, o.witnessTable)
		if err != nil {
			r.Err = err
			return
		}
		defer pw.Close()
		w, err := pw.Read(ctx)
		if err != nil {
			r.Err = err
			return
		}
		ledger.CheckWitness(r, w, whole)
	}
}

func isStreamDir(dir string) bool {
	segs, err := ledger.Segments(dir)
	return err == nil && len(segs) > 0
}

// printReport writes a stream's line and its warnings. A stream whose check stopped at a
// failure or an error (stoppedBy) says how far it was checked, not what it holds: its counts
// of checkpoints and signatures would be those met on the way, not those verified.
func printReport(w io.Writer, r ledger.StreamReport, stoppedBy string) {
	switch {
	case stoppedBy != "" && r.Entries == 0:
		fmt.Fprintf(w, "stream %s: no entry checked before %s\n", r.Stream, stoppedBy)
	case stoppedBy != "":
		fmt.Fprintf(w, "stream %s: %s checked before %s (%s)\n", r.Stream, count(r.Entries, "entry", "entries"), stoppedBy, seqRange(r.LastSeq))
	default:
		fmt.Fprintf(w, "stream %s: %s (last %d), %s", r.Stream, count(r.Entries, "entry", "entries"), r.LastSeq, checkpoints(r))
		if r.Key != nil {
			fmt.Fprintf(w, ", trusted key %s", r.Key.Fingerprint())
		}
		fmt.Fprintln(w)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

// checkpoints is "no checkpoint", or "3 checkpoints (2 signed by k1)".
func checkpoints(r ledger.StreamReport) string {
	if r.Checkpoints == 0 {
		return "no checkpoint"
	}
	s := fmt.Sprintf("%s (%d signed", count(r.Checkpoints, "checkpoint", "checkpoints"), r.SignedCheckpoints)
	if len(r.KeyIDs) > 0 {
		s += " by " + strings.Join(r.KeyIDs, ", ")
	}
	return s + ")"
}

// seqRange is "entry 1" or "entries 1..n".
func seqRange(last uint64) string {
	if last == 1 {
		return "entry 1"
	}
	return fmt.Sprintf("entries 1..%d", last)
}

// schemaOptions are the flags of `audit schema`.
type schemaOptions struct{ table, witness string }

func auditSchemaCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "schema [--table audit_log] [--witness-table NAME]",
		Short: "Print the PostgreSQL DDL of the ledger tables",
		Long: `Print the PostgreSQL DDL of the ledger tables (or, with --witness-table, of a witness
table), append-only triggers included.`,
	}, `  0  printed
  2  bad arguments (a table name that is not [schema.]name)
`, &schemaOptions{})
}

func (o *schemaOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.table, "table", "audit_log", "ledger table `NAME` ([schema.]name)")
	fs.StringVar(&o.witness, "witness-table", "", "print the DDL of a witness table of this `NAME` instead")
}

func (o *schemaOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if msg := noStrayArgs(fs); msg != "" {
		fmt.Fprintln(stderr, "wardenctl audit schema:", msg)
		return exitUsage
	}
	var ddl string
	var err error
	if o.witness != "" {
		ddl, err = ledger.WitnessSchemaSQL(o.witness)
	} else {
		ddl, err = ledger.SchemaSQL(o.table)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl audit schema:", err)
		return exitUsage
	}
	fmt.Fprint(stdout, ddl)
	return exitOK
}
