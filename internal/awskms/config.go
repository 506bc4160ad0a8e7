// Package awskms is the AWS KMS connection that Warden components share: which key, in which
// region, through which endpoint, and a client built from that with the SDK's default
// credential chain.
package awskms

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Config names a KMS key and where to reach it. Credentials are deliberately not part of it:
// they come from the SDK's default chain (environment, shared files, web identity, instance or
// task role), so no secret is ever written into a collector config.
type Config struct {
	// KeyID is the KMS key: a key id ("1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-..."), a key
	// ARN, an alias ("alias/warden-ledger") or an alias ARN.
	KeyID string `mapstructure:"key_id"`
	// Region is the key's AWS region. Empty takes it from key_id when that is an ARN, else from
	// the default chain (AWS_REGION, the shared config file).
	Region string `mapstructure:"region"`
	// Endpoint overrides the KMS endpoint URL, e.g. a VPC endpoint or a local KMS
	// ("http://127.0.0.1:8080"). Empty uses the SDK's: AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL
	// (or endpoint_url in the shared config) when set, else the region's standard endpoint.
	Endpoint string `mapstructure:"endpoint"`
}

var (
	keyIDPattern  = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$`)
	aliasPattern  = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// arn:PARTITION:kms:REGION:ACCOUNT:key/ID or :alias/NAME
	arnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:(key/.+|alias/.+)$`)
)

// Validate reports every problem of the configuration at once, naming each key. It does no I/O:
// whether the key exists and may be used is for the client to find out.
func (c *Config) Validate() error {
	var errs []error
	arnRegion := ""
	switch id := c.KeyID; {
	case id == "":
		errs = append(errs, errors.New(`key_id: required: the KMS key id, key ARN, alias ("alias/NAME") or alias ARN`))
	case strings.HasPrefix(id, "arn:"):
		m := arnPattern.FindStringSubmatch(id)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf(`key_id: %q is not a KMS key or alias ARN (want arn:aws:kms:REGION:ACCOUNT:key/ID or arn:aws:kms:REGION:ACCOUNT:alias/NAME)`, id))
		case !validKeyOrAlias(m[2]):
			errs = append(errs, fmt.Errorf(`key_id: ARN %q ends in %q, which is neither key/ID nor a valid alias/NAME`, id, m[2]))
		case !regionPattern.MatchString(m[1]):
			errs = append(errs, fmt.Errorf(`key_id: ARN %q has no valid region`, id))
		default:
			arnRegion = m[1]
		}
	case strings.HasPrefix(id, "alias/"):
		if !aliasPattern.MatchString(id) {
			errs = append(errs, fmt.Errorf(`key_id: alias %q is not valid (want "alias/" and 1 to 250 of a-z A-Z 0-9 / _ -)`, id))
		}
	case !keyIDPattern.MatchString(id):
		errs = append(errs, fmt.Errorf(`key_id: %q is not a KMS key id (a UUID or "mrk-..."), key ARN, alias or alias ARN; for an alias write "alias/%s"`, id, id))
	}
	if c.Region != "" {
		switch {
		case !regionPattern.MatchString(c.Region):
			errs = append(errs, fmt.Errorf(`region: %q is not an AWS region name (e.g. "us-east-1")`, c.Region))
		case arnRegion != "" && arnRegion != c.Region:
			errs = append(errs, fmt.Errorf(`region: %q differs from the region of the key_id ARN (%q): omit region or make them match`, c.Region, arnRegion))
		}
	}
	if c.Endpoint != "" {
		if err := validateEndpoint(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("endpoint: %w", err))
		}
	}
	return errors.Join(errs...)
}

func validKeyOrAlias(resource string) bool {
	if id, ok := strings.CutPrefix(resource, "key/"); ok {
		return keyIDPattern.MatchString(id)
	}
	return aliasPattern.MatchString(resource)
}

func validateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf(`%q: want an http:// or https:// URL, e.g. "https://kms.eu-west-1.amazonaws.com"`, endpoint)
	case u.Host == "":
		return fmt.Errorf("%q has no host", endpoint)
	case u.User != nil:
		return fmt.Errorf("%q holds user information: credentials come from the AWS default chain, never from the URL", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: a query or fragment has no place in an endpoint URL", endpoint)
	}
	return nil
}

// region is the configured region, else the region of a key ARN, else "" (the default chain).
func (c *Config) region() string {
	if c.Region != "" {
		return c.Region
	}
	if m := arnPattern.FindStringSubmatch(c.KeyID); m != nil {
		return m[1]
	}
	return ""
}
