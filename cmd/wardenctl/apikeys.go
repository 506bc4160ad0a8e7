package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/apikeys"
)

// ledgerUsage is the ledger flags' synopsis, as in keys shred.
const ledgerUsage = "\nLEDGER: --ledger-dir DIR and/or --ledger-postgres DSN [--ledger-table audit_log]\n" +
	"      [--ledger-signing-key FILE] [--ledger-stream ID]"

const apikeysLedgerHelp = `With a ledger (--ledger-dir and/or --ledger-postgres) the change is recorded under
wardenctl's own stream, the OS user as actor and the key id and tenant as resource; never the
key. The ledger is opened first: when it cannot be, nothing is changed.`

// apikeysCmd is `apikeys`: the keys file of the api_key_auth extension.
func apikeysCmd(c *cli) *cobra.Command {
	g := c.group(&cobra.Command{
		Use:   "apikeys",
		Short: "Create, list, revoke and rotate the API keys of api_key_auth",
		Long: "Create, list, revoke and rotate the keys in the API keys file the api_key_auth extension\n" +
			"reads (it takes a change within seconds, without a restart). The file holds only each\n" +
			"key's SHA-256: a key is printed once, when it is made, and never again.",
	}, groupExitStatus)
	g.AddCommand(apikeysCreateCmd(c), apikeysListCmd(c), apikeysRevokeCmd(c), apikeysRotateCmd(c))
	return g
}

// apikeysCreateOptions are the flags of `apikeys create`.
type apikeysCreateOptions struct {
	file, tenant, scopes, expires string
	ledger                        ledgerOptions
}

func apikeysCreateCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "create --file F --tenant T --scopes traces,logs,metrics[,audit] [--expires 90d|720h|RFC3339] [LEDGER]" + ledgerUsage,
		Short: "Create an API key for a tenant",
		Long: `Create an API key for the tenant with the scopes given, and add its record (id, tenant,
scopes, times and the key's SHA-256) to the keys file, created (mode 0600) if missing. The key
is printed on stdout, alone on one line, once: it is stored nowhere. Without --expires it
never expires.

` + apikeysLedgerHelp + `
A creation is recorded as api_key.created.`,
	}, `  0  created (and recorded, with a ledger)
  2  bad arguments, or the keys file cannot be read or written: nothing created
  4  the audit ledger cannot record the creation: nothing created when it could not be
     opened; the key IS created (and printed) when the event could not be recorded after
`, &apikeysCreateOptions{})
}

func (o *apikeysCreateOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.file, "file", "", "API keys `FILE` (created 0600 if missing)")
	fs.StringVar(&o.tenant, "tenant", "", "tenant `T` the key authenticates (letters, digits, '.', '_', '-')")
	fs.StringVar(&o.scopes, "scopes", "", "`SCOPES` the key may send, separated by commas: traces, logs, metrics, audit")
	fs.StringVar(&o.expires, "expires", "", "expiry `WHEN`: days (90d), hours (720h) or an RFC 3339 time (default: never)")
	o.ledger.register(fs)
}

func (o *apikeysCreateOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	const cmd = "apikeys create"
	key, rec, err := o.check(fs, time.Now().UTC())
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	l, err := openLedger(cmd, &o.ledger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: the audit ledger cannot record the creation, so no key was created: %v\n", cmd, err)
		return exitUnrecorded
	}
	err = updateKeysFile(o.file, true, func(f *apikeys.File, _ time.Time) error { return f.Add(rec) })
	if err != nil {
		l.abandon()
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "wardenctl %s: key %s for tenant %s (%s, expires %s) added to %s; the key above is shown once\n",
		cmd, rec.ID, rec.Tenant, scopeList(rec.Scopes), expiryText(rec.Expires), o.file)
	return l.record(stderr, apikeyEvent(actionAPIKeyCreated, o.file, &rec, rec.Created), "the key IS created")
}

