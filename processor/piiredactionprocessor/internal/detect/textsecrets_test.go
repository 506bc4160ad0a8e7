package detect

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// textScanner finds sensitive keys in text too, as the processor's scanner does.
var textScanner = func() *Scanner {
	s, err := NewScanner(Options{Types: AllBuiltin, Keys: NewKeyMatcher(nil, nil)})
	if err != nil {
		panic(err)
	}
	return s
}()

func runTextCases(t *testing.T, cases []detectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, found(textScanner, tc.in), "input %q", tc.in)
		})
	}
}

const awsSecretExample = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func TestCredentialURLPassword(t *testing.T) {
	runTextCases(t, []detectCase{
		{"postgres", "connecting to postgres://app:s3cret@db.internal:5432/app", []string{"credential:s3cret"}},
		{"https", "GET https://admin:hunter2@example.com/x failed", []string{"credential:hunter2"}},
		{"empty user", "redis://:p4ss-w0rd@cache:6379/0", []string{"credential:p4ss-w0rd"}},
		{"at in password", "amqp://guest:p@ss@rabbit:5672", []string{"credential:p@ss"}},
		{"percent escapes kept whole", "mongodb://u:p%40ss%3Aw@h/db", []string{"credential:p%40ss%3Aw"}},
		{"quoted", `dsn="mysql://root:toor@tcp(db:3306)/app"`, []string{"credential:toor"}},
		{"two urls", "from ftp://a:one@h1 to sftp://b:two@h2", []string{"credential:one", "credential:two"}},

		{"port, not userinfo", "http://host:8080/", nil},
		{"user only", "ssh://git@github.com/org/repo.git", []string{"email:git@github.com"}},
		{"mailto", "mailto:user@host.example", []string{"email:user@host.example"}},
		{"ssh", "ssh user@host", nil},
		{"already redacted", "https://REDACTED:REDACTED@example.com/", nil},
		{"masked", "postgres://app:***@db:5432", nil},
		{"redacted token", "postgres://app:[REDACTED:credential]@db", nil},
		{"at after path", "https://example.com:443/users/@me", nil},
		{"ipv6 host", "http://[::1]:8080/", []string{"ipv6:::1"}},
		{"no scheme", "://user:pw@host", nil},
	})
}

func TestCredentialAuthorization(t *testing.T) {
	runTextCases(t, []detectCase{
		{"token", "Authorization: Token abc123", []string{"credential:abc123"}},
		{"api-key", "authorization: Api-Key k-123", []string{"credential:k-123"}},
		{"proxy", "Proxy-Authorization: Basic dXNlcjpwYXNz", []string{"basic_auth:dXNlcjpwYXNz"}},
		{"proxy token", "Proxy-Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag", []string{"credential:YIIGhgYGKwYBBQUCoIIGejCCBnag"}},
		{"short bearer", "Authorization: Bearer abc123", []string{"credential:abc123"}},
		{"bearer stays bearer", "Authorization: Bearer abcDEF123456789", []string{"bearer:abcDEF123456789"}},
		{"digest", `Authorization: Digest username="u", realm="r", response="6629fae49393a05397450978507c4ef1" next`,
			[]string{`credential:username="u", realm="r", response="6629fae49393a05397450978507c4ef1"`}},
		{"aws4", "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
			"SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
			[]string{"credential:Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
				"SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"}},
		{"json", `{"Authorization": "Token abc123", "x": 1}`, []string{"credential:abc123"}},
		{"json escaped digest", `"msg":"{\"authorization\": \"Digest username=\"u\", response=\"6629fae4\"\"}"`,
			[]string{`credential:username=\"u\", response=\"6629fae4\"`}},
		{"curl header", `curl -H 'Authorization: Token abc123' https://x`, []string{"credential:abc123"}},
		{"attribute key", "http.request.header.authorization=Token abc123", []string{"credential:abc123"}},
		{"unknown scheme credential-like", "Authorization: Custom Zm9vYmFyMTIz", []string{"credential:Zm9vYmFyMTIz"}},
		{"bare credential", "authorization: 7Qx-opaque-credential", []string{"sensitive_key:7Qx-opaque-credential"}},

		{"already redacted", "Authorization: [REDACTED:bearer]", nil},
		{"scheme kept, token redacted", "Authorization: Bearer [REDACTED:bearer]", nil},
		{"prose", "authorization: denied for user", nil},
		{"prose failed", "Authorization: failed", nil},
		{"known scheme then a word", "authorization: token expired", nil},
		{"known scheme, long lower-case token", "Authorization: Token abcdefghijklmnopqrst", []string{"credential:abcdefghijklmnopqrst"}},
		{"auth ok", "auth: ok", nil},
		{"scheme only", "Authorization: Basic", nil},
		{"www-authenticate", `WWW-Authenticate: Bearer realm="example"`, nil},
	})
}

