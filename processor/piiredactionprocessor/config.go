package piiredactionprocessor // import "github.com/otelwarden/warden/processor/piiredactionprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/confkeys"
	"github.com/otelwarden/warden/processor/piiredactionprocessor/internal/detect"
)

// Action is what happens to a finding.
type Action string

const (
	// ActionRedact replaces the finding with a typed token, e.g. [REDACTED:card].
	ActionRedact Action = "redact"
	// ActionHash replaces the finding with a keyed HMAC-SHA256 token that is equal for equal
	// inputs, e.g. [HASH:email:v1:3f2a9c1e:9b1d...], so that values still join.
	ActionHash Action = "hash"
	// ActionMask keeps the first and last few letters and digits and masks the others with '*'.
	ActionMask Action = "mask"
	// ActionKeep leaves the finding as it is (it is still counted).
	ActionKeep Action = "keep"
	// ActionDrop deletes the attribute (or map entry, or slice element) holding the finding;
	// a span name, status message or body root, which cannot be deleted, is emptied.
	ActionDrop Action = "drop"
)

// UnmarshalText rejects unknown actions when the configuration is read.
func (a *Action) UnmarshalText(text []byte) error {
	switch act := Action(text); act {
	case ActionRedact, ActionHash, ActionMask, ActionKeep, ActionDrop:
		*a = act
		return nil
	default:
		return fmt.Errorf("unknown action %q (want redact, hash, mask, keep or drop)", act)
	}
}

// OversizeAction is what happens to a value longer than max_scan_bytes.
type OversizeAction string

const (
	// OversizeRedact replaces the whole value with [REDACTED:oversize].
	OversizeRedact OversizeAction = "redact"
	// OversizeDrop deletes the attribute holding the value.
	OversizeDrop OversizeAction = "drop"
)

// UnmarshalText rejects unknown oversize actions when the configuration is read.
func (a *OversizeAction) UnmarshalText(text []byte) error {
	switch act := OversizeAction(text); act {
	case OversizeRedact, OversizeDrop:
		*a = act
		return nil
	default:
		return fmt.Errorf("unknown oversize action %q (want redact or drop): a value that cannot be scanned whole is never passed on", act)
	}
}

// ActionConfig is the action for one kind of finding.
type ActionConfig struct {
	// Action is redact, hash, mask, keep or drop.
	Action Action `mapstructure:"action"`
	// KeepFirst is how many letters and digits mask leaves visible at the start (mask only;
	// other actions ignore it).
	KeepFirst int `mapstructure:"keep_first"`
	// KeepLast is how many letters and digits mask leaves visible at the end.
	KeepLast int `mapstructure:"keep_last"`
}

// DetectorsConfig has one action per built-in detector. Each detector validates its
// candidates (Luhn, issuer and length for cards, area/group/serial for SSNs, mod 97 for
// IBANs, a decodable header for JWTs, ...), so clean identifiers that merely look alike pass.
type DetectorsConfig struct {
	// Email addresses. Default: hash.
	Email ActionConfig `mapstructure:"email"`
	// Card is payment card numbers (13–19 digits, with or without spaces or dashes). Default: redact.
	Card ActionConfig `mapstructure:"card"`
	// SSN is US social security numbers. Default: redact.
	SSN ActionConfig `mapstructure:"ssn"`
	// Phone is phone numbers, validated by libphonenumber's numbering plans: international
	// ones with a country code, national ones of the configured regions. Default: mask, last
	// 4 kept.
	Phone PhoneConfig `mapstructure:"phone"`
	// IPv4 addresses. Default: keep.
	IPv4 ActionConfig `mapstructure:"ipv4"`
	// IPv6 addresses. Default: keep.
	IPv6 ActionConfig `mapstructure:"ipv6"`
	// IBAN is international bank account numbers. Default: redact.
	IBAN ActionConfig `mapstructure:"iban"`
	// JWT is JSON web tokens. Default: redact.
	JWT ActionConfig `mapstructure:"jwt"`
	// Bearer is bearer credentials ("Bearer <token>"). Default: redact.
	Bearer ActionConfig `mapstructure:"bearer"`
	// BasicAuth is basic-auth credentials ("Basic <base64>"). Default: redact.
	BasicAuth ActionConfig `mapstructure:"basic_auth"`
	// AWSKey is AWS access key ids and secret access keys. Default: redact.
	AWSKey ActionConfig `mapstructure:"aws_key"`
	// PrivateKey is PEM private key blocks. Default: redact.
	PrivateKey ActionConfig `mapstructure:"private_key"`
	// Credential is passwords and credentials in text: a URL's userinfo password, the
	// credentials after an Authorization header of any scheme, command-line passwords
	// (curl -u, --password, mysql -p). Default: redact.
	Credential ActionConfig `mapstructure:"credential"`
}