// check validates the flags and makes the key.
func (o *apikeysCreateOptions) check(fs *pflag.FlagSet, now time.Time) (string, apikeys.Record, error) {
	var errs []error
	if msg := noStrayArgs(fs); msg != "" {
		errs = append(errs, errors.New(msg))
	}
	if o.file == "" {
		errs = append(errs, errors.New("--file FILE is required"))
	}
	if o.tenant == "" {
		errs = append(errs, errors.New("--tenant is required"))
	}
	var scopes []apikeys.Scope
	if o.scopes == "" {
		errs = append(errs, errors.New("--scopes is required (traces, logs, metrics, audit, separated by commas)"))
	} else {
		var err error
		if scopes, err = parseScopes(o.scopes); err != nil {
			errs = append(errs, err)
		}
	}
	var expires time.Time
	if o.expires != "" {
		var err error
		if expires, err = parseExpires(o.expires, now); err != nil {
			errs = append(errs, err)
		}
	}
	if err := o.ledger.check(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return "", apikeys.Record{}, errors.Join(errs...)
	}
	key, rec, err := apikeys.Generate(o.tenant, scopes, expires, now)
	if err != nil {
		return "", apikeys.Record{}, fmt.Errorf("--tenant %q or --scopes: %w", o.tenant, err)
	}
	return key, rec, nil
}

func expiryText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// apikeysListOptions are the flags of `apikeys list`.
type apikeysListOptions struct{ file, format string }

func apikeysListCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "list --file F [--format text|json]",
		Short: "List the API keys of a keys file and their states",
		Long: `List the keys of an API keys file: id, tenant, scopes, created, expires and state (active,
expired or revoked), in the file's order. Never a key or its hash. --format json prints an
array of objects with the same fields (and revoked, when set).`,
	}, `  0  listed
  2  bad arguments, or the keys file cannot be read
`, &apikeysListOptions{})
}

func (o *apikeysListOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.file, "file", "", "API keys `FILE`")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text or json")
}

// listedKey is a key as list shows it.
type listedKey struct {
	ID      string     `json:"id"`
	Tenant  string     `json:"tenant"`
	Scopes  []string   `json:"scopes"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires"`
	Revoked *time.Time `json:"revoked,omitempty"`
	State   string     `json:"state"`
}

func (o *apikeysListOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	const cmd = "wardenctl apikeys list:"
	switch msg := noStrayArgs(fs); {
	case msg != "":
		fmt.Fprintln(stderr, cmd, msg)
		return exitUsage
	case o.file == "":
		fmt.Fprintln(stderr, cmd, "--file FILE is required")
		return exitUsage
	case o.format != "text" && o.format != "json":
		fmt.Fprintf(stderr, "%s --format %q: want text or json\n", cmd, o.format)
		return exitUsage
	}
	f, err := apikeys.ReadFile(o.file)
	if err != nil {
		fmt.Fprintln(stderr, cmd, err)
		return exitUsage
	}
	now := time.Now()
	keys := make([]listedKey, len(f.Keys))
	for i := range f.Keys {
		rec := &f.Keys[i]
		k := listedKey{ID: rec.ID, Tenant: rec.Tenant, Scopes: make([]string, len(rec.Scopes)), Created: rec.Created, State: apikeyState(rec, now)}
		for j, s := range rec.Scopes {
			k.Scopes[j] = string(s)
		}
		if !rec.Expires.IsZero() {
			k.Expires = &rec.Expires
		}
		if !rec.Revoked.IsZero() {
			k.Revoked = &rec.Revoked
		}
		keys[i] = k
	}
	if o.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(keys); err != nil {
			fmt.Fprintln(stderr, cmd, err)
			return exitUsage
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tSCOPES\tCREATED\tEXPIRES\tSTATE")
	for i := range f.Keys {
		rec := &f.Keys[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rec.ID, rec.Tenant, scopeList(rec.Scopes),
			rec.Created.Format(time.RFC3339), expiryText(rec.Expires), keys[i].State)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, cmd, err)
		return exitUsage
	}
	return exitOK
}

