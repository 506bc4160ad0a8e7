package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	testJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." +
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	testPEM = "-----BEGIN RSA PRIVATE KEY-----\n" +
		"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
		"-----END RSA PRIVATE KEY-----"
)

type detectCase struct {
	name string
	in   string
	want []string // "type:text", in order
}

func runDetectCases(t *testing.T, cases []detectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, found(allScanner, tc.in), "input %q", tc.in)
		})
	}
}

func TestCard(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"visa spaces", "card 4111 1111 1111 1111 ok", []string{"card:4111 1111 1111 1111"}},
		{"visa dashes", "4111-1111-1111-1111", []string{"card:4111-1111-1111-1111"}},
		{"visa compact", "pan=4111111111111111;", []string{"card:4111111111111111"}},
		{"visa 13", "4222222222222", []string{"card:4222222222222"}},
		{"amex compact", "378282246310005", []string{"card:378282246310005"}},
		{"amex 4-6-5", "3782 822463 10005", []string{"card:3782 822463 10005"}},
		{"amex 4-6-5 dashes", "3782-822463-10005", []string{"card:3782-822463-10005"}},
		{"mastercard", "5555555555554444", []string{"card:5555555555554444"}},
		{"mastercard 2-series", "2223003122003222", []string{"card:2223003122003222"}},
		{"discover", "6011111111111117", []string{"card:6011111111111117"}},
		{"jcb", "3530111333300000", []string{"card:3530111333300000"}},
		{"diners 14", "30569309025904", []string{"card:30569309025904"}},
		{"unionpay 19", "6250941006528599", []string{"card:6250941006528599"}},
		{"in json", `{"cc":"5105105105105100"}`, []string{"card:5105105105105100"}},
		{"followed by cvv", "4111 1111 1111 1111 123", []string{"card:4111 1111 1111 1111"}},
		{"after a quantity", "qty 2 4111 1111 1111 1111", []string{"card:4111 1111 1111 1111"}},
		{"end of sentence", "paid with 4111111111111111.", []string{"card:4111111111111111"}},
		{"two cards", "4111111111111111,5555555555554444", []string{"card:4111111111111111", "card:5555555555554444"}},

		{"luhn fails", "4111111111111112", nil},
		{"order id", "ORD-2026-00000042", nil},
		{"ms epoch", "ts=1700000000000", nil},
		{"luhn-valid ms epoch has no issuer", "1700000000004", nil},
		{"luhn-valid 16 digits no issuer", "1000000000000008 7000000000000005 9000000000000001", nil},
		{"amex length wrong", "3782822463100058", nil},
		{"visa 15 digits", "411111111111116", nil},
		{"mixed separators", "4111-1111 1111-1111", nil},
		{"glued to letters", "id4111111111111111 4111111111111111x", nil},
		{"glued with dash", "ORD-4111111111111111 4111111111111111-7", nil},
		{"inside a longer dashed run", "4111-1111-1111-1111-2222", nil},
		{"underscore identifier", "user_4111111111111111", nil},
		{"decimal", "4111111111111111.25", nil},
		{"too long", "41111111111111111111", nil},
		{"uuid", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736", nil},
		{"trace id", "4bf92f3577b34da6a3ce929d0e0e4736", nil},
		{"trace id digits only", "12345678901234567890123456789012", nil},
		{"sku", "SKU-88213-XL", nil},
	})
}

func TestSSN(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"dashes", "ssn 078-05-1120", []string{"ssn:078-05-1120"}},
		{"spaces", "ssn: 078 05 1120.", []string{"ssn:078 05 1120"}},
		{"json", `{"ssn":"123-45-6789"}`, []string{"ssn:123-45-6789"}},
		{"area 899", "899-12-3456", []string{"ssn:899-12-3456"}},

		{"area 000", "000-12-3456", nil},
		{"area 666", "666-12-3456", nil},
		{"area 9xx", "900-12-3456 999-12-3456", nil},
		{"group 00", "123-00-4567", nil},
		{"serial 0000", "123-45-0000", nil},
		{"bare nine digits", "078051120", nil},
		{"mixed separators", "078-05 1120", nil},
		{"glued", "A078-05-1120 078-05-1120-1 078-05-1120x", nil},
		{"space list of numbers", "1 078 05 1120", nil},
		{"date", "2026-11-23", nil},
	})
}

