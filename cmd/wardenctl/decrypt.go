package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// stdin is what `decrypt --in -` reads.
var stdin io.Reader = os.Stdin

// maxLineBytes bounds one input line: the file exporter writes one batch a line, and a batch
// is far smaller than this.
var maxLineBytes = 256 << 20

const actionDecrypt = "telemetry.decrypt"

// decryptOptions are the flags of `decrypt`.
type decryptOptions struct {
	keyring    string
	kmsKey     string
	tenantKeys []string
	kmsAt      kmsLocation
	in, out    string
	ledger     ledgerOptions
}

func decryptCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use: "decrypt (--keyring FILE | --aws-kms-key-id ID [--aws-kms-tenant-key TENANT=ID]...\n" +
			"      [--aws-region R] [--aws-endpoint URL]) [--in FILE|-] [--out FILE|-] [LEDGER]\n" +
			"LEDGER: --ledger-dir DIR and/or --ledger-postgres DSN [--ledger-table audit_log]\n" +
			"      [--ledger-signing-key FILE] [--ledger-stream ID]",
		Short: "Decrypt the field_encryption values of the file exporter's output",
		Long: `Read the file exporter's OTLP JSON lines (traces, logs, metrics) and write them back with
every field_encryption value decrypted to its original type. Values that may not be
decrypted stay ciphertext and are reported on stderr by reason, key and field, never by
value; a summary line ends the report. --out never replaces a file.

With a ledger (--ledger-dir and/or --ledger-postgres) the decrypt is recorded as
telemetry.decrypt, with counts by key and field, under wardenctl's own stream
(wardenctl-<host>-<user>; with --ledger-postgres alone the journal is kept in
$XDG_STATE_HOME/warden/ledger). The ledger is opened first, and the output is released only
once the decrypt is recorded.`,
	}, `  0  every field decrypted
  1  some fields left encrypted (shredded, access denied, unknown key, moved, tampered, ...)
  2  bad arguments or input (nothing written to --out; to stdout without a ledger, the lines
     before the error)
  4  the decrypt could not be recorded in the audit ledger (nothing written)
`, &decryptOptions{})
}

func (o *decryptOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.keyring, "keyring", "", "keyring `FILE` (made by wardenctl keys generate)")
	fs.StringVar(&o.kmsKey, "aws-kms-key-id", "", "the processor's default AWS KMS key `ID` (provider.aws_kms.key_id): key id, ARN, alias or alias ARN")
	fs.StringArrayVar(&o.tenantKeys, "aws-kms-tenant-key", nil, "`TENANT=ID`: a tenant's KMS key (the processor's tenant.keys); repeatable")
	o.kmsAt.register(fs)
	fs.StringVar(&o.in, "in", "-", "input `FILE` of OTLP JSON lines, or - for stdin")
	fs.StringVar(&o.out, "out", "-", "output `FILE` (created 0600, never replacing a file), or - for stdout")
	o.ledger.register(fs)
}