// apikeysRevokeOptions are the flags of `apikeys revoke`.
type apikeysRevokeOptions struct {
	file, id string
	ledger   ledgerOptions
}

func apikeysRevokeCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "revoke --file F --id ID [LEDGER]" + ledgerUsage,
		Short: "Revoke an API key",
		Long: `Revoke the key with this id: its record is kept, with revoked set to now, and api_key_auth
refuses the key from its next reload of the file (within seconds). Revoking a revoked key
changes nothing and is not an error.

` + apikeysLedgerHelp + `
A revocation is recorded as api_key.revoked.`,
	}, `  0  revoked, or already revoked (and recorded, with a ledger)
  2  bad arguments, no key with this id, or the keys file cannot be read or written
  4  the audit ledger cannot record the revocation: nothing revoked when it could not be
     opened; the key IS revoked when the event could not be recorded after
`, &apikeysRevokeOptions{})
}

func (o *apikeysRevokeOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.file, "file", "", "API keys `FILE`")
	fs.StringVar(&o.id, "id", "", "`ID` of the key to revoke (wardenctl apikeys list shows them)")
	o.ledger.register(fs)
}

func (o *apikeysRevokeOptions) run(fs *pflag.FlagSet, _, stderr io.Writer) int {
	const cmd = "apikeys revoke"
	if err := checkFileAndID(fs, o.file, o.id, &o.ledger); err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	l, err := openLedger(cmd, &o.ledger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: the audit ledger cannot record the revocation, so nothing was revoked: %v\n", cmd, err)
		return exitUnrecorded
	}
	var (
		revoked apikeys.Record
		already bool
		at      time.Time
	)
	err = updateKeysFile(o.file, false, func(f *apikeys.File, now time.Time) error {
		rec, err := findKey(f, o.file, o.id)
		if err != nil {
			return err
		}
		at = now
		if already = !rec.Revoked.IsZero() && !now.Before(rec.Revoked); !already {
			rec.Revoked = now.Truncate(time.Second)
		}
		revoked = *rec
		return nil
	})
	if err != nil {
		l.abandon()
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	ev := apikeyEvent(actionAPIKeyRevoked, o.file, &revoked, at)
	ev.Attributes["revoked"] = revoked.Revoked.Format(time.RFC3339)
	if already {
		fmt.Fprintf(stderr, "wardenctl %s: key %s (tenant %s) was already revoked on %s; nothing changed\n",
			cmd, revoked.ID, revoked.Tenant, revoked.Revoked.Format(time.RFC3339))
		ev.Attributes[attrAlreadyRevokedAt] = revoked.Revoked.Format(time.RFC3339)
	} else {
		fmt.Fprintf(stderr, "wardenctl %s: key %s (tenant %s) revoked in %s; api_key_auth refuses it from its next reload\n",
			cmd, revoked.ID, revoked.Tenant, o.file)
	}
	return l.record(stderr, ev, "the key IS revoked")
}

// checkFileAndID validates the flags of revoke and rotate.
func checkFileAndID(fs *pflag.FlagSet, file, id string, ledger *ledgerOptions) error {
	var errs []error
	if msg := noStrayArgs(fs); msg != "" {
		errs = append(errs, errors.New(msg))
	}
	if file == "" {
		errs = append(errs, errors.New("--file FILE is required"))
	}
	if id == "" {
		errs = append(errs, errors.New("--id is required (wardenctl apikeys list shows the ids)"))
	}
	if err := ledger.check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// apikeysRotateOptions are the flags of `apikeys rotate`.
type apikeysRotateOptions struct {
	file, id string
	grace    time.Duration
	ledger   ledgerOptions
}

func apikeysRotateCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "rotate --file F --id ID [--grace 24h] [LEDGER]" + ledgerUsage,
		Short: "Replace an API key with a new one for the same tenant and scopes",
		Long: `Create a new key for the tenant and scopes of the key with this id, printed on stdout alone
on one line, once; the old key expires after the grace period, for the senders to change
keys (an expiry sooner than that is kept, never extended). The new key is valid for as long
as the old one was made to be (from its created to its expires; no expiry if it had none). A
revoked key is not rotated: create a new one.

` + apikeysLedgerHelp + `
A rotation is recorded as api_key.created of the new key, with the old key's id
(rotated_from) and its expiry (previous_key_expires).`,
	}, `  0  rotated (and recorded, with a ledger)
  2  bad arguments, no key with this id, a revoked key, or the keys file cannot be read or
     written: nothing changed
  4  the audit ledger cannot record the rotation: nothing changed when it could not be
     opened; the new key IS created (and printed) when the event could not be recorded after
`, &apikeysRotateOptions{grace: 24 * time.Hour})
}

