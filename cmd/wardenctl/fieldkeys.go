package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// generateOptions are the flags of `keys generate`.
type generateOptions struct{ out string }

func keysGenerateCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "generate --out FILE",
		Short: "Create a field encryption keyring",
		Long: `Create a field encryption keyring for the field_encryption processor (mode 0600) with one
active default key. An existing file is never replaced.`,
	}, `  0  created
  2  bad arguments, or the keyring cannot be written (an existing file is never replaced)
`, &generateOptions{})
}

func (o *generateOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.out, "out", "", "keyring `FILE` to create (0600); an existing file is never replaced")
}

// run creates a field encryption keyring with one default key.
func (o *generateOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if msg := noStrayArgs(fs); msg != "" || o.out == "" {
		fmt.Fprintln(stderr, "wardenctl keys generate:", firstOf(msg, "--out FILE is required"))
		return exitUsage
	}
	k, err := fieldcrypt.GenerateKeyring(o.out)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys generate:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "keyring: %s (mode 0600)\nkey id:  %s (default key, active)\n\n"+
		"Every field encrypted under this keyring needs it to be decrypted: back it up, and keep it\n"+
		"away from where the telemetry is stored. Use aws_kms to keep master keys off hosts.\n", o.out, k.ID)
	return exitOK
}

// rotateOptions are the flags of `keys rotate`.
type rotateOptions struct{ keyring, tenant string }

func keysRotateCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "rotate --keyring FILE [--tenant T]",
		Short: "Give a tenant (or the default key) a new active key",
		Long: `Give the tenant (or, without --tenant, the default key) a new active key for new data; the
previous one is retired and still decrypts. A tenant without a key gets its first one. A
running collector takes the new key within a second.`,
	}, `  0  rotated
  2  bad arguments, or the keyring cannot be read or written
`, &rotateOptions{})
}

func (o *rotateOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.keyring, "keyring", "", "keyring `FILE` (made by wardenctl keys generate)")
	fs.StringVar(&o.tenant, "tenant", "", "tenant `T` whose key to rotate (default: the default key); a tenant without a key gets its first")
}

// run gives a tenant (or the default key) a new active key.
func (o *rotateOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if msg := noStrayArgs(fs); msg != "" || o.keyring == "" {
		fmt.Fprintln(stderr, "wardenctl keys rotate:", firstOf(msg, "--keyring FILE is required"))
		return exitUsage
	}
	var previous []string
	if kr, err := fieldcrypt.Load(o.keyring); err == nil {
		previous = keyIDs(kr.Keys(), o.tenant, fieldcrypt.KeyActive)
	}
	made, err := fieldcrypt.Rotate(o.keyring, o.tenant)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys rotate:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "keyring: %s\ntenant:  %s\nnew key: %s (active: wraps new data from now on)\n", o.keyring, tenantName(o.tenant), made.ID)
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
func noStrayArgs(fs *pflag.FlagSet) string {
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