func TestCredentialCommandLine(t *testing.T) {
	runTextCases(t, []detectCase{
		{"curl -u", "curl -u user:pass https://example.com", []string{"credential:pass"}},
		{"curl -u quoted", "curl -s -u 'admin:s3cr3t' https://x", []string{"credential:s3cr3t"}},
		{"curl --user", "exec: curl --user bob:hunter2 -X POST", []string{"credential:hunter2"}},
		{"--user=", "wget --user=bob:hunter2 https://x", []string{"credential:hunter2"}},
		{"--password=", "run --password=hunter2 --verbose", []string{"credential:hunter2"}},
		{"--password space", "run --password hunter2 --verbose", []string{"credential:hunter2"}},
		{"--db-password", "migrate --db-password 's3 cret' --host db", []string{"credential:s3 cret"}},
		{"--api-key", "cli --api-key=ak_live_123 list", []string{"credential:ak_live_123"}},
		{"go flag", "app -token=t0k3n -v", []string{"credential:t0k3n"}},
		{"mysql -p", "mysql -u root -phunter2 app", []string{"credential:hunter2"}},
		{"mysql -p quoted", "mysql -h db -u root -p'hunter 2' app", []string{"credential:hunter 2"}},
		{"mysqldump", "mysqldump -uroot -pS3cr3t! --all-databases", []string{"credential:S3cr3t!"}},

		{"-p port", "docker run -p 8080:80 nginx", nil},
		{"-p space", "mysql -u root -p app", nil},
		{"-p without mysql", "ssh -p2222 host", nil},
		{"-u docker uid", "docker run -u 1000:1000 img", nil},
		{"--user uid", "docker run --user 1000:1000 img", nil},
		{"-u without curl", "ps -u root:wheel", nil},
		{"password-stdin", "docker login --password-stdin --username bob", nil},
		{"password-stdin then host", "docker login --password-stdin registry.example.com", nil},
		{"password-file", "app --password-file=/run/secrets/db", nil},
		{"flag placeholder", "app --password=${DB_PASSWORD}", nil},
		{"dash list", "items: - one - two", nil},
		{"date", "2026-01-02 -p", nil},
	})
}