func (o *apikeysRotateOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.file, "file", "", "API keys `FILE`")
	fs.StringVar(&o.id, "id", "", "`ID` of the key to replace (wardenctl apikeys list shows them)")
	fs.DurationVar(&o.grace, "grace", o.grace, "how long the old key stays valid: a `DURATION` such as 24h, 90m or 0s")
	o.ledger.register(fs)
}

func (o *apikeysRotateOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	const cmd = "apikeys rotate"
	err := checkFileAndID(fs, o.file, o.id, &o.ledger)
	if err == nil && o.grace < 0 {
		err = fmt.Errorf("--grace %s: want 0 or more", o.grace)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	l, err := openLedger(cmd, &o.ledger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wardenctl %s: the audit ledger cannot record the rotation, so nothing was changed: %v\n", cmd, err)
		return exitUnrecorded
	}
	var (
		key       string
		made      apikeys.Record
		old       apikeys.Record
		shortened bool // the old key's expiry was brought forward to now+grace
	)
	err = updateKeysFile(o.file, false, func(f *apikeys.File, now time.Time) error {
		rec, err := findKey(f, o.file, o.id)
		if err != nil {
			return err
		}
		if !rec.Revoked.IsZero() {
			return fmt.Errorf("key %s is revoked (%s): it is not rotated; create a new key with wardenctl apikeys create", rec.ID, rec.Revoked.Format(time.RFC3339))
		}
		// The new key lives as long as the old one was made to: a rotation neither shortens
		// nor lifts a key's lifetime.
		var expires time.Time
		if !rec.Expires.IsZero() {
			expires = now.Add(rec.Expires.Sub(rec.Created)).Truncate(time.Second)
		}
		end := now.Add(o.grace).Truncate(time.Second)
		if !end.After(rec.Created) {
			end = rec.Created.Add(time.Second)
		}
		if rec.Expires.IsZero() || end.Before(rec.Expires) {
			rec.Expires, shortened = end, true
		}
		key, made, err = apikeys.Generate(rec.Tenant, rec.Scopes, expires, now)
		if err != nil {
			return err
		}
		old = *rec
		return f.Add(made)
	})
	if err != nil {
		l.abandon()
		fmt.Fprintf(stderr, "wardenctl %s: %v\n", cmd, err)
		return exitUsage
	}
	fmt.Fprintln(stdout, key)
	note := "now expires"
	if !shortened {
		note = "keeps its sooner expiry,"
	}
	fmt.Fprintf(stderr, "wardenctl %s: new key %s for tenant %s (%s) added to %s; the key above is shown once. The old key %s %s %s\n",
		cmd, made.ID, made.Tenant, scopeList(made.Scopes), o.file, old.ID, note, old.Expires.Format(time.RFC3339))
	ev := apikeyEvent(actionAPIKeyCreated, o.file, &made, made.Created)
	ev.Attributes[attrRotatedFrom] = old.ID
	ev.Attributes[attrPreviousExpires] = old.Expires.Format(time.RFC3339)
	return l.record(stderr, ev, "the new key IS created")
}
