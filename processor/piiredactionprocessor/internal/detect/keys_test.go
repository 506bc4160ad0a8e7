package detect

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyMatcherDefaults(t *testing.T) {
	k := NewKeyMatcher(nil, nil)
	sensitive := []string{
		"user.password", "password", "PASSWORD", "db.password", "db.connection.passwd", "pwd",
		"http.request.header.authorization", "http.response.header.proxy-authorization",
		"rpc.grpc.request.metadata.authorization", "http.request.header.auth",
		"client_secret", "clientSecret", "ClientSecret", "CLIENT_SECRET", "clientsecret",
		"X-Api-Key", "x-api-key", "api_key", "apiKey", "APIKey", "apikey", "openai.api_key",
		"http.request.header.x-api-key", "http.request.header.cookie", "http.response.header.set-cookie",
		"aws.secret_access_key", "SecretAccessKey", "AWS_SECRET_ACCESS_KEY", "secret",
		"token", "access_token", "accessToken", "refresh_token", "id_token", "IDToken", "auth_token",
		"x-amz-security-token", "oauth2Token", "user.ssn", "payment.cvv", "cvv2", "card.cvc",
		"customer.credit_card", "creditCard", "card_number", "payment.pan", "passport",
		"passport_number", "driver_license", "drivers_license", "national_id", "social_security_number",
		"tls.private_key", "privateKey", "secret_key", "credentials", "db.credential",
		"dbPassword", "userpassword", "app.passphrase", "my-token",
	}
	for _, key := range sensitive {
		assert.True(t, k.Sensitive(key), "%q should be sensitive", key)
	}
	clean := []string{
		"", "http.request.method", "db.system.name", "gen_ai.usage.output_tokens",
		"gen_ai.usage.input_tokens", "gen_ai.request.max_tokens", "llm.token_count.prompt",
		"token_count", "token.type", "tokens", "tokenizer", "passage", "user.id", "service.name",
		"secretary", "session_id", "session.id", "http.request.header.content-type", "auth.method",
		"author", "authority", "url.full", "span.kind", "japan", "pandas", "compass",
		"password_length", "secret.name", "k8s.secret.name", "cookie.count", "credit_card.type",
		"http.response.header.x-request-id", "messaging.kafka.message.key", "api.version",
		"cache.key", "private.ip", "db.query.text", "passwordless_login",
	}
	for _, key := range clean {
		assert.False(t, k.Sensitive(key), "%q should not be sensitive", key)
	}
}

func TestKeyMatcherExtraAndExclude(t *testing.T) {
	k := NewKeyMatcher([]string{"user.email", "tenantSecretId", "mrn"}, []string{"token", "Cookie", "client-secret"})
	for key, want := range map[string]bool{
		"user.email":                 true,
		"app.user_email":             true,
		"UserEmail":                  true,
		"email":                      false,
		"tenant_secret_id":           true,
		"patient.mrn":                true,
		"mrnumber":                   false,
		"token":                      false, // excluded
		"mytoken":                    false, // the suffix rule goes with the term
		"access_token":               true,  // its own entry
		"http.request.header.cookie": false,
		"set-cookie":                 true, // its own entry
		"client_secret":              true, // still matched by "secret"
		"password":                   true,
	} {
		assert.Equal(t, want, k.Sensitive(key), "key %q", key)
	}
	var nilMatcher *KeyMatcher
	assert.False(t, nilMatcher.Sensitive("password"))
}

func TestNormalizeKey(t *testing.T) {
	for key, want := range map[string][]string{
		"http.request.header.authorization": {"http", "request", "header", "authorization"},
		"clientSecret":                      {"client", "secret"},
		"APIKey":                            {"api", "key"},
		"HTTPServerName":                    {"http", "server", "name"},
		"X-Api-Key":                         {"x", "api", "key"},
		"gen_ai.usage.input_tokens":         {"gen", "ai", "usage", "input", "tokens"},
		"cvv2":                              {"cvv", "2"},
		"oauth2Token":                       {"oauth", "2", "token"},
		"__a..b__":                          {"a", "b"},
		"ÜberSecret":                        {"\xc3\x9cber", "secret"},
		"":                                  {},
	} {
		assert.Equal(t, want, normalizeKeyString(key), "key %q", key)
	}
}

func TestDefaultSensitiveKeys(t *testing.T) {
	keys := DefaultSensitiveKeys()
	assert.Contains(t, keys, "password")
	assert.Contains(t, keys, "authorization")
	keys[0] = "changed"
	assert.NotEqual(t, "changed", DefaultSensitiveKeys()[0], "the list is a copy")
	// Every default matches itself.
	k := NewKeyMatcher(nil, nil)
	for _, name := range DefaultSensitiveKeys() {
		if name == "auth" {
			name = "header.auth"
		}
		assert.True(t, k.Sensitive(name), name)
	}
}