func TestSensitiveKeysInText(t *testing.T) {
	runTextCases(t, []detectCase{
		{"equals", "login password=hunter2 user=bob", []string{"sensitive_key:hunter2"}},
		{"colon", "secret: s3cr3t-value", []string{"sensitive_key:s3cr3t-value"}},
		{"json", `{"user":"bob","token":"tok-9f8e7d6c","n":1}`, []string{"sensitive_key:tok-9f8e7d6c"}},
		{"json compact", `{"password":"pw"}`, []string{"sensitive_key:pw"}},
		{"single quotes", `{'api_key': 'ak-55219'}`, []string{"sensitive_key:ak-55219"}},
		{"arrow", "passwd => hunter2", []string{"sensitive_key:hunter2"}},
		{"ruby hash", `{:password => "hunter2"}`, []string{"sensitive_key:hunter2"}},
		{"query in text", "GET /login?user=bob&password=hunter2&next=/ HTTP/1.1", []string{"sensitive_key:hunter2"}},
		{"semicolon", "Server=db;Password=P@ssw0rd;Database=app", []string{"sensitive_key:P@ssw0rd"}},
		{"comma", "{password=hunter2, user=bob}", []string{"sensitive_key:hunter2"}},
		{"brace", "{user=bob, password=hunter2}", []string{"sensitive_key:hunter2"}},
		{"quoted with spaces", `password="correct horse battery"`, []string{"sensitive_key:correct horse battery"}},
		{"escaped quote inside", `token="a\"b" x`, []string{`sensitive_key:a\"b`}},
		{"json in json", `{"body":"{\"password\":\"hunter2\"}"}`, []string{"sensitive_key:hunter2"}},
		{"json escaped newline after", `"msg":"password=hunter2\nnext line"`, []string{"sensitive_key:hunter2"}},
		{"json escaped newline before", `"msg":"start\npwd=hunter2"`, []string{"sensitive_key:hunter2"}},
		{"env", "PGPASSWORD=s3cret psql -h db", []string{"sensitive_key:s3cret"}},
		{"camel", "clientSecret: cs-7f3e9a1b", []string{"sensitive_key:cs-7f3e9a1b"}},
		{"dotted", "db.password=pw1 ok", []string{"sensitive_key:pw1"}},
		{"spaces around", "api_key = ak-55219", []string{"sensitive_key:ak-55219"}},
		{"jwt wins", "token=" + testJWT + ";", []string{"jwt:" + testJWT}},
		{"card under key", "cvv: 123", []string{"sensitive_key:123"}},

		{"percent escape kept whole", "password=ab%40cd&x=1", []string{"sensitive_key:ab%40cd"}},
		{"unicode escape kept whole", `{"msg":"password=p\u0040ss\nnext"}`, []string{`sensitive_key:p\u0040ss`}},
		{"html entity ends before", "?token=tk1&amp;next=/", []string{"sensitive_key:tk1"}},
		{"escaped quotes around", `"{\"token\":\"t\\\"k\"}"`, []string{`sensitive_key:t\\\"k`}},

		{"descriptor policy", "password_policy=strict", nil},
		{"descriptor count", "token_count: 42", nil},
		{"plural", "tokens=5", nil},
		{"not sensitive", "status: ok user: bob", nil},
		{"yaml not sensitive", "name: checkout\nreplicas: 3", nil},
		{"no separator", "secret rotation scheduled", nil},
		{"empty", "password= next", nil},
		{"empty quoted", `{"password":""}`, nil},
		{"null", `{"password": null, "token": "null"}`, nil},
		{"json number", `{"pin": 1234}`, nil},
		{"json object", `{"credentials": {"user": "bob"}}`, nil},
		{"stars", "password=***", nil},
		{"redacted", "password=[REDACTED:sensitive_key]", nil},
		{"hashed", "token: [HASH:sensitive_key:v1:3fdcb8cd:a1b104674d2c0219b5c2f5334f995fe7]", nil},
		{"template", "password: ${DB_PASSWORD}", nil},
		{"comparison", "if token == x", nil},
		{"not equal", "token != x", nil},
		{"colon glued", "secret:latest", nil},
		{"image", "registry/secret:v2", nil},
		{"time", "at 12:34:56 secret", nil},
		{"unclosed quote", `password="hunter2`, nil},
		{"path", "GET /v1/token:refresh", nil},
		{"yaml block", "password: |", nil},
	})
}