func TestPhone(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"paren", "call (415) 555-0132 now", []string{"phone:(415) 555-0132"}},
		{"paren no space", "(415)555-0132", []string{"phone:(415)555-0132"}},
		{"dashes", "415-555-0132", []string{"phone:415-555-0132"}},
		{"dots", "415.555.0132", []string{"phone:415.555.0132"}},
		{"spaces", "tel 415 555 0132", []string{"phone:415 555 0132"}},
		{"plus one spaces", "+1 415 555 0132", []string{"phone:+1 415 555 0132"}},
		{"plus one dashes", "+1-415-555-0132", []string{"phone:+1-415-555-0132"}},
		{"plus one compact", "+14155550132", []string{"phone:+14155550132"}},
		{"one dashes", "1-415-555-0132", []string{"phone:1-415-555-0132"}},
		{"plus one paren", "+1 (415) 555-0132", []string{"phone:+1 (415) 555-0132"}},
		{"uk", "+44 20 7946 0958", []string{"phone:+44 20 7946 0958"}},
		{"uk paren", "+44 (20) 7946 0958", []string{"phone:+44 (20) 7946 0958"}},
		{"germany", "+49 30 901820", []string{"phone:+49 30 901820"}},
		{"france", "+33 1 23 45 67 89", []string{"phone:+33 1 23 45 67 89"}},
		{"compact odd grouping", "+4420794609 58", []string{"phone:+4420794609 58"}},
		{"followed by a number", "+1 415 555 0132 2", []string{"phone:+1 415 555 0132"}},
		{"two phones", "+1 415 555 0132 1-415-555-0132", []string{"phone:+1 415 555 0132", "phone:1-415-555-0132"}},

		{"bare ten digits", "4155550132", nil},
		{"nanp area starts with 1", "115-555-0132", nil},
		{"nanp exchange starts with 0", "415-055-0132", nil},
		{"plus one bad area", "+1 015 555 0132", nil},
		{"date", "2026-01-02", nil},
		{"datetime", "2026-01-02 12:34:56", nil},
		{"time", "12:34:56", nil},
		{"version", "1.14.2 v2.3.4.5", nil},
		{"timezone", "2026-01-02T03:04:05+01:00", nil},
		{"plus zero", "+0123456789", nil},
		{"short plus", "+1234567", nil},
		{"compact plus under ten digits", "+123456789", nil},
		{"too long plus", "+1234567890123456", nil},
		{"longer dashed run", "+44-20-7946-0958-1234", nil},
		{"glued plus", "a+4420794609", nil},
		{"scientific", "1e+10", nil},
		{"glued nanp", "x415-555-0132 415-555-0132-1", nil},
		{"space list", "7 415 555 0132", nil},
		{"ip", "192.168.100.200", []string{"ipv4:192.168.100.200"}},
	})
}

func TestEmail(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"plain", "john@example.com", []string{"email:john@example.com"}},
		{"dots and plus", "mail John.Doe+tag@mail.example.co.uk now", []string{"email:John.Doe+tag@mail.example.co.uk"}},
		{"after key", "email=john@example.com&x=1", []string{"email:john@example.com"}},
		{"in json", `{"user":"a_b-c@sub-domain.example.io"}`, []string{"email:a_b-c@sub-domain.example.io"}},
		{"sentence end", "write to john@example.com.", []string{"email:john@example.com"}},
		{"leading dots", "...john@example.com", []string{"email:john@example.com"}},
		{"angle brackets", "John <john@example.com>", []string{"email:john@example.com"}},
		{"two", "a@example.com,b@example.org", []string{"email:a@example.com", "email:b@example.org"}},

		{"no tld", "john@localhost", nil},
		{"one letter tld", "john@example.c", nil},
		{"numeric tld", "john@10.0.0.1", []string{"ipv4:10.0.0.1"}},
		{"trailing dot local", "john.@example.com", nil},
		{"double dot local", "jo..hn@example.com", nil},
		{"empty local", "@example.com", nil},
		{"leading hyphen label", "john@-example.com", nil},
		{"empty label", "john@example..com", nil},
		{"handle", "@john", nil},
		{"local too long", strings.Repeat("a", 65) + "@example.com", nil},
		{"domain glued to underscore", "john@example.com_x", nil},
	})
}

