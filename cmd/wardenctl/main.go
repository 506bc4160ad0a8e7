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
	exitUnverifiable = 3 // intact, but authenticity could not be established from what was given
)

const usage = `wardenctl: Warden's companion tool

Usage:
  wardenctl keys signing --out FILE
      Create an Ed25519 checkpoint signing key: private key to FILE (0600), public key to FILE.pub.
      Prints the key's fingerprint: record it where the collector cannot write.
  wardenctl keys fingerprint (--public-key FILE | --aws-kms-key-id ID [--aws-region R] [--aws-endpoint URL])
      Print a signing key's algorithm, key id, fingerprint and PEM public key.
  wardenctl audit verify (--dir DIR | --postgres DSN [--table audit_log] | --dir DIR --postgres DSN)
        [--key-id sha256:HEX]... [--public-key FILE]... [--state FILE] [--stream ID]...
        [--witness-file FILE]... [--witness-postgres DSN [--witness-table audit_witness]]
        [--require-signatures] [--require-sealed] [--no-signatures]
      Recompute every hash of the ledger from its stored lines or rows; check links, gaps,
      duplicates, forks, the stored form of every line, and the checkpoint signatures, trusting
      only the keys given (--key-id pins a key by fingerprint; --public-key gives it) and the
      rotations they signed. --state remembers what was verified so that a rolled-back or
      replaced ledger fails next time; witnesses and --dir with --postgres compare copies.
      Exit status: 0 verified, 1 tampered, 3 unverifiable (intact, but not provably authentic
      with what was given), 2 bad arguments or unreadable.
  wardenctl audit schema [--table audit_log] [--witness-table NAME]
      Print the PostgreSQL DDL of the ledger tables (or of a witness table), append-only
      triggers included.
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
	case "keys fingerprint":
		return keysFingerprint(args[2:], stdout, stderr)
	case "audit verify":
		return auditVerify(args[2:], stdout, stderr)
	case "audit schema":
		return auditSchema(args[2:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wardenctl: unknown command %q\n\n%s", args[0]+" "+args[1], usage)
	return exitUsage
}