func TestSensitiveKeysInTextNeedKeys(t *testing.T) {
	assert.Empty(t, found(allScanner, "password=hunter2"))
	s := newTestScanner(t, Options{Types: AllBuiltin, Keys: NewKeyMatcher([]string{"pin"}, []string{"token"})})
	assert.Equal(t, []string{"sensitive_key:1234"}, found(s, "pin=1234"))
	assert.Empty(t, found(s, "token=abc123"))
	assert.Equal(t, []string{"sensitive_key:abc"}, found(s, "access_token=abc"))
	// Without the credential detector, flags are left to it: nothing.
	s = newTestScanner(t, Options{Types: AllBuiltin.Without(Credential), Keys: NewKeyMatcher(nil, nil)})
	assert.Empty(t, found(s, "--password=hunter2 postgres://a:b@c"))
	assert.Equal(t, []string{"sensitive_key:hunter2"}, found(s, "password=hunter2"))
}

func TestAWSSecretKeyNames(t *testing.T) {
	for _, in := range []string{
		"aws_secret_key = " + awsSecretExample,
		"secret_key=" + awsSecretExample,
		"AWS_SECRET_ACCESS_KEY: " + awsSecretExample,
		"aws_secret_access_key => '" + awsSecretExample + "'",
		`"aws_secret_key": "` + awsSecretExample + `"`,
		"SECRET_KEY =  " + awsSecretExample,
	} {
		assert.Equal(t, []string{"aws_key:" + awsSecretExample}, found(allScanner, in), in)
		assert.Equal(t, []string{"aws_key:" + awsSecretExample}, found(textScanner, in), in)
	}
	for _, in := range []string{
		"secret_key=" + awsSecretExample[:39],
		"secret_key=" + awsSecretExample + "A",
		"public_key=" + awsSecretExample,
		"secret_keys=" + awsSecretExample,
	} {
		assert.Empty(t, found(allScanner, in), in)
	}
}

func jwtFrom(header, payload, sig string) string {
	e := base64.RawURLEncoding
	return e.EncodeToString([]byte(header)) + "." + e.EncodeToString([]byte(payload)) + sig
}