// run reads the file exporter's OTLP JSON lines and writes them back with every
// field_encryption value decrypted to the value it was. With a ledger, the output is held
// (in a temporary file beside --out, or in memory for stdout) until the decrypt is recorded:
// a decrypt that could not be recorded writes nothing.
func (o *decryptOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	tenantKeys, err := o.check(fs)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl decrypt:", err)
		return exitUsage
	}
	ctx := context.Background()
	ld, provider, err := o.decrypter(ctx, tenantKeys)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl decrypt:", err)
		return exitUsage
	}
	input, closeInput, err := o.input()
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl decrypt:", err)
		return exitUsage
	}
	defer closeInput()
	who := currentOperator()
	out, err := o.output(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl decrypt:", err)
		return exitUsage
	}
	var rec *actionLedger
	if o.ledger.enabled() {
		if rec, err = o.ledger.open(who, stderr); err != nil {
			out.discard()
			fmt.Fprintf(stderr, "wardenctl decrypt: the audit ledger cannot record the decrypt, so nothing was decrypted: %v\n", err)
			return exitUnrecorded
		}
	}

	runErr := o.decryptLines(ctx, input, out, ld)
	if runErr == nil {
		runErr = out.finish()
	}
	ev := o.event(who, ld.tally, provider, runErr)
	if runErr != nil {
		out.discard()
		ld.tally.report(stderr)
		fmt.Fprintf(stderr, "wardenctl decrypt: stopped after %s\n", ld.tally.summary())
		fmt.Fprintf(stderr, "wardenctl decrypt: %v\n%s", runErr, o.unwritten())
		if rec != nil {
			if err := rec.recordAndClose(ev); err != nil {
				fmt.Fprintln(stderr, "wardenctl decrypt: the stopped decrypt could not be recorded either:", err)
			} else {
				fmt.Fprintf(stderr, "wardenctl decrypt: the stopped decrypt is recorded in the audit ledger (%s)\n", rec.where())
			}
		}
		return exitUsage
	}
	if rec != nil {
		if err := rec.recordAndClose(ev); err != nil {
			out.discard()
			return ledgerFailed(stderr, "decrypt", "nothing was written", err)
		}
	}
	if err := out.publish(); err != nil {
		out.discard()
		fmt.Fprintln(stderr, "wardenctl decrypt:", err)
		return exitUsage
	}
	ld.tally.report(stderr)
	fmt.Fprintln(stderr, "wardenctl decrypt:", ld.tally.summary())
	if rec != nil {
		fmt.Fprintf(stderr, "wardenctl decrypt: recorded as %s in the audit ledger (%s)\n", actionDecrypt, rec.where())
	} else {
		fmt.Fprintln(stderr, "wardenctl decrypt: not recorded in an audit ledger (no --ledger-dir or --ledger-postgres)")
	}
	if ld.tally.leftTotal > 0 {
		fmt.Fprintf(stderr, "wardenctl decrypt: some fields stay encrypted: %s\n", ld.tally.reasonList(" "))
		return exitLeftEncrypted
	}
	return exitOK
}

// exitLeftEncrypted: decrypt left some fields encrypted.
const exitLeftEncrypted = 1

// splitJoined lists the errors of errors.Join, or err alone.
func splitJoined(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// check validates the flags and returns the tenant keys.
func (o *decryptOptions) check(fs *pflag.FlagSet) (map[string]string, error) {
	kms := o.kmsKey != "" || len(o.tenantKeys) > 0
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (o.keyring == "") == !kms:
		return nil, errors.New("give the keys: either --keyring FILE, or --aws-kms-key-id ID and/or --aws-kms-tenant-key TENANT=ID")
	case o.keyring != "" && (o.kmsAt.region != "" || o.kmsAt.endpoint != ""):
		return nil, errors.New("--aws-region and --aws-endpoint go with the KMS keys, not --keyring")
	case o.in == "":
		return nil, errors.New("--in: give a file, or - for stdin")
	case o.out == "":
		return nil, errors.New("--out: give a file, or - for stdout")
	}
	tenants := map[string]string{}
	var errs []error
	for _, tk := range o.tenantKeys {
		i := strings.LastIndexByte(tk, '=')
		if i <= 0 || i == len(tk)-1 {
			errs = append(errs, fmt.Errorf("--aws-kms-tenant-key %q: want TENANT=ID", tk))
			continue
		}
		tenant, key := tk[:i], tk[i+1:]
		if _, dup := tenants[tenant]; dup {
			errs = append(errs, fmt.Errorf("--aws-kms-tenant-key: tenant %q given twice", tenant))
		}
		tenants[tenant] = key
		cfg := awskms.Config{KeyID: key}
		if err := cfg.Validate(); err != nil {
			errs = append(errs, &reworded{msg: "--aws-kms-tenant-key " + tenant + "=: " + strings.TrimPrefix(err.Error(), "key_id: "), err: err})
		}
	}
	if kms {
		cfg := o.kmsAt.config(o.clientKey(tenants))
		if err := cfg.Validate(); err != nil {
			for _, p := range splitJoined(err) {
				// Without a default key the key checked is a tenant's, reported above.
				if o.kmsKey != "" || !strings.HasPrefix(p.Error(), "key_id:") {
					errs = append(errs, &reworded{msg: flagNames(p), err: p})
				}
			}
		}
	}
	if err := o.ledger.check(); err != nil {
		errs = append(errs, err)
	}
	return tenants, errors.Join(errs...)
}

