package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otelwarden/warden/internal/ledger"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// verifyOptions are the flags of `audit verify`.
type verifyOptions struct {
	dir, dsn, table            string
	publicKeys, keyIDs         multiFlag
	state                      string
	streams                    multiFlag
	witnessFiles               multiFlag
	witnessDSN, witnessTable   string
	requireSigs, requireSealed bool
	noSigs                     bool
}

func auditVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o verifyOptions
	fs.StringVar(&o.dir, "dir", "", "journal directory (the audit_ledger file.directory, or one stream in it)")
	fs.StringVar(&o.dsn, "postgres", "", "PostgreSQL DSN of the ledger database (with --dir: both are verified and compared)")
	fs.StringVar(&o.table, "table", "audit_log", "ledger table ([schema.]name)")
	fs.Var(&o.publicKeys, "public-key", "trusted public key file (PEM); repeatable")
	fs.Var(&o.keyIDs, "key-id", "trusted key fingerprint (sha256:<64 hex>), the key itself read from the ledger's announcement; repeatable")
	fs.StringVar(&o.state, "state", "", "file remembering the last verified checkpoint of each stream: the ledger must extend it; updated when verification succeeds")
	fs.Var(&o.streams, "stream", "stream id that must be present; repeatable")
	fs.Var(&o.witnessFiles, "witness-file", "a witness's copy of the checkpoints (checkpoint lines, or the file exporter's OTLP JSON from the audit_checkpoints receiver); repeatable")
	fs.StringVar(&o.witnessDSN, "witness-postgres", "", "PostgreSQL DSN of a witness table (checkpoint.witness.postgres)")
	fs.StringVar(&o.witnessTable, "witness-table", "audit_witness", "witness table ([schema.]name)")
	fs.BoolVar(&o.requireSigs, "require-signatures", false, "a stream without a signed checkpoint is unverifiable")
	fs.BoolVar(&o.requireSealed, "require-sealed", false, "entries after the last checkpoint are unverifiable")
	fs.BoolVar(&o.noSigs, "no-signatures", false, "check the hash chain and the signature rules, not the signatures")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
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
	for _, rep := range r.Reports {
		printReport(stdout, rep)
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
	fmt.Fprintf(stdout, "OK %s: %d stream(s), %d entries verified in %s\n", source, len(r.Reports), total, time.Since(start).Round(time.Millisecond))
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

func printReport(w io.Writer, r ledger.StreamReport) {
	fmt.Fprintf(w, "stream %s: %d entries (last %d), %d checkpoints (%d signed", r.Stream, r.Entries, r.LastSeq, r.Checkpoints, r.SignedCheckpoints)
	if len(r.KeyIDs) > 0 {
		fmt.Fprintf(w, " by %s", strings.Join(r.KeyIDs, ", "))
	}
	fmt.Fprint(w, ")")
	if r.Key != nil {
		fmt.Fprintf(w, ", trusted key %s", r.Key.Fingerprint())
	}
	fmt.Fprintln(w)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

func auditSchema(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", "audit_log", "ledger table ([schema.]name)")
	witness := fs.String("witness-table", "", "print the DDL of a witness table of this name instead")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	var ddl string
	var err error
	if *witness != "" {
		ddl, err = ledger.WitnessSchemaSQL(*witness)
	} else {
		ddl, err = ledger.SchemaSQL(*table)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl audit schema:", err)
		return exitUsage
	}
	fmt.Fprint(stdout, ddl)
	return exitOK
}
