package piiredactionprocessor

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// TestSecretsInText: credentials and values of sensitive keys written into log lines are
// replaced, and what surrounds them (the user, the host, the scheme word, the key) stays.
func TestSecretsInText(t *testing.T) {
	p := newTestProcessor(t, testConfig(nil))
	for _, tc := range []struct {
		name, in string
		want     string // a regular expression for the whole output
	}{
		{"url password", "connecting to postgres://app:s3cret@db.internal:5432/app",
			`^connecting to postgres://app:\[REDACTED:credential\]@db\.internal:5432/app$`},
		{"authorization token", "Authorization: Token abc123", `^Authorization: Token \[REDACTED:credential\]$`},
		{"digest", `Proxy-Authorization: Digest username="u", response="6629fae49393a05397450978507c4ef1"`,
			`^Proxy-Authorization: Digest \[REDACTED:credential\]$`},
		{"curl", "curl -u user:pass https://example.com", `^curl -u user:\[REDACTED:credential\] https://example\.com$`},
		{"flag", "exec app --password hunter2 --port 8080", `^exec app --password \[REDACTED:credential\] --port 8080$`},
		{"mysql", "mysql -u root -p'hunter2' shop", `^mysql -u root -p'\[REDACTED:credential\]' shop$`},
		{"pairs", "login user=bob password=hunter2 api_key=ak-55219 ok",
			`^login user=bob password=\[REDACTED:sensitive_key\] api_key=\[REDACTED:sensitive_key\] ok$`},
		{"json text", `{"user":"bob","token":"tok-9f8e7d6c"}`, `^\{"user":"bob","token":"\[REDACTED:sensitive_key\]"\}$`},
		{"aws secret", "aws_secret_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			`^aws_secret_key = \[REDACTED:aws_key\]$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := redactAttr(t, p, "message", tc.in)
			require.True(t, ok)
			assert.Regexp(t, regexp.MustCompile(tc.want), got)
			// What was written is not found again.
			again, _ := redactAttr(t, p, "message", got)
			assert.Equal(t, got, again)
		})
	}
	for _, clean := range []string{
		"password_policy=strict", "token_count: 42", "Authorization: [REDACTED:bearer]", "mailto:user@host",
		"GET http://host:8080/", "ssh user@host", "name: checkout", "docker run -p 8080:80 nginx",
		"auth: ok", "secret rotation scheduled", "tokens=5",
	} {
		got, _ := redactAttr(t, p, "message", clean)
		assert.Equal(t, clean, got)
	}
}

// TestSensitiveKeysInTextFollowTheConfig: the key list and the action of sensitive_keys
// apply to keys in text as to attribute keys.
func TestSensitiveKeysInTextFollowTheConfig(t *testing.T) {
	p := newTestProcessor(t, testConfig(func(c *Config) {
		c.SensitiveKeys.Extra = []string{"pin"}
		c.SensitiveKeys.Exclude = []string{"token"}
		c.SensitiveKeys.Action = ActionHash
		c.Detectors.Credential = ActionConfig{Action: ActionMask, KeepLast: 2}
	}))
	got, _ := redactAttr(t, p, "message", "pin=1234 token=abc123 --password=hunter2")
	assert.Regexp(t, `^pin=\[HASH:sensitive_key:v1:[0-9a-f]{8}:[0-9a-f]{32}\] token=abc123 --password=\*\*\*\*\*r2$`, got)

	ld, lr := logWith("message", "password=hunter2")
	lr.Body().SetStr("retry with password=hunter2")
	_, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	assert.Regexp(t, `^retry with password=\[HASH:sensitive_key:`, lr.Body().Str())

	// drop deletes the attribute whose text holds the secret.
	p = newTestProcessor(t, testConfig(func(c *Config) { c.Detectors.Credential = ActionConfig{Action: ActionDrop} }))
	_, ok := redactAttr(t, p, "message", "curl -u a:b https://x")
	assert.False(t, ok)
	_, ok = redactAttr(t, p, "message", "curl -u a https://x")
	assert.True(t, ok)
}

func TestCredentialConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, ActionConfig{Action: ActionRedact}, cfg.Detectors.Credential)
	cm := confmap.NewFromStringMap(map[string]any{"detectors": map[string]any{"credential": map[string]any{"action": "hash"}}})
	require.NoError(t, cm.Unmarshal(cfg))
	assert.Equal(t, ActionHash, cfg.Detectors.Credential.Action)
	require.NoError(t, cfg.Validate())

	cm = confmap.NewFromStringMap(map[string]any{"detectors": map[string]any{"credential": map[string]any{"action": "hide"}}})
	err := cm.Unmarshal(cfg)
	if err == nil {
		err = cfg.Validate()
	}
	require.ErrorContains(t, err, "credential")

	cfg = createDefaultConfig().(*Config)
	cfg.Custom = []CustomConfig{{Name: "credential", Regexp: "x", ActionConfig: ActionConfig{Action: ActionRedact}}}
	assert.ErrorContains(t, cfg.Validate(), `"credential" is already used`)
}
