package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/ledger"
)

// pinHint tells what the fingerprint is for.
func pinHint(pub *ledger.PublicKey) string {
	return "The fingerprint is what `wardenctl audit verify --key-id` pins. Keep a copy away from the\n" +
		"ledger and verify with:\n  wardenctl audit verify --key-id " + pub.Fingerprint() + " ...\n"
}

// signingOptions are the flags of `keys signing`.
type signingOptions struct{ out string }

func keysSigningCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "signing --out FILE",
		Short: "Create an Ed25519 checkpoint signing key",
		Long: `Create an Ed25519 checkpoint signing key for the audit ledger: the private key to FILE
(mode 0600), the public key to FILE.pub. An existing file is never replaced. Prints the key's
fingerprint: record it where the collector cannot write, and verify with
wardenctl audit verify --key-id FINGERPRINT.`,
	}, `  0  created
  2  bad arguments, or the key cannot be written (an existing file is never replaced)
`, &signingOptions{})
}

func (o *signingOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.out, "out", "", "private key `FILE` to create (the public key goes to FILE.pub)")
}

func (o *signingOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if msg := noStrayArgs(fs); msg != "" {
		fmt.Fprintln(stderr, "wardenctl keys signing:", msg)
		return exitUsage
	}
	if o.out == "" {
		fmt.Fprintln(stderr, "wardenctl keys signing: --out FILE is required")
		return exitUsage
	}
	s, err := ledger.GenerateSigningKey(o.out)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys signing:", err)
		return exitUsage
	}
	pub := s.Public()
	fmt.Fprintf(stdout, "private key: %s\npublic key:  %s.pub\nkey id:      %s\nfingerprint: %s\n\n%s",
		o.out, o.out, pub.ID(), pub.Fingerprint(), pinHint(pub))
	return exitOK
}

// fingerprintOptions are the flags of `keys fingerprint`.
type fingerprintOptions struct{ pubFile, kmsKey, region, endpoint string }

func keysFingerprintCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use:   "fingerprint (--public-key FILE | --aws-kms-key-id ID [--aws-region R] [--aws-endpoint URL])",
		Short: "Print a signing key's algorithm, key id, fingerprint and public key",
		Long: `Print the identity of a checkpoint verification key, read from a PEM public key file
(Ed25519 or ECDSA P-256) or from AWS KMS (an ECC_NIST_P256 SIGN_VERIFY key): its algorithm,
key id, fingerprint (what wardenctl audit verify --key-id pins) and PEM public key.`,
	}, `  0  printed
  2  bad arguments, an unreadable key file, or a KMS key that cannot be read or is not a
     P-256 signing key
`, &fingerprintOptions{})
}

func (o *fingerprintOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.pubFile, "public-key", "", "PEM public key `FILE` (Ed25519 or ECDSA P-256)")
	fs.StringVar(&o.kmsKey, "aws-kms-key-id", "", "AWS KMS key `ID`, key ARN, alias (alias/NAME) or alias ARN of an ECC_NIST_P256 SIGN_VERIFY key")
	fs.StringVar(&o.region, "aws-region", "", "AWS `REGION` of the KMS key (default: the key ARN's, else AWS_REGION)")
	fs.StringVar(&o.endpoint, "aws-endpoint", "", "KMS endpoint `URL` (default: the region's)")
}

// run prints the identity of a checkpoint verification key, read from a public key file or
// from AWS KMS.
func (o *fingerprintOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "wardenctl keys fingerprint: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case (o.pubFile == "") == (o.kmsKey == ""):
		fmt.Fprintln(stderr, "wardenctl keys fingerprint: give either --public-key FILE or --aws-kms-key-id ID")
		return exitUsage
	case o.pubFile != "" && (o.region != "" || o.endpoint != ""):
		fmt.Fprintln(stderr, "wardenctl keys fingerprint: --aws-region and --aws-endpoint go with --aws-kms-key-id, not --public-key")
		return exitUsage
	}

	var (
		pub    *ledger.PublicKey
		kmsARN string
	)
	if o.pubFile != "" {
		var err error
		if pub, err = ledger.LoadPublicKey(o.pubFile); err != nil {
			fmt.Fprintln(stderr, "wardenctl keys fingerprint:", err)
			return exitUsage
		}
	} else {
		cfg := awskms.Config{KeyID: o.kmsKey, Region: o.region, Endpoint: o.endpoint}
		if err := cfg.Validate(); err != nil {
			fmt.Fprintln(stderr, "wardenctl keys fingerprint:", flagNames(err))
			return exitUsage
		}
		ctx, cancel := context.WithTimeout(context.Background(), awskms.CallTimeout)
		defer cancel()
		client, err := awskms.NewClient(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "wardenctl keys fingerprint:", err)
			return exitUsage
		}
		signer, err := ledger.NewKMSSigner(ctx, client, o.kmsKey)
		if err != nil {
			fmt.Fprintln(stderr, "wardenctl keys fingerprint:", err)
			return exitUsage
		}
		pub, kmsARN = signer.Public(), signer.KeyARN()
	}

	fmt.Fprintf(stdout, "algorithm:   %s\nkey id:      %s\nfingerprint: %s\n", pub.Alg(), pub.ID(), pub.Fingerprint())
	if kmsARN != "" {
		fmt.Fprintf(stdout, "aws kms key: %s\n", kmsARN)
	}
	fmt.Fprintf(stdout, "\n%s\n%s", pinHint(pub), pub.PEM())
	return exitOK
}

// flagNames names the flags behind awskms.Config's keys in its validation errors.
func flagNames(err error) string {
	problems := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		problems = joined.Unwrap()
	}
	flags := strings.NewReplacer("key_id:", "--aws-kms-key-id:", "region:", "--aws-region:", "endpoint:", "--aws-endpoint:")
	lines := make([]string, len(problems))
	for i, p := range problems {
		// Only the leading key name: values may contain the same words.
		key, rest, _ := strings.Cut(p.Error(), " ")
		lines[i] = flags.Replace(key) + " " + rest
	}
	return strings.Join(lines, "\n")
}
