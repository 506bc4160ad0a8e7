package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// keysGenerate creates a field encryption keyring with one default key.
func keysGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "keyring file to create (0600); an existing file is never replaced")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if msg := noStrayArgs(fs); msg != "" || *out == "" {
		fmt.Fprintln(stderr, "wardenctl keys generate:", firstOf(msg, "--out FILE is required"))
		return exitUsage
	}
	k, err := fieldcrypt.GenerateKeyring(*out)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys generate:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "keyring: %s (mode 0600)\nkey id:  %s (default key, active)\n\n"+
		"Every field encrypted under this keyring needs it to be decrypted: back it up, and keep it\n"+
		"away from where the telemetry is stored. Use aws_kms to keep master keys off hosts.\n", *out, k.ID)
	return exitOK
}

// keysRotate gives a tenant (or the default key) a new active key.
func keysRotate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyring := fs.String("keyring", "", "keyring file (`wardenctl keys generate`)")
	tenant := fs.String("tenant", "", "tenant whose key to rotate (default: the default key); a tenant without a key gets its first")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if msg := noStrayArgs(fs); msg != "" || *keyring == "" {
		fmt.Fprintln(stderr, "wardenctl keys rotate:", firstOf(msg, "--keyring FILE is required"))
		return exitUsage
	}
	var previous []string
	if kr, err := fieldcrypt.Load(*keyring); err == nil {
		previous = keyIDs(kr.Keys(), *tenant, fieldcrypt.KeyActive)
	}
	made, err := fieldcrypt.Rotate(*keyring, *tenant)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys rotate:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "keyring: %s\ntenant:  %s\nnew key: %s (active: wraps new data from now on)\n", *keyring, tenantName(*tenant), made.ID)
	if len(previous) > 0 {
		fmt.Fprintf(stdout, "retired: %s (still decrypts what it protects)\n", strings.Join(previous, ", "))
	}
	fmt.Fprintln(stdout, "\nA running collector takes the new key within a second, for its next data key.")
	return exitOK
}

// keyIDs lists the ids of tenant's keys in state.
func keyIDs(keys []fieldcrypt.KeyInfo, tenant string, state fieldcrypt.KeyState) []string {
	var ids []string
	for _, k := range keys {
		if k.Tenant == tenant && k.State == state {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

func tenantName(tenant string) string {
	if tenant == "" {
		return "(none: the default key)"
	}
	return tenant
}

// noStrayArgs says what is wrong when arguments follow the flags.
func noStrayArgs(fs *flag.FlagSet) string {
	if fs.NArg() > 0 {
		return fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	}
	return ""
}

func firstOf(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}