func TestJWTValidatesJSON(t *testing.T) {
	valid := []string{
		jwtFrom(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"1"}`, ".c2lnbmF0dXJl"),
		jwtFrom(`{"alg":"HS256"}`, `{"sub":"1"}`, "."), // empty signature
		jwtFrom(`{"alg":"none"}`, `{"sub":"1"}`, ""),   // no signature segment
		jwtFrom(`{"alg":"NONE"}`, `{"sub":"1"}`, ""),   // any case
		jwtFrom(`{"alg" : "RS256" } `, `{}`, ".c2ln"),  // white space
		jwtFrom(`{"a":[1,-2.5e+3,true,false,null,"\u00e9",{}],"alg":"RS256"}`, `{"n":0.5E-2}`, ".c2ln"),
	}
	for _, tok := range valid {
		assert.Equal(t, []string{"jwt:" + tok}, found(allScanner, "t "+tok+" end"), tok)
	}
	invalid := []string{
		jwtFrom(`{"alg":"HS256"`, `{"sub":"1"}`, ".c2ln"),           // header not closed
		jwtFrom(`{"alg":"HS256"}x`, `{"sub":"1"}`, ".c2ln"),         // trailing bytes
		jwtFrom(`{"alg":"HS256","n":01}`, `{"sub":"1"}`, ".c2ln"),   // leading zero
		jwtFrom(`{"alg":HS256}`, `{"sub":"1"}`, ".c2ln"),            // bare word
		jwtFrom(`{"typ":"JWT","x":{"alg":"HS256"}}`, `{}`, ".c2ln"), // alg not at the top
		jwtFrom(`{"typ":"JWT","x":"alg"}`, `{}`, ".c2ln"),           // "alg" as a value
		jwtFrom(`{"alg":"HS256"}`, `not json at all`, ".c2ln"),      // payload not JSON
		jwtFrom(`{"alg":"HS256"}`, `[1,2]`, ".c2ln"),                // payload not an object
		jwtFrom(`{"alg":"HS256"}`, `{"sub":"1"`, ".c2ln"),           // payload not closed
		jwtFrom(`{"alg":"HS256"}`, `{"sub":"1"}`, ""),               // two parts, signed alg
		jwtFrom(`{"alg":"none "}`, `{"sub":"1"}`, ""),               // two parts, not "none"
		jwtFrom(`{"alg":"HS256","s":"a`+"\x01"+`"}`, `{}`, ".c2ln"), // control byte in a string
		jwtFrom(`{"alg":"HS256","s":"\x"}`, `{}`, ".c2ln"),          // bad escape
		jwtFrom(`{"alg":"HS256",}`, `{}`, ".c2ln"),                  // trailing comma
		jwtFrom(`{"alg":"HS256"}`+strings.Repeat("[", 70), `{}`, ".c2ln"),
		jwtFrom(`{"x":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`,"alg":"HS256"}`, `{}`, ".c2ln"), // too deep
	}
	for _, tok := range invalid {
		assert.Empty(t, found(allScanner, "t "+tok+" end"), tok)
	}
	// The JWT-looking dotted ids of the report: base64 of something that is not JSON.
	assert.Empty(t, found(allScanner, "eyJhbGciOiJIUzI1NiI.eyJzdWIiOiIxIn0.c2ln eyJhbGciOi.b64.c2ln"))
}

// TestJSONCheckerAgreesWithEncodingJSON compares the checker with encoding/json.
func TestJSONCheckerAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":[]}`, `{"a":[1,2,{"b":null}]}`, `{"a":"\"\\\/\b\f\n\r\t\u00e9"}`,
		`{"a":-0}`, `{"a":-0.0e-0}`, `{"a":1E5}`, ` {"a" : true , "b":false} `, `{"a":"é"}`,
		`{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`, `{"a":[}`, `{"a":]}`,
		`{"a":"\u12"}`, `{"a":"\q"}`, `{} {}`, `[]`, `"a"`, `1`, `{"a":1}}`, `{"a":[1}]}`,
		`{"a":1 2}`, `{"a" "b"}`, `{1:2}`, `{"a":+1}`,
	} {
		var j jsonChecker
		ok := true
		for i := 0; i < len(s) && ok; i++ {
			ok = j.feed(s[i])
		}
		ok = ok && j.finish()
		var m map[string]any
		want := json.Unmarshal([]byte(s), &m) == nil && strings.HasPrefix(strings.TrimSpace(s), "{")
		assert.Equal(t, want, ok, "%s", s)
	}
}

func TestPrivateKeyNeedsABody(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"empty block", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", nil},
		{"empty block escaped", `"-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----"`, nil},
		{"placeholder", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", nil},
		{"begin line alone", "-----BEGIN PRIVATE KEY-----", nil},
		{"begin line then blank", "-----BEGIN PRIVATE KEY-----\n\n", nil},
		{"body", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
			[]string{"private_key:-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}},
		{"empty then full", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY----- " + testPEM,
			[]string{"private_key:" + testPEM}},
	})
}

// TestTextSecretsLinearTime: inputs built against the credentials-in-text detectors scan in
// linear time.
func TestTextSecretsLinearTime(t *testing.T) {
	assertLinearTime(t, textScanner.Scan, []hostile{
		{"", "the quick brown fox ", ""}, {"", "password=", ""}, {"", "password=a ", ""}, {"", `"token":"`, ""},
		{"", `password: 'a `, ""}, {"", "secret: \"x ", ""}, {"", "--password ", ""}, {"", "--password=x ", ""},
		{"", "mysql -p", ""}, {"", "-pa ", ""}, {"", "-u a:", ""}, {"", "curl -u a:b ", ""},
		{"", "Authorization: Digest a=", ""}, {"", "Authorization: Digest a=b, ", ""}, {"", `Authorization: Digest a="`, ""},
		{"", "x://a:b", ""}, {"", "x://a:b@", ""}, {"", "a:b@", ""}, {"", ":@", ""}, {"", "://", ""}, {"", `\"password\":\"`, ""},
		{"", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0 ", ""}, {"", "=>", ""}, {"", "==", ""}, {"", "-----BEGIN PRIVATE KEY-----", ""},
		{"password=", "a", ""}, {`"token": "`, `\"`, ""}, {"", "-", ""}, {"Authorization: Digest ", "a=b,", ""},
	})
}