// byType returns the action config of a built-in detector type.
func (d *DetectorsConfig) byType(t detect.Type) *ActionConfig {
	switch t {
	case detect.Email:
		return &d.Email
	case detect.Card:
		return &d.Card
	case detect.SSN:
		return &d.SSN
	case detect.Phone:
		return &d.Phone.ActionConfig
	case detect.IPv4:
		return &d.IPv4
	case detect.IPv6:
		return &d.IPv6
	case detect.IBAN:
		return &d.IBAN
	case detect.JWT:
		return &d.JWT
	case detect.Bearer:
		return &d.Bearer
	case detect.BasicAuth:
		return &d.BasicAuth
	case detect.AWSKey:
		return &d.AWSKey
	case detect.PrivateKey:
		return &d.PrivateKey
	case detect.Credential:
		return &d.Credential
	}
	return nil
}

// PhoneConfig is the action for phone numbers and the regions whose national notations are
// read.
type PhoneConfig struct {
	// ActionConfig is the action for phone numbers (an extension is masked with its number).
	ActionConfig `mapstructure:",squash"`
	// Regions are region codes (US, GB, DE, JP, BR, CN, ...) whose national numbers, written
	// without a country code ("020 7946 0958" in GB), are found; a number with a country code
	// ("+44 20 7946 0958", "0044 ...") is found whatever the regions. ALL reads every
	// region's (slower, and more ids pass some region's plan). Empty: international numbers
	// only. Default: [US] (North America).
	Regions []string `mapstructure:"regions"`
}

func (p *PhoneConfig) validateRegions(at string) []error {
	var errs []error
	for i, r := range p.Regions {
		if !detect.ValidPhoneRegion(r) {
			errs = append(errs, fmt.Errorf("%s.regions[%d]: unknown region %q (want an upper-case region code such as US, GB, DE or JP, or ALL)", at, i, r))
		}
	}
	return errs
}

// CustomConfig is a named user pattern.
type CustomConfig struct {
	// Name identifies the pattern in tokens ([REDACTED:<name>]), metrics (pii_type) and the
	// ledger. Letters, digits, '_' and '-'.
	Name string `mapstructure:"name"`
	// Regexp is a Go (RE2) regular expression; every non-empty match is a finding.
	Regexp string `mapstructure:"regexp"`
	// ActionConfig is the action for its findings. Default: redact.
	ActionConfig `mapstructure:",squash"`
}

// SensitiveKeysConfig is about values found by the name of their key (user.password,
// http.request.header.authorization, client_secret, ...), whatever they contain.
type SensitiveKeysConfig struct {
	// ActionConfig is the action for the whole value. Default: redact.
	ActionConfig `mapstructure:",squash"`
	// Extra are more key names to treat as sensitive; they are normalised like the built-in
	// list (case, '.', '_', '-' and camelCase do not matter) and match whole key segments.
	Extra []string `mapstructure:"extra"`
	// Exclude removes names from the built-in list.
	Exclude []string `mapstructure:"exclude"`
}

