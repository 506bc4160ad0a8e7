// Command wardenctl is Warden's companion tool: it creates keys, decrypts and scans the
// telemetry the collector writes, and verifies the audit ledger it keeps.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK           = 0
	exitTampered     = 1 // verification found the ledger changed
	exitUsage        = 2 // bad arguments, or the ledger could not be read
	exitUnverifiable = 3 // intact, but authenticity could not be established from what was given
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command line args and returns the exit code: help and version on stdout with
// 0; a missing or unknown command or flag named on stderr, with the usage, and 2; else the
// command's own.
func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	return c.execute(c.root(), args)
}

const rootLong = `wardenctl is Warden's companion tool: it creates signing and field encryption keys, decrypts
and scans the telemetry the collector writes, erases a tenant's data by destroying its keys,
and verifies the audit ledger the collector keeps.

"wardenctl help COMMAND" or "wardenctl COMMAND --help" describes a command, its flags and
its exit status.`

const rootExitStatus = `  0  done (verified, decrypted, created, scanned; or help and version printed)
  1  audit verify: the ledger was tampered with; decrypt: some fields stay encrypted
  2  bad arguments or input, a missing or unknown command or flag, an unreadable ledger
  3  audit verify: intact, but not provably authentic with what was given
  4  decrypt, keys shred, apikeys: the action could not be recorded in the audit ledger
`

// root is the command tree.
func (c *cli) root() *cobra.Command {
	root := c.group(&cobra.Command{
		Use:     "wardenctl",
		Short:   "Warden's companion tool",
		Long:    rootLong,
		Version: buildVersion(),
	}, rootExitStatus)
	root.SetVersionTemplate("{{.Name}} version {{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print the version (the collector's)")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetHelpFunc(c.help)
	root.SetUsageFunc(usage)
	root.SetHelpCommand(c.helpCmd(root))

	keys := c.group(&cobra.Command{
		Use:   "keys",
		Short: "Create, fingerprint, rotate and shred keys",
		Long: "Create the checkpoint signing key of the audit ledger and print its fingerprint; create,\n" +
			"rotate and shred the keys of the field_encryption processor's keyring or AWS KMS.",
	}, groupExitStatus)
	keys.AddCommand(keysSigningCmd(c), keysFingerprintCmd(c), keysGenerateCmd(c), keysRotateCmd(c), keysShredCmd(c))

	audit := c.group(&cobra.Command{
		Use:   "audit",
		Short: "Verify the audit ledger; print its PostgreSQL schema",
		Long:  "Verify the audit ledger the collector writes (a journal directory, a PostgreSQL table, or\nboth), and print the DDL of its PostgreSQL tables.",
	}, groupExitStatus)
	audit.AddCommand(auditVerifyCmd(c), auditSchemaCmd(c))

	pii := c.group(&cobra.Command{
		Use:   "pii",
		Short: "Report what the pii_redaction processor would find",
		Long:  "Report what the pii_redaction processor would find in the file exporter's output.",
	}, groupExitStatus)
	pii.AddCommand(piiScanCmd(c))

	root.AddCommand(keys, audit, decryptCmd(c), pii, apikeysCmd(c), c.versionCmd())
	return root
}

const groupExitStatus = `  0  help printed
  2  a missing or unknown command or flag
Each command's help gives its own exit status.
`
