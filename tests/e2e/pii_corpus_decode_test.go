//go:build e2e

package e2e

import "encoding/base64"

// Personal data and secrets written in an encoding: percent and form encoding, JSON and HTML
// escapes, base64 blobs. Each local part is distinct, so that it must vanish on its own.
func init() {
	b64JWT := base64.StdEncoding.EncodeToString([]byte(jwtRS256))
	b64PEM := base64.StdEncoding.EncodeToString([]byte(pemPKCS8 + "\n"))
	plantedPII = append(plantedPII,
		plantedValue{kind: "email", value: "GET /signup?email=perc.user%40example.com HTTP/1.1", secrets: []string{"perc.user"}},
		plantedValue{kind: "email", value: "email=form.user%40example.com&name=x", secrets: []string{"form.user"}},
		plantedValue{kind: "email", value: `{"user":"json.user\u0040example.com"}`, secrets: []string{"json.user"}},
		plantedValue{kind: "email", value: "<td>html.user&#64;example.com</td>", secrets: []string{"html.user"}},
		plantedValue{kind: "email", value: "hex.user&#x40;example&#x2E;com", secrets: []string{"hex.user"}},
		plantedValue{kind: "email", value: "named.user&commat;example&period;com", secrets: []string{"named.user"}},
		plantedValue{kind: "email", value: "GET https://15550001111%40example.com@host.example.net/path HTTP/1.1", secrets: []string{"15550001111"}},
		plantedValue{kind: "card", value: "pay=4000+0566+5566+5556&n=1", secrets: []string{"4000+0566+5566+5556"}, digits: true},
		plantedValue{kind: "phone", value: "tel=%2B44%2020%207946%200123&x=1", secrets: []string{"%2B44%2020%207946%200123"}},
		plantedValue{kind: "jwt", value: "token: " + b64JWT, secrets: []string{b64JWT}},
		plantedValue{kind: "private_key", value: "tls.key: " + b64PEM, secrets: []string{b64PEM}},
	)
	cleanValues = append(cleanValues,
		"q=shoes%20red&page=2",
		"/api/v1/files/a%2Fb%2Fc.txt?download=1",
		`{"msg":"line one\nline two \"quoted\""}`,
		"Tom &amp; Jerry &lt;3",
		"price=19.99+USD&qty=2",
		"version%3D1.14.2%26build%3D2026-01-02",
		"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
		"blob=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/+/+/+/+/w==",
	)
}