// NamesConfig is about person names, found by the key that holds them (user.full_name,
// customerName, billing.last_name, {"customer": {"name": ...}}): a name cannot be told from
// a product's or a city's by its shape, so values are never guessed to be names. A bare
// `name` key, service.name, host.name and the like are not names.
type NamesConfig struct {
	// ActionConfig is the action for the whole value. Default: keep (counted as pii_type
	// name, and the value is still scanned by the detectors); any other action takes the
	// whole value, which is then not scanned further.
	ActionConfig `mapstructure:",squash"`
	// Extra are more key names that hold person names; they are normalised like the built-in
	// list (case, '.', '_', '-' and camelCase do not matter) and match the last segments of a
	// key (extra: [passenger] matches passenger and booking.passenger).
	Extra []string `mapstructure:"extra"`
	// Exclude removes names from the built-in list (e.g. user.name, where it holds logins).
	Exclude []string `mapstructure:"exclude"`
}

// URLConfig is about attributes that hold URLs.
type URLConfig struct {
	// Keys are the attribute keys whose values are parsed as URLs: userinfo is redacted, the
	// values of the signature query parameters are replaced with REDACTED, each other query
	// value is checked on its own, and keys and the rest of the URL stay.
	Keys []string `mapstructure:"keys"`
	// SensitiveQueryParameters replaces the semantic conventions' list of signature
	// parameters (AWSAccessKeyId, Signature, sig, X-Goog-Signature, X-Amz-Signature, ...).
	// Empty keeps the conventions' list.
	SensitiveQueryParameters []string `mapstructure:"sensitive_query_parameters"`
}

// HashConfig is the key of the hash action.
type HashConfig struct {
	// KeyFile is a file holding the HMAC key (at least 32 bytes; a trailing newline is
	// ignored). The same key on every collector makes equal values hash equal everywhere.
	KeyFile string `mapstructure:"key_file"`
	// KeyEnv is the name of an environment variable holding the key.
	KeyEnv string `mapstructure:"key_env"`
	// Key is the key inline (prefer key_file or key_env, or ${env:...}).
	Key configopaque.String `mapstructure:"key"`
	// KeyID names the key in hash tokens, so that a rotated key's tokens are told apart.
	// Default: the first 8 hex digits of the key's SHA-256.
	KeyID string `mapstructure:"key_id"`
	// Unkeyed uses plain SHA-256 without a key. Low-entropy values (e-mails, phone numbers)
	// hashed without a key can be reversed by trying candidates: only for data that is
	// already public. Never the default.
	Unkeyed bool `mapstructure:"unkeyed"`
}

// AllowConfig lists what is never touched. Allow lists win over every detector and over
// sensitive keys.
type AllowConfig struct {
	// Keys are attribute keys (exact, e.g. "user.id") whose values are never scanned.
	Keys []string `mapstructure:"keys"`
	// KeyPatterns are regular expressions; keys they match in full are never scanned.
	KeyPatterns []string `mapstructure:"key_patterns"`
	// Values are regular expressions; a finding whose text they match in full is kept (e.g.
	// test cards, a support address).
	Values []string `mapstructure:"values"`
	// Services are service.name values whose telemetry is passed through untouched.
	Services []string `mapstructure:"services"`
}

// SignalsConfig enables the processor per signal (in pipelines of the other signals it
// passes data through).
type SignalsConfig struct {
	Traces  bool `mapstructure:"traces"`
	Logs    bool `mapstructure:"logs"`
	Metrics bool `mapstructure:"metrics"`
}

