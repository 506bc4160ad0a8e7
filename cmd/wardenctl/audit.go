package main

import (
	"context"
	"crypto/ed25519"
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

func auditVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "journal directory (the audit_ledger file.directory, or one stream in it)")
	dsn := fs.String("postgres", "", "PostgreSQL DSN of the ledger database")
	table := fs.String("table", "audit_log", "ledger table ([schema.]name)")
	requireSigs := fs.Bool("require-signatures", false, "treat unsigned checkpoints as unverifiable")
	noSigs := fs.Bool("no-signatures", false, "check the hash chain only, not who signed it")
	var pubFiles multiFlag
	fs.Var(&pubFiles, "public-key", "trusted Ed25519 public key (PEM); repeat for rotated keys")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if (*dir == "") == (*dsn == "") {
		fmt.Fprintln(stderr, "wardenctl audit verify: give exactly one of --dir and --postgres")
		return exitUsage
	}
	v := &ledger.Verifier{Keys: map[string]ed25519.PublicKey{}, RequireSignatures: *requireSigs, SkipSignatures: *noSigs}
	for _, f := range pubFiles {
		pub, err := ledger.LoadPublicKey(f)
		if err != nil {
			fmt.Fprintln(stderr, "wardenctl audit verify:", err)
			return exitUsage
		}
		v.Keys[ledger.KeyID(pub)] = pub
	}

	start := time.Now()
	var (
		reports []ledger.StreamReport
		failure *ledger.Failure
		err     error
		source  string
	)
	if *dir != "" {
		source = *dir
		reports, failure, err = v.VerifyDir(*dir)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		var store *ledger.PGStore
		store, err = ledger.OpenPG(ctx, *dsn, *table)
		if err == nil {
			defer store.Close()
			source = "table " + *table
			reports, failure, err = v.VerifyPG(ctx, store)
		}
	}
	for _, r := range reports {
		printReport(stdout, r)
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "wardenctl audit verify:", err)
		return exitUsage
	case failure != nil:
		fmt.Fprintf(stdout, "FAILED %s\n", failure.Error())
		if failure.Kind == ledger.Unverifiable {
			return exitUnverifiable
		}
		return exitTampered
	}
	var total uint64
	for _, r := range reports {
		total += r.Entries
	}
	fmt.Fprintf(stdout, "OK %s: %d stream(s), %d entries verified in %s\n", source, len(reports), total, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func printReport(w io.Writer, r ledger.StreamReport) {
	fmt.Fprintf(w, "stream %s: %d entries (last %d), %d checkpoints (%d signed", r.Stream, r.Entries, r.LastSeq, r.Checkpoints, r.SignedCheckpoints)
	if len(r.KeyIDs) > 0 {
		fmt.Fprintf(w, " by %s", strings.Join(r.KeyIDs, ", "))
	}
	fmt.Fprint(w, ")")
	if r.Duplicates > 0 {
		fmt.Fprintf(w, ", %d duplicate entries (identical re-deliveries)", r.Duplicates)
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
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ddl, err := ledger.SchemaSQL(*table)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl audit schema:", err)
		return exitUsage
	}
	fmt.Fprint(stdout, ddl)
	return exitOK
}