func TestTextSecretsDoNotAllocate(t *testing.T) {
	skipUnderRace(t)
	dst := make([]Match, 0, 16)
	clean := append(append([]string{}, cleanValues...),
		"status=200 took=12ms path=/api/v1/orders user_id=42", `{"user":"bob","count":3,"ok":true}`,
		"password_policy=strict token_count: 42 tokens=5", "docker run -p 8080:80 -u 1000:1000 nginx",
		"http://host:8080/ ssh user@host mailto:user@host", "Authorization: [REDACTED:bearer]", "auth: ok",
		"2026-01-02 12:34:56 - INFO - started", "--verbose --port 8080 -v")
	for _, v := range clean {
		n := 0
		allocs := testing.AllocsPerRun(100, func() {
			ms, _ := textScanner.Scan(v, dst[:0])
			n += len(ms)
		})
		assert.Zero(t, allocs, v)
		assert.Zero(t, n, "%q should be clean", v)
	}
	for _, v := range []string{
		"postgres://app:s3cret@db:5432 password=hunter2 Authorization: Token abc123",
		`{"token":"tok-1"} curl -u a:b mysql -pX --password y`, "secret_key=" + awsSecretExample,
		jwtFrom(`{"alg":"none"}`, `{"sub":"1"}`, "."),
	} {
		allocs := testing.AllocsPerRun(100, func() { textScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, v)
	}
}

// FuzzJSONChecker compares the JWT segments' JSON checker with encoding/json.
func FuzzJSONChecker(f *testing.F) {
	for _, s := range []string{`{}`, `{"alg":"none"}`, `{"a":[1,-2.5e+3,true,null,"\u00e9"]}`, `{"a":01}`, `{"a":"\x"}`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var j jsonChecker
		ok := true
		for i := 0; i < len(s) && ok; i++ {
			ok = j.feed(s[i])
		}
		ok = ok && j.finish()
		var m map[string]json.RawMessage
		err := json.Unmarshal([]byte(s), &m)
		want := err == nil && m != nil && strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{")
		// encoding/json also refuses invalid UTF-8 only where it matters to it; compare on
		// valid text, and on depths both accept.
		if !utf8.ValidString(s) || strings.Count(s, "[")+strings.Count(s, "{") > 60 {
			return
		}
		if ok != want {
			t.Fatalf("checker %v, encoding/json %v (%v) for %q", ok, want, err, s)
		}
	})
}

// FuzzSensitiveTextPrefilter: the cheap test before Sensitive never hides a sensitive key.
func FuzzSensitiveTextPrefilter(f *testing.F) {
	for _, k := range []string{"password", "dbPassword", "X-API-KEY", "client_secret", "span_id", "oauth2Token",
		"NATIONAL-ID", "cardNumber", "pk", "user.pin", "APIKey", "x_pwd", "SECRETKey"} {
		f.Add(k)
	}
	matchers := []*KeyMatcher{NewKeyMatcher(nil, nil), NewKeyMatcher([]string{"pin", "customer.email"}, []string{"token"}),
		NewKeyMatcher([]string{"pk"}, nil)}
	f.Fuzz(func(t *testing.T, key string) {
		for _, k := range matchers {
			if got, want := k.sensitiveText(key), k.Sensitive(key); got != want {
				t.Fatalf("sensitiveText(%q) = %v, Sensitive %v", key, got, want)
			}
		}
	})
}
