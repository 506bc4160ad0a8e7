package piiredactionprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaults := func(mutate func(*Config)) *Config {
		cfg := createDefaultConfig().(*Config)
		mutate(cfg)
		return cfg
	}
	ledger := component.MustNewID("audit_ledger")

	tests := []struct {
		id               string
		want             *Config
		wantUnmarshalErr string
		wantValidateErrs []string
	}{
		{id: "pii_redaction", want: defaults(func(*Config) {})},
		{
			id: "pii_redaction/tuned",
			want: defaults(func(c *Config) {
				c.Detectors.Email = ActionConfig{Action: ActionMask, KeepFirst: 1}
				// Only the action is set: the default's keep_last stays, and redact ignores it.
				c.Detectors.Phone.ActionConfig = ActionConfig{Action: ActionRedact, KeepLast: defaultPhoneKeepLast}
				c.Detectors.IPv4 = ActionConfig{Action: ActionHash}
				c.Detectors.Card = ActionConfig{Action: ActionDrop}
				c.Custom = []CustomConfig{{Name: "customer_id", Regexp: "CUST-[0-9]{8}", ActionConfig: ActionConfig{Action: ActionHash}}}
				c.SensitiveKeys = SensitiveKeysConfig{ActionConfig: ActionConfig{Action: ActionDrop}, Extra: []string{"session_cookie"}, Exclude: []string{"token"}}
				c.URL = URLConfig{Keys: []string{"url.full"}, SensitiveQueryParameters: []string{"sig", "token"}}
				c.Hash = HashConfig{KeyEnv: "WARDEN_PII_KEY", KeyID: "k2026"}
				c.Allow = AllowConfig{
					Keys: []string{"user.id"}, KeyPatterns: []string{`^internal\..*`},
					Values: []string{"4111 1111 1111 1111", `.*@example\.org`}, Services: []string{"healthcheck"},
				}
				c.Signals.Metrics = false
				c.Scan.Names = false
				c.Scan.Numbers = true
				c.Scan.MaxScanBytes = 1024
				c.Scan.Oversize = OversizeDrop
				c.DryRun = true
				c.Ledger = &ledger
				c.SummaryInterval = time.Minute
			}),
		},
		{id: "pii_redaction/unkeyed", want: defaults(func(c *Config) { c.Hash.Unkeyed = true })},
		{id: "pii_redaction/phone_regions", want: defaults(func(c *Config) {
			c.Detectors.Phone = PhoneConfig{ActionConfig: ActionConfig{Action: ActionHash, KeepLast: defaultPhoneKeepLast}, Regions: []string{"GB", "DE", "JP"}}
		})},
		{id: "pii_redaction/phone_all_regions", want: defaults(func(c *Config) { c.Detectors.Phone.Regions = []string{"ALL"} })},
		{
			id: "pii_redaction/bad_phone_regions",
			wantValidateErrs: []string{
				`detectors.phone.regions[1]: unknown region "UK" (want an upper-case region code such as US, GB, DE or JP, or ALL)`,
				`detectors.phone.regions[2]: unknown region "de"`,
			},
		},
		{id: "pii_redaction/phone_typo", wantUnmarshalErr: "region"},
		{id: "pii_redaction/bad_action", wantUnmarshalErr: `'detectors.card.action' unknown action "hide" (want redact, hash, mask, keep or drop)`},
		{id: "pii_redaction/bad_oversize", wantUnmarshalErr: `unknown oversize action "keep" (want redact or drop)`},
		{id: "pii_redaction/typo", wantUnmarshalErr: "emial"},
		{
			id: "pii_redaction/invalid",
			wantValidateErrs: []string{
				`custom[0].name: "bad name" must be 1 to 64 letters`,
				"custom[0].regexp: error parsing regexp",
				`custom[1].name: "card" is already used`,
				"allow.key_patterns[0]: error parsing regexp",
				"allow.values[0]: error parsing regexp",
				"hash: set one of key_file, key_env and key",
				`hash.key_id: "a:b"`,
				"scan.max_scan_bytes: must be positive, got 0",
				"signals: every signal is disabled",
				"summary_interval: must be at least 1s, got 10ms",
			},
		},
		{
			id: "pii_redaction/names",
			want: defaults(func(c *Config) {
				c.Names = NamesConfig{ActionConfig: ActionConfig{Action: ActionHash}, Extra: []string{"passenger", "traveller.name"}, Exclude: []string{"user.name"}}
			}),
		},
		{id: "pii_redaction/bad_names_action", wantUnmarshalErr: `'names.action' unknown action "hide"`},
		{
			id: "pii_redaction/invalid_names",
			wantValidateErrs: []string{
				"names: keep_first and keep_last must not be negative",
				`names.extra[0]: "" names no key`,
				`names.exclude[0]: "._" names no key`,
				`custom[0].name: "name" is already used`,
			},
		},
		{id: "pii_redaction/short_key", wantValidateErrs: []string{"hash.key: must be at least 32 bytes, got 9"}},
		{id: "pii_redaction/unkeyed_with_key", wantValidateErrs: []string{"hash.unkeyed: cannot be combined with a key"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			sub, err := cm.Sub(tt.id)
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			err = sub.Unmarshal(&cfg)
			if tt.wantUnmarshalErr != "" {
				require.ErrorContains(t, err, tt.wantUnmarshalErr)
				return
			}
			require.NoError(t, err)
			if tt.want != nil {
				assert.Equal(t, tt.want, cfg)
			}
			err = confmap.Validate(cfg)
			if len(tt.wantValidateErrs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantValidateErrs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, confmap.Validate(createDefaultConfig()))
}

func TestDefaultConfigKeepsNames(t *testing.T) {
	// The design's classification: names are kept by default (and counted).
	assert.Equal(t, ActionKeep, createDefaultConfig().(*Config).Names.Action)
}

func TestMisspelledKeysAreNamedWithTheNearestValidOne(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{
		"detector":  map[string]any{},
		"detectors": map[string]any{"phone": map[string]any{"regoins": []any{"GB"}}},
	}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown key "detector" (did you mean "detectors"?)`)
	assert.Contains(t, err.Error(), `detectors.phone: unknown key "regoins" (did you mean "regions"?)`)
	assert.NotContains(t, err.Error(), "piiredactionprocessor.Config", "the Go type is not named")
}