func TestIP(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"ipv4", "client 192.168.1.20 connected", []string{"ipv4:192.168.1.20"}},
		{"ipv4 port", "10.0.0.1:8080", []string{"ipv4:10.0.0.1"}},
		{"ipv4 cidr", "10.0.0.0/8", []string{"ipv4:10.0.0.0"}},
		{"ipv4 zeros", "0.0.0.0", []string{"ipv4:0.0.0.0"}},
		{"ipv4 sentence", "from 8.8.8.8.", []string{"ipv4:8.8.8.8"}},
		{"ipv6", "2001:db8::8a2e:370:7334", []string{"ipv6:2001:db8::8a2e:370:7334"}},
		{"ipv6 full", "2001:0db8:0000:0000:0000:ff00:0042:8329", []string{"ipv6:2001:0db8:0000:0000:0000:ff00:0042:8329"}},
		{"ipv6 loopback bracket", "[::1]:443", []string{"ipv6:::1"}},
		{"ipv6 mapped", "::ffff:192.168.1.20", []string{"ipv6:::ffff:192.168.1.20"}},
		{"ipv6 zone", "fe80::1%eth0", []string{"ipv6:fe80::1"}},
		{"ipv6 trailing colon", "at 2001:db8::1: refused", []string{"ipv6:2001:db8::1"}},
		{"ipv6 upper", "2001:DB8::1", []string{"ipv6:2001:DB8::1"}},

		{"octet too big", "256.1.1.1", nil},
		{"leading zero", "192.168.01.1", nil},
		{"version five parts", "1.2.3.4.5", nil},
		{"version prefixed", "v2.3.4.5", nil},
		{"three parts", "1.14.2", nil},
		{"time", "12:34:56", nil},
		{"time millis", "12:34:56.789", nil},
		{"mac", "00:1a:2b:3c:4d:5e", nil},
		{"host port", "localhost:8080", nil},
		{"cpp scope", "std::vector", nil},
		{"double colon alone", "a :: b", nil},
		{"two ellipses", "1::2::3", nil},
		{"glued ipv6", "2001:db8::1g", nil},
		{"duration", "1h2m3.5s 250ms", nil},
	})
}

func TestIBAN(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"gb grouped", "iban GB82 WEST 1234 5698 7654 32 ok", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
		{"gb compact", "GB82WEST12345698765432", []string{"iban:GB82WEST12345698765432"}},
		{"de compact", "DE89370400440532013000", []string{"iban:DE89370400440532013000"}},
		{"de grouped", "DE89 3704 0044 0532 0130 00", []string{"iban:DE89 3704 0044 0532 0130 00"}},
		{"fr", "FR1420041010050500013M02606", []string{"iban:FR1420041010050500013M02606"}},
		{"no", "NO9386011117947", []string{"iban:NO9386011117947"}},

		{"bad checksum", "GB82WEST12345698765433", nil},
		{"bad checksum grouped", "DE89 3704 0044 0532 0130 01", nil},
		{"wrong length", "DE8937040044053201300", nil},
		{"unknown country", "ZZ82WEST12345698765432", nil},
		{"lower case", "gb82west12345698765432", nil},
		{"bad grouping", "GB82 WEST 12345 698 7654 32", nil},
		{"glued", "XGB82WEST12345698765432", nil},
	})
}

