//go:build e2e

package e2e

// Credentials and values of sensitive keys written into text, the JWT and AWS notations
// beside them, and the look-alikes that must pass.

var (
	jwtUnsigned  = jwtOf(`{"alg":"none","typ":"JWT"}`, `{"sub":"svc-unsigned","scope":"read"}`, "")
	jwtNoSigPart = jwtUnsigned[:len(jwtUnsigned)-1] // "header.payload", alg none
)

func init() {
	plantedPII = append(plantedPII,
		plantedValue{kind: "credential", value: "connecting to postgres://app:Pg-s3cret-81@db.internal:5432/app", secrets: []string{"Pg-s3cret-81"}},
		plantedValue{kind: "credential", value: "dial redis://:Rd-s3cret-82@cache:6379/0 failed", secrets: []string{"Rd-s3cret-82"}},
		plantedValue{kind: "credential", value: "Authorization: Token tk9f2c81d4", secrets: []string{"tk9f2c81d4"}},
		plantedValue{kind: "credential", value: "authorization: Api-Key k-7731x", secrets: []string{"k-7731x"}},
		plantedValue{kind: "credential", value: "Proxy-Authorization: Token px-44120a", secrets: []string{"px-44120a"}},
		plantedValue{kind: "credential", value: `Authorization: Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1"`,
			secrets: []string{"6629fae49393a05397450978507c4ef1"}},
		plantedValue{kind: "credential", value: "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
			"SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
			secrets: []string{"AKIAIOSFODNN7EXAMPLE", "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"}},
		plantedValue{kind: "credential", value: "curl -u deploy:Zq8curlpw https://api.example.net/v1", secrets: []string{"Zq8curlpw"}},
		plantedValue{kind: "credential", value: "exec migrate --password=Mg-pass-771 --host db", secrets: []string{"Mg-pass-771"}},
		plantedValue{kind: "credential", value: "exec migrate --password Mg-pass-772 --host db", secrets: []string{"Mg-pass-772"}},
		plantedValue{kind: "credential", value: "mysql -u root -p'My-pass-773' shop", secrets: []string{"My-pass-773"}},

		plantedValue{kind: "sensitive_key", value: "login ok password=Pw-text-774 user=bob", secrets: []string{"Pw-text-774"}},
		plantedValue{kind: "sensitive_key", value: "secret: Sc-text-775", secrets: []string{"Sc-text-775"}},
		plantedValue{kind: "sensitive_key", value: `{"user":"bob","api_key":"ak-text-776"}`, secrets: []string{"ak-text-776"}},
		plantedValue{kind: "sensitive_key", value: `'token': 'tk-text-777'`, secrets: []string{"tk-text-777"}},
		plantedValue{kind: "sensitive_key", value: "passwd => Pd-text-778", secrets: []string{"Pd-text-778"}},

		plantedValue{kind: "aws_key", value: "aws_secret_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", secrets: []string{"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}},
		plantedValue{kind: "aws_key", value: "AWS_SECRET_ACCESS_KEY: je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", secrets: []string{"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}},

		plantedValue{kind: "jwt", value: "unsigned " + jwtUnsigned, secrets: []string{jwtUnsigned, jwtPayload(jwtUnsigned)}},
		plantedValue{kind: "jwt", value: "no signature " + jwtNoSigPart + " given", secrets: []string{jwtNoSigPart, jwtPayload(jwtUnsigned)}},
	)
	cleanValues = append(cleanValues,
		"password_policy=strict",
		"token_count: 42",
		"tokens=5",
		"Authorization: [REDACTED:bearer]",
		"authorization: denied for user",
		"mailto:support@localhost",
		"GET http://backend:8080/healthz",
		"ssh deploy@bastion",
		"replicas: 3",
		"docker run -p 8080:80 nginx",
		"docker run -u 1000:1000 busybox",
		"auth: ok",
		"secret rotation scheduled",
		"docker login --password-stdin registry",
		"image registry/secret:v2",
		// JWT-looking dotted ids: base64url of text that is not JSON.
		"eyJhbGciOiJIUzI1NiI.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		"eyJub3QganNvbg.eyJhbHNvIG5vdA.c2ln",
		// An empty PEM block.
		"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
	)
}

// jwtPayload is the second part of a token.
func jwtPayload(tok string) string {
	start := len(tok)
	for i := 0; i < len(tok); i++ {
		if tok[i] == '.' {
			start = i + 1
			break
		}
	}
	end := start
	for end < len(tok) && tok[end] != '.' {
		end++
	}
	return tok[start:end]
}
