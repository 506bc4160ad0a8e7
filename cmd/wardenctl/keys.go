package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/ledger"
)

// pinHint tells what the fingerprint is for.
func pinHint(pub *ledger.PublicKey) string {
	return "The fingerprint is what `wardenctl audit verify --key-id` pins. Keep a copy away from the\n" +
		"ledger and verify with:\n  wardenctl audit verify --key-id " + pub.Fingerprint() + " ...\n"
}

func keysSigning(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keys signing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "private key file to create (the public key goes to FILE.pub)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "wardenctl keys signing: --out FILE is required")
		return exitUsage
	}
	s, err := ledger.GenerateSigningKey(*out)
	if err != nil {
		fmt.Fprintln(stderr, "wardenctl keys signing:", err)
		return exitUsage
	}
	pub := s.Public()
	fmt.Fprintf(stdout, "private key: %s\npublic key:  %s.pub\nkey id:      %s\nfingerprint: %s\n\n%s",
		*out, *out, pub.ID(), pub.Fingerprint(), pinHint(pub))
	return exitOK
}

// keysFingerprint prints the identity of a checkpoint verification key, read from a public key
// file or from AWS KMS.
func keysFingerprint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keys fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubFile := fs.String("public-key", "", "PEM public key file (Ed25519 or ECDSA P-256)")
	kmsKey := fs.String("aws-kms-key-id", "", "AWS KMS key id, key ARN, alias (alias/NAME) or alias ARN of an ECC_NIST_P256 SIGN_VERIFY key")
	region := fs.String("aws-region", "", "AWS region of the KMS key (default: the key ARN's, else AWS_REGION)")
	endpoint := fs.String("aws-endpoint", "", "KMS endpoint URL (default: the region's)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "wardenctl keys fingerprint: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case (*pubFile == "") == (*kmsKey == ""):
		fmt.Fprintln(stderr, "wardenctl keys fingerprint: give either --public-key FILE or --aws-kms-key-id ID")
		return exitUsage
	case *pubFile != "" && (*region != "" || *endpoint != ""):
		fmt.Fprintln(stderr, "wardenctl keys fingerprint: --aws-region and --aws-endpoint go with --aws-kms-key-id, not --public-key")
		return exitUsage
	}

	var (
		pub    *ledger.PublicKey
		kmsARN string
	)
	if *pubFile != "" {
		var err error
		if pub, err = ledger.LoadPublicKey(*pubFile); err != nil {
			fmt.Fprintln(stderr, "wardenctl keys fingerprint:", err)
			return exitUsage
		}
	} else {
		cfg := awskms.Config{KeyID: *kmsKey, Region: *region, Endpoint: *endpoint}
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
		signer, err := ledger.NewKMSSigner(ctx, client, *kmsKey)
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
