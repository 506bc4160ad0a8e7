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
  wardenctl keys generate --out FILE
      Create a field encryption keyring (0600) with one default key; never replaces a file.
  wardenctl keys rotate --keyring FILE [--tenant T]
      Give the tenant (or the default key) a new active key for new data; older keys still decrypt.
  wardenctl keys shred --keyring FILE --tenant T [LEDGER]
  wardenctl keys shred --aws-kms-key-id ID [--aws-region R] [--aws-endpoint URL]
        [--pending-window-days 7..30] --tenant T [LEDGER]
      Crypto-shredding: destroy the tenant's keyring keys, or schedule its KMS key's deletion
      (default in 7 days; KMS refuses the key at once). The tenant's encrypted fields become
      unrecoverable wherever they are stored. Prints the keys shredded.
  wardenctl decrypt (--keyring FILE | --aws-kms-key-id ID [--aws-kms-tenant-key TENANT=ID]...
        [--aws-region R] [--aws-endpoint URL]) [--in FILE|-] [--out FILE|-] [LEDGER]
      Read the file exporter's OTLP JSON lines (traces, logs, metrics) and write them back with
      every field_encryption value decrypted to its original type. Values that may not be
      decrypted stay ciphertext and are reported on stderr by reason, key and field, never by
      value; a summary line ends the report. --out never replaces a file. Exit status: 0 all
      decrypted, 1 some left encrypted, 2 bad arguments or input, 4 not recorded.
  LEDGER: --ledger-dir DIR and/or --ledger-postgres DSN [--ledger-table audit_log]
        [--ledger-signing-key FILE] [--ledger-stream ID]
      Record the action (telemetry.decrypt with counts by key and field; gdpr.erasure_completed
      with the tenant and key ids) in the audit ledger, under wardenctl's own stream
      (wardenctl-<host>-<user>; journal by default in $XDG_STATE_HOME/warden/ledger). The ledger
      is opened first; decrypt output is released only once recorded; exit 4 if it cannot be.
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
  wardenctl pii scan [--config FILE [--processor pii_redaction/NAME]] [--format text|json] [FILE|-]...
      Report what the pii_redaction processor would find in the file exporter's OTLP JSON lines
      (traces, logs, metrics; stdin when no FILE or -), changing nothing: counts by type, key,
      signal and service, and the records and values scanned; never a value. --config takes the
      processor's block or a collector configuration (default: the zero configuration).
      Malformed lines are counted and skipped. Exit status: 0 scanned, 2 bad arguments or
      unreadable input.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "decrypt" {
		return decrypt(args[1:], stdout, stderr)
	}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] + " " + args[1] {
	case "keys signing":
		return keysSigning(args[2:], stdout, stderr)
	case "keys fingerprint":
		return keysFingerprint(args[2:], stdout, stderr)
	case "keys generate":
		return keysGenerate(args[2:], stdout, stderr)
	case "keys rotate":
		return keysRotate(args[2:], stdout, stderr)
	case "keys shred":
		return keysShred(args[2:], stdout, stderr)
	case "audit verify":
		return auditVerify(args[2:], stdout, stderr)
	case "audit schema":
		return auditSchema(args[2:], stdout, stderr)
	case "pii scan":
		return piiScan(args[2:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wardenctl: unknown command %q\n\n%s", args[0]+" "+args[1], usage)
	return exitUsage
}