func (o *decryptOptions) input() (io.Reader, func(), error) {
	if o.in == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(o.in)
	if err != nil {
		return nil, nil, fmt.Errorf("--in: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

func (o *decryptOptions) output(stdout io.Writer) (decryptOutput, error) {
	switch {
	case o.out != "-":
		return newFileOutput(o.out)
	case o.ledger.enabled():
		return &heldOutput{stdout: stdout}, nil
	}
	return &streamOutput{w: bufio.NewWriterSize(stdout, 1<<20)}, nil
}

// unwritten says what became of the output of a decrypt that stopped.
func (o *decryptOptions) unwritten() string {
	switch {
	case o.out != "-":
		return "wardenctl decrypt: nothing was written to " + o.out + "\n"
	case o.ledger.enabled():
		return "wardenctl decrypt: nothing was written\n"
	}
	return "wardenctl decrypt: the lines before it were written to stdout\n"
}

var errLineTooLong = errors.New("line too long")

// decryptLines decrypts input line by line into out. A blank line is passed on as it is.
func (o *decryptOptions) decryptLines(ctx context.Context, input io.Reader, out io.Writer, ld *lineDecrypter) error {
	r := bufio.NewReaderSize(input, 1<<20)
	var buf []byte
	for n := 1; ; n++ {
		line, rerr := readLine(r, buf[:0])
		if errors.Is(rerr, errLineTooLong) {
			return &lineError{line: n, err: &notOTLPError{what: "longer than " + byteSize(maxLineBytes) + ": not a line of the file exporter"}}
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("reading %s: %w", o.inName(), rerr)
		}
		if len(line) == 0 && rerr != nil {
			return nil
		}
		buf = line
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(bytes.TrimSpace(line)) > 0 {
			var err error
			if line, err = ld.decryptLine(ctx, n, line); err != nil {
				return err
			}
		}
		if _, err := out.Write(line); err != nil {
			return err
		}
		if _, err := out.Write([]byte{'\n'}); err != nil {
			return err
		}
		if rerr != nil {
			return nil
		}
	}
}

// readLine appends the next line of r to buf, newline included, up to maxLineBytes.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLineBytes+1 {
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

// byteSize is n bytes in MiB when it is a whole number of them.
func byteSize(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (o *decryptOptions) inName() string {
	if o.in == "-" {
		return "stdin"
	}
	return o.in
}

// event is the ledger's record of the decrypt: who, what input, which keys and fields, how
// many values (never a value).
func (o *decryptOptions) event(who operator, t *tally, provider map[string]string, runErr error) audit.Event {
	ev := audit.Event{
		Actor:              who.actor(),
		Action:             actionDecrypt,
		Resource:           audit.Resource{Type: "telemetry_file", ID: "stdin", Name: "stdin"},
		Outcome:            audit.OutcomeSuccess,
		Counts:             t.ledgerCounts(),
		Attributes:         who.attributes(),
		Details:            t.ledgerDetails(),
		DataClassification: audit.ClassRestricted,
	}
	if o.in != "-" {
		ev.Resource.ID, ev.Resource.Name = clip(absPath(o.in), 255), clip(filepath.Base(o.in), 255)
	}
	ev.Attributes["input"] = clip(absPath(o.in), 1024)
	ev.Attributes["output"] = "stdout"
	if o.out != "-" {
		ev.Attributes["output"] = clip(absPath(o.out), 1024)
	}
	for k, v := range provider {
		ev.Attributes[k] = v
	}
	switch {
	case runErr != nil:
		ev.Outcome, ev.Error = audit.OutcomeFailure, "stopped, nothing written: "+stopReason(runErr)
	case t.leftTotal > 0:
		ev.Outcome, ev.Error = audit.OutcomeFailure, fields(t.leftTotal)+" left encrypted: "+t.reasonList(" ")
	}
	return ev
}

// stopReason is why a decrypt stopped, in words fit for the ledger: never a parser's, which
// may quote the input.
func stopReason(err error) string {
	var (
		le  *lineError
		bad *notOTLPError
	)
	at := ""
	if errors.As(err, &le) {
		at = "line " + strconv.Itoa(le.line) + ": "
	}
	switch {
	case errors.As(err, &bad):
		return at + bad.what
	case fieldcrypt.IsRetryable(err):
		return at + "the key provider cannot answer"
	case errors.Is(err, errHeldTooLarge):
		return errHeldTooLarge.Error()
	}
	return truncate(err.Error(), 1000)
}

func absPath(p string) string {
	if p == "-" {
		return "stdin"
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// truncate shortens s to at most n bytes, keeping its start, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n - len("...")
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "..."
}