// ScanConfig bounds where the processor looks and how much work a value may cost.
type ScanConfig struct {
	// Names scans span names, span event names, log record event names, instrumentation
	// scope names and versions, and metric descriptions.
	Names bool `mapstructure:"names"`
	// StatusMessages scans span status messages.
	StatusMessages bool `mapstructure:"status_messages"`
	// Numbers also scans int and double attribute values as text (a number with a finding
	// becomes a string token). Off by default: numeric attributes rarely hold personal data
	// and ms timestamps can pass a card's checksum.
	Numbers bool `mapstructure:"numbers"`
	// Bodies scans log bodies (strings, and maps and slices recursively).
	Bodies bool `mapstructure:"bodies"`
	// MaxScanBytes bounds the bytes scanned per value.
	MaxScanBytes int `mapstructure:"max_scan_bytes"`
	// Oversize is what happens to a longer value: redact (the default) or drop. It is never
	// passed on unscanned; every case is counted as pii_type "oversize".
	Oversize OversizeAction `mapstructure:"oversize"`
}

// Config is the configuration of the pii_redaction processor. The zero-configuration default
// (`pii_redaction: {}`) protects a pipeline: e-mails hashed, cards, SSNs, IBANs and secrets
// redacted, phone numbers masked, IP addresses kept, sensitive keys redacted.
type Config struct {
	// Detectors sets the action per built-in detector.
	Detectors DetectorsConfig `mapstructure:"detectors"`
	// Custom are named user patterns.
	Custom []CustomConfig `mapstructure:"custom"`
	// SensitiveKeys redacts values by the name of their key.
	SensitiveKeys SensitiveKeysConfig `mapstructure:"sensitive_keys"`
	// Names acts on person names by the name of their key.
	Names NamesConfig `mapstructure:"names"`
	// URL parses URL attributes.
	URL URLConfig `mapstructure:"url"`
	// Hash is the key of the hash action. With no key configured, a random key is made at
	// start (hashes then do not join across restarts or collectors; a warning says so).
	Hash HashConfig `mapstructure:"hash"`
	// Allow lists what is never touched.
	Allow AllowConfig `mapstructure:"allow"`
	// Signals enables the processor per signal.
	Signals SignalsConfig `mapstructure:"signals"`
	// Scan bounds where the processor looks and the work per value.
	Scan ScanConfig `mapstructure:"scan"`
	// DryRun finds and counts (metrics and ledger summaries) without changing any data: to
	// measure what a configuration would do before enforcing it. The data is NOT protected.
	DryRun bool `mapstructure:"dry_run"`
	// Ledger is the component ID of an audit_ledger extension. When set, findings are
	// summarised there (counts by type, action, service and signal; never values).
	Ledger *component.ID `mapstructure:"ledger"`
	// SummaryInterval is how long findings are counted before their summaries are recorded
	// in the ledger: one entry per service and signal with findings per interval, and at
	// shutdown. A crash loses at most one interval of summary counts (the findings metric
	// keeps counting). At least 1s.
	SummaryInterval time.Duration `mapstructure:"summary_interval"`
	// SummarizeKept also writes findings whose action is keep (IP addresses and names by
	// default) to the ledger summaries. Off by default: the ledger records what was changed,
	// and a batch whose only findings were kept adds no entry; the findings metric counts
	// every finding either way.
	SummarizeKept bool `mapstructure:"summarize_kept"`
}

var _ confmap.Validator = (*Config)(nil)

var customNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// minSummaryInterval keeps the ledger from growing with time faster than with decisions.
const minSummaryInterval = time.Second

