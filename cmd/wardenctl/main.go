// Command wardenctl is Warden's companion tool: it creates keys and verifies the audit ledger
// that the collector writes.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK           = 0
	exitTampered     = 1 // verification found the ledger changed
	exitUsage        = 2 // bad arguments, or the ledger could not be read
	exitUnverifiable = 3 // intact, but authenticity could not be established
)

const usage = `wardenctl: Warden's companion tool

Usage:
  wardenctl keys signing --out FILE
      Create an Ed25519 checkpoint signing key: private key to FILE (0600), public key to FILE.pub.
  wardenctl audit verify --dir DIR [--public-key FILE]... [--require-signatures | --no-signatures]
  wardenctl audit verify --postgres DSN [--table audit_log] [--public-key FILE]... [...]
      Recompute every hash of the ledger, check links, gaps, forks and checkpoint signatures.
      Exit status: 0 verified, 1 tampered, 3 unverifiable (intact, but not provably authentic), 2 error.
  wardenctl audit schema [--table audit_log]
      Print the PostgreSQL DDL of the ledger tables (append-only triggers included).
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] + " " + args[1] {
	case "keys signing":
		return keysSigning(args[2:], stdout, stderr)
	case "audit verify":
		return auditVerify(args[2:], stdout, stderr)
	case "audit schema":
		return auditSchema(args[2:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wardenctl: unknown command %q\n\n%s", args[0]+" "+args[1], usage)
	return exitUsage
}