func TestSecrets(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"jwt", "token " + testJWT + " end", []string{"jwt:" + testJWT}},
		{"jwt in header", "Authorization: Bearer " + testJWT, []string{"jwt:" + testJWT}},
		{"jwt sentence", "see " + testJWT + ".", []string{"jwt:" + testJWT}},
		{"jwt unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", []string{"jwt:eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}},
		{"jwt header without alg", "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln", nil},
		{"jwt two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", nil},
		{"jwt glued", "x-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", nil},

		{"bearer", "Authorization: Bearer abcDEF123456789", []string{"bearer:abcDEF123456789"}},
		{"bearer lower", "authorization=bearer ya29.a0AfH6SMBx-token_value", []string{"bearer:ya29.a0AfH6SMBx-token_value"}},
		{"bearer upper padded", "BEARER dGhpc2lzYXRva2Vu==", []string{"bearer:dGhpc2lzYXRva2Vu=="}},
		{"bearer prose", "the bearer authentication scheme", nil},
		{"bearer short", "Bearer abc123", nil},
		{"bearer realm", `WWW-Authenticate: Bearer realm="example"`, nil},
		{"bearer params", "Bearer error=invalid_token", nil},

		{"basic", "Authorization: Basic dXNlcjpwYXNzd29yZA==", []string{"basic_auth:dXNlcjpwYXNzd29yZA=="}},
		{"basic no colon", "Basic dXNlcm5hbWU=", nil},
		{"basic prose", "basic authentication", nil},
		{"basic binary", "Basic AAECAwQFBgc6", nil},

		{"aws key id", "key AKIAIOSFODNN7EXAMPLE used", []string{"aws_key:AKIAIOSFODNN7EXAMPLE"}},
		{"aws temporary key id", "ASIAY34FZKBOKMUTVV7A", []string{"aws_key:ASIAY34FZKBOKMUTVV7A"}},
		{"aws key id lower", "AKIAiosfodnn7example", nil},
		{"aws key id long", "AKIAIOSFODNN7EXAMPLE1", nil},
		{"aws key id glued", "xAKIAIOSFODNN7EXAMPLE", nil},
		{"aws secret ini", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			[]string{"aws_key:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"aws secret json", `{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`,
			[]string{"aws_key:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"aws secret env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			[]string{"aws_key:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"aws secret wrong length", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE", nil},
		{"forty chars without context", "value=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", nil},

		{"pem", "key:\n" + testPEM + "\nrest", []string{"private_key:" + testPEM}},
		{"pem ec", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
			[]string{"private_key:-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"}},
		{"pem escaped newlines", `"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"`,
			[]string{`private_key:-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----`}},
		{"pem without end", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
			[]string{"private_key:-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"}},
		{"pem end label differs", "-----BEGIN RSA PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----",
			[]string{"private_key:-----BEGIN RSA PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----"}},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", nil},
		{"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", nil},
	})
}

// TestCleanValues holds values that telemetry carries all the time and that must not match.
func TestCleanValues(t *testing.T) {
	for _, v := range []string{
		"GET", "200", "service-a", "checkout", "POST /api/v1/orders HTTP/1.1",
		"ORD-2026-00000042", "1700000000000", "1700000000004", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
		"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "1.14.2", "v2.3.4.5", "go1.26.0",
		"2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05.123456789+01:00", "2026-11-23", "12:34:56",
		"1h2m3.5s", "SKU-88213-XL", "000-12-3456", "666-12-3456", "123-00-4567",
		"GB82WEST12345698765433", "00:1a:2b:3c:4d:5e", "localhost:8080", "k8s.pod.name",
		"http.request.method", "user_id=42 parent_user_id=423", "took 1234567 ns", "bytes=1048576",
		"sha256:3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a",
		"the bearer of bad news", "basic usage", "Exception in thread main java.lang.NullPointerException",
		"at com.example.Foo.bar(Foo.java:42)", "span_id=00f067aa0ba902b7 trace_flags=01",
	} {
		assert.Empty(t, found(allScanner, v), "value %q", v)
	}
}