// Validate reports every problem at once. It compiles patterns to check them but reads no
// files: key files are read at start.
func (cfg *Config) Validate() error {
	var errs []error
	for _, t := range detect.BuiltinTypes() {
		errs = append(errs, cfg.Detectors.byType(t).validate("detectors."+t.String())...)
	}
	errs = append(errs, cfg.Detectors.Phone.validateRegions("detectors.phone")...)
	names := map[string]bool{}
	for _, t := range detect.BuiltinTypes() {
		names[t.String()] = true
	}
	for _, reserved := range []string{"sensitive_key", "oversize", "custom", "name"} {
		names[reserved] = true
	}
	for i, c := range cfg.Custom {
		at := fmt.Sprintf("custom[%d]", i)
		switch {
		case !customNameRE.MatchString(c.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1 to 64 letters, digits, '_' or '-'", at, c.Name))
		case names[c.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is already used (by a built-in type or another pattern)", at, c.Name))
		}
		names[c.Name] = true
		if c.Regexp == "" {
			errs = append(errs, fmt.Errorf("%s.regexp: required", at))
		} else if _, err := regexp.Compile(c.Regexp); err != nil {
			errs = append(errs, fmt.Errorf("%s.regexp: %w", at, err))
		}
		errs = append(errs, c.validate(at)...)
	}
	errs = append(errs, cfg.SensitiveKeys.validate("sensitive_keys")...)
	errs = append(errs, cfg.Names.validate()...)
	errs = append(errs, cfg.validateHash()...)
	for i, p := range cfg.Allow.KeyPatterns {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("allow.key_patterns[%d]: %w", i, err))
		}
	}
	for i, p := range cfg.Allow.Values {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("allow.values[%d]: %w", i, err))
		}
	}
	if cfg.Scan.MaxScanBytes <= 0 {
		errs = append(errs, fmt.Errorf("scan.max_scan_bytes: must be positive, got %d", cfg.Scan.MaxScanBytes))
	}
	if cfg.Scan.Oversize == "" {
		errs = append(errs, errors.New("scan.oversize: required (redact or drop)"))
	}
	if cfg.SummaryInterval < minSummaryInterval {
		errs = append(errs, fmt.Errorf("summary_interval: must be at least %s, got %s", minSummaryInterval, cfg.SummaryInterval))
	}
	if !cfg.Signals.Traces && !cfg.Signals.Logs && !cfg.Signals.Metrics {
		errs = append(errs, errors.New("signals: every signal is disabled; remove the processor instead"))
	}
	return errors.Join(errs...)
}

func (a *ActionConfig) validate(at string) []error {
	var errs []error
	if a.Action == "" {
		errs = append(errs, fmt.Errorf("%s.action: required (redact, hash, mask, keep or drop)", at))
	}
	if a.KeepFirst < 0 || a.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("%s: keep_first and keep_last must not be negative", at))
	}
	return errs
}

func (cfg *Config) validateHash() []error {
	h := &cfg.Hash
	var errs []error
	sources := 0
	for _, set := range []bool{h.KeyFile != "", h.KeyEnv != "", h.Key != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		errs = append(errs, errors.New("hash: set one of key_file, key_env and key"))
	}
	if h.Unkeyed && sources > 0 {
		errs = append(errs, errors.New("hash.unkeyed: cannot be combined with a key"))
	}
	if h.Key != "" && len(h.Key) < minHashKeyBytes {
		errs = append(errs, fmt.Errorf("hash.key: must be at least %d bytes, got %d", minHashKeyBytes, len(h.Key)))
	}
	if h.KeyID != "" && (len(h.KeyID) > 16 || strings.ContainsAny(h.KeyID, ":] \t\n")) {
		errs = append(errs, fmt.Errorf("hash.key_id: %q must be at most 16 characters without ':', ']' or spaces", h.KeyID))
	}
	return errs
}

func (n *NamesConfig) validate() []error {
	errs := n.ActionConfig.validate("names")
	for i, name := range n.Extra {
		if strings.Trim(name, "._-/: ") == "" {
			errs = append(errs, fmt.Errorf("names.extra[%d]: %q names no key", i, name))
		}
	}
	for i, name := range n.Exclude {
		if strings.Trim(name, "._-/: ") == "" {
			errs = append(errs, fmt.Errorf("names.exclude[%d]: %q names no key", i, name))
		}
	}
	return errs
}

// Unmarshal reports every key the configuration does not have, with the nearest valid one,
// before decoding it.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, cfg); err != nil {
		return err
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	return conf.Unmarshal((*plain)(cfg))
}
