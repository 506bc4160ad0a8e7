package detect

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// b64JWT and b64PEM are a JWT and a PEM private key as a base64 blob, as Kubernetes secrets
// and config dumps hold them.
var (
	b64JWT    = base64.StdEncoding.EncodeToString([]byte(testJWT))
	b64URLJWT = base64.URLEncoding.EncodeToString([]byte(testJWT + "\n"))
	b64PEM    = base64.StdEncoding.EncodeToString([]byte(testPEM + "\n"))
)

func TestDecodingViews(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"percent in a request line", "GET /signup?email=jane%40example.com HTTP/1.1", []string{"email:jane%40example.com"}},
		{"percent in a form body", "email=jane%40example.com&name=x", []string{"email:jane%40example.com"}},
		{"lower-case hex", "to=jane%40Example%2ecom", []string{"email:jane%40Example%2ecom"}},
		{"percent-encoded dot and plus", "u=j.smith%2Bbilling%40mail%2Eexample.co.uk", []string{"email:j.smith%2Bbilling%40mail%2Eexample.co.uk"}},
		{"escape before the local part", "q=to%3Ajane%40example.com", []string{"email:jane%40example.com"}},
		{"percent-encoded phone", "phone=%2B44%2020%207946%200958&x=1", []string{"phone:%2B44%2020%207946%200958"}},
		{"form plus for space", "cc=4111+1111+1111+1111&n=2", []string{"card:4111+1111+1111+1111"}},
		{"form phone", "tel=%2B1+415+555+2671", []string{"phone:%2B1+415+555+2671"}},
		{"percent ssn", "ssn%3D078-05-1120", []string{"ssn:078-05-1120"}},
		{"json unicode escape", `{"user":"jane\u0040example.com"}`, []string{`email:jane\u0040example.com`}},
		{"json upper-case hex", `"jane\u0040EXAMPLE\u002Ecom"`, []string{`email:jane\u0040EXAMPLE\u002Ecom`}},
		{"json escaped slashes and address", `{"url":"https:\/\/x.example\/u\/jane\u0040example.com"}`, []string{`email:jane\u0040example.com`}},
		{"json escape before the local part", `"a\u003ajane\u0040example.com"`, []string{`email:jane\u0040example.com`}},
		{"json letter escape inside", `"j\u0061ne@example.com"`, []string{`email:j\u0061ne@example.com`}},
		{"html decimal", "jane&#64;example.com", []string{"email:jane&#64;example.com"}},
		{"html hex", "jane&#x40;example&#x2E;com", []string{"email:jane&#x40;example&#x2E;com"}},
		{"html named", "<td>jane&commat;example&period;com</td>", []string{"email:jane&commat;example&period;com"}},
		{"html nbsp card", "4111&nbsp;1111&nbsp;1111&nbsp;1111", []string{"card:4111&nbsp;1111&nbsp;1111&nbsp;1111"}},
		{"plain and encoded copies", "from jane@example.com to bob%40example.org", []string{"email:jane@example.com", "email:bob%40example.org"}},
		{"percent view jwt", "t=" + strings.ReplaceAll(testJWT, ".", "%2E"), []string{"jwt:" + strings.ReplaceAll(testJWT, ".", "%2E")}},

		// No recursion: "%2540" decodes once, to the text "%40".
		{"double encoding decodes once", "email=jane%2540example.com", nil},
		{"json escaped backslash", `"jane\\u0040example.com"`, nil},
		{"html escaped ampersand", "jane&amp;#64;example.com", nil},
		{"mixed notations in one address", "jane%40example&#46;com", nil},
	})
}

// TestUserinfoEmailKeepsHost: a percent-encoded address in a URL's userinfo used to match
// from the escape's hex digits across the '@' into the host ("40example.com@host...").
func TestUserinfoEmailKeepsHost(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"log line", "GET https://15550001111%40example.com@host.example.net/path HTTP/1.1 from jane%40example.org",
			[]string{"email:15550001111%40example.com", "email:jane%40example.org"}},
		{"decoded userinfo", "https://jane@example.com@host.example.net/path", []string{"email:jane@example.com"}},
		{"double-encoded userinfo", "https://15550001111%2540example.com@host.example.net/", nil},
		{"local part inside an escape", "x%2Cjane@example.com", []string{"email:jane@example.com"}},
		{"handle before an address", "cc @jane@example.com", []string{"email:jane@example.com"}},
	})
	s := newTestScanner(t, Options{Types: AllBuiltin})
	for _, v := range []string{
		"https://15550001111%40example.com@host.example.net/path",
		"https://jane@example.com@host.example.net/path",
	} {
		out, changed := ScrubURL(v, nil, s, typedAct)
		assert.True(t, changed)
		assert.Equal(t, "https://REDACTED@host.example.net/path", out)
	}
}

func TestBase64Blobs(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"jwt std", "token: " + b64JWT, []string{"jwt:" + b64JWT}},
		{"jwt url alphabet padded", `{"t":"` + b64URLJWT + `"}`, []string{"jwt:" + b64URLJWT}},
		{"pem", "tls.key: " + b64PEM, []string{"private_key:" + b64PEM}},
		{"pem in yaml", "key=" + b64PEM + "\n", []string{"private_key:" + b64PEM}},

		{"short", "ZXlKaGJHY2lPaUpJVXpJMU5pSjk=", nil},
		{"jwt prefix but not a jwt", base64.StdEncoding.EncodeToString([]byte(`eyJ this is not a token at all, just text`)), nil},
		{"certificate", base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----\n")), nil},
		{"glued to a path", "/v1/" + b64JWT[:60] + "/x", nil},
		{"binary", base64.StdEncoding.EncodeToString([]byte("\x00\x01\x02\xff\xfe eyJ and -----BEGIN PRIVATE KEY----- later")), nil},
		{"png data url", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", nil},
		{"word starting like it", "ZXlKing LS0tLS1CRUdJTiMore", nil},
	})
}

func TestDecodingViewsCleanValues(t *testing.T) {
	for _, v := range decodeCleanValues {
		assert.Empty(t, found(allScanner, v), "%q", v)
	}
}

func TestDecodingViewsDoNotAllocate(t *testing.T) {
	skipUnderRace(t)
	dst := make([]Match, 0, 16)
	values := append(slices.Clone(decodeCleanValues),
		"email=jane%40example.com", `"jane\u0040example.com"`, "jane&#64;example.com", "cc=4111+1111+1111+1111",
		"token: "+b64JWT, "key: "+b64PEM, "https://15550001111%40example.com@host.example.net/")
	for _, v := range values {
		allocs := testing.AllocsPerRun(100, func() { allScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, "%q", v)
	}
}

func TestScrubURLDecodesOnce(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin})
	for in, want := range map[string]string{
		"/signup?email=jane%2540example.com":        "/signup?email=jane%2540example.com",
		"/signup?email=jane%40example.com&n=1":      "/signup?email=[email]&n=1",
		`/u/jane\u0040example.com`:                  `/u/[email]`,
		"https://example.com/p?q=shoes%20red&x=%2F": "https://example.com/p?q=shoes%20red&x=%2F",
	} {
		got, _ := ScrubURL(in, nil, s, typedAct)
		assert.Equal(t, want, got, in)
	}
	var seen []string
	out, changed := ScrubURL(`/u/jane\u0040example.com`, nil, s, func(_ Type, _ int, v string) string {
		seen = append(seen, v)
		return v
	})
	assert.Equal(t, []string{"jane@example.com"}, seen, "act sees the decoded address")
	assert.False(t, changed, "keeping the decoded text keeps the escapes")
	assert.Equal(t, `/u/jane\u0040example.com`, out)
}

// decodeCleanValues hold escapes and must stay untouched.
var decodeCleanValues = []string{
	"q=shoes%20red&page=2",
	"%20%20%20",
	"/api/v1/files/a%2Fb%2Fc.txt?download=1",
	"https://example.com/search?q=100%25+cotton&sort=price",
	`{"msg":"line one\nline two\t\"quoted\" \\ done"}`,
	`{"path":"C:\\Users\\build\\out.log","v":"\u00e9t\u00e9"}`,
	"Tom &amp; Jerry &lt;3 &quot;cartoons&quot;",
	"&#169; 2026 Example &#x2014; all rights reserved",
	"version%3D1.14.2%26build%3D2026-01-02",
	"ts=2026-01-02T03:04:05%2B00:00&id=4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
	"order=ORD-2026-000123&qty=2&price=19.99+USD",
	"tz=+00:00&offset=+0530",
	"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
	"blob=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/+/+/+/+/w==",
	"%zz %4 %%40 \\u00 \\uZZZZ &#; &#x; &#xZZ; &bogus; &#99999999;",
	"port%3A8080 id%3D00f067aa0ba902b7 uuid%3D550e8400-e29b-41d4-a716-446655440000",
}

func TestDecode(t *testing.T) {
	tests := []struct {
		e    Encoding
		in   string
		want string
	}{
		{Plain, "jane%40example.com", "jane%40example.com"},
		{Percent, "jane%40example.com+x%2", "jane@example.com+x%2"},
		{Form, "a+b%2Bc", "a b+c"},
		{Percent, "%2540", "%40"},
		{JSONEscape, `a\u0040b\/c\n\"\\u0040`, "a@b/c\n\"\\u0040"},
		{JSONEscape, `\ud83d\ude00 \ud83d \u00e9`, "\U0001F600 \uFFFD é"},
		{JSONEscape, `\u12 \x41 \`, `\u12 \x41 \`},
		{HTMLEntity, "a&#64;b&#x2e;c&commat;&amp;&nbsp;&period;", "a@b.c@& ."},
		{HTMLEntity, "&#0; &#xD800; &#1114112; &#12345678; &unknown; &amp", "&#0; &#xD800; &#1114112; &#12345678; &unknown; &amp"},
		{HTMLEntity, "&#x1F600;", "\U0001F600"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Decode(tc.e, tc.in), "%d %q", tc.e, tc.in)
	}
}

// TestDecodedMatchText: the processor hashes Decode(m.Encoding, v[m.Start:m.End]), which is the
// address as the detector saw it.
func TestDecodedMatchText(t *testing.T) {
	for _, v := range []string{
		"email=jane%40example.com", `"jane\u0040example.com"`, "jane&#64;example.com",
		"to: jane&commat;example&period;com.", "jane@example.com",
	} {
		ms, _ := allScanner.Scan(v, nil)
		require.Len(t, ms, 1, v)
		assert.Equal(t, "jane@example.com", Decode(ms[0].Encoding, v[ms[0].Start:ms[0].End]), v)
	}
	ms, _ := allScanner.Scan("cc=4111+1111+1111+1111", nil)
	require.Len(t, ms, 1)
	assert.Equal(t, Form, ms[0].Encoding)
	assert.Equal(t, "4111 1111 1111 1111", Decode(ms[0].Encoding, "4111+1111+1111+1111"))
}

// TestSpansNeverSplitAnEscape: no match starts or ends inside an escape.
func TestSpansNeverSplitAnEscape(t *testing.T) {
	for _, v := range []string{
		`{"m":"line\njane@example.com"}`, `"\u00e9jane@example.com"`, "x%2Cjane@example.com%2C",
		"a%40b%40example.com", `\u0040\u0040jane@example.com`, "&#64;&#64;jane&#64;example.com&#46;",
		"q=%204111111111111111%20", "jane%40example.co%6D",
	} {
		ms, _ := allScanner.Scan(v, nil)
		require.NotEmpty(t, ms, v)
		for _, m := range ms {
			for _, p := range []int{m.Start, m.End} {
				_, _, _, inside := escapeAround(v, p, true, true, true)
				assert.False(t, inside, "%q: %+v splits an escape at %d", v, m, p)
			}
		}
	}
	assert.Equal(t, []string{"email:jane@example.com"}, found(allScanner, `{"m":"line\njane@example.com"}`))
	assert.Equal(t, []string{"email:jane@example.com"}, found(allScanner, `"\u00e9jane@example.com"`), "the address starts after the escape")
}

func TestViewsOnlyForTheirNotation(t *testing.T) {
	s := newTestScanner(t, Options{Types: Types(Email)})
	assert.Empty(t, found(s, "jane+example.com"))
	// Without '=' or a percent escape, '+' is a plus: no form view.
	assert.Empty(t, found(s, "4111+1111+1111+1111"))
	assert.Equal(t, []string{"card:4111+1111+1111+1111"}, found(allScanner, "n=4111+1111+1111+1111"))
}

func TestCustomPatternsSeeDecodedText(t *testing.T) {
	s := newTestScanner(t, Options{Custom: []CustomPattern{{Name: "emp", Regexp: `EMP-\d{6}`}}})
	assert.Equal(t, []string{"custom:EMP%2D123456"}, found(s, "id=EMP%2D123456"))
}

// FuzzDecodingViews checks, on arbitrary values, that decoding never grows a value, that the
// view's offsets map every decoded byte inside the raw value, and that no match splits an
// escape.
func FuzzDecodingViews(f *testing.F) {
	for _, v := range append(slices.Clone(decodeCleanValues), "jane%40example.com", `\ud83d\ude00\u0040\\u0040`,
		"&#x40;&commat;&#1114111;&#xD800;", "a+b%2B%2", "https://1%40example.com@host.example.net/", b64JWT, b64PEM) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, e := range []Encoding{Plain, Percent, Form, JSONEscape, HTMLEntity} {
			if d := Decode(e, v); len(d) > len(v) {
				t.Fatalf("Decode(%d, %q) = %q grew", e, v, d)
			}
			var w view
			w.decode(v, e)
			if len(w.off) != len(w.text)+1 || int(w.off[len(w.text)]) != len(v) {
				t.Fatalf("%q: %d offsets for %d decoded bytes", v, len(w.off), len(w.text))
			}
			for k := 1; k < len(w.off); k++ {
				if w.off[k] < w.off[k-1] {
					t.Fatalf("%q: offsets not monotonic at %d", v, k)
				}
			}
		}
		if len(v) > fuzzScanner.maxScan {
			return
		}
		ms, _ := fuzzScanner.Scan(v, nil)
		checkMatches(t, v, ms, fuzzScanner)
		for _, m := range ms {
			if m.Encoding == Plain {
				continue // a plain match may end where a view's match begins; both were snapped
			}
			for _, p := range []int{m.Start, m.End} {
				if a, b, _, inside := escapeAround(v, p, m.Encoding == Percent || m.Encoding == Form, m.Encoding == JSONEscape, m.Encoding == HTMLEntity); inside {
					t.Fatalf("%q: %+v splits the escape %q", v, m, v[a:b])
				}
			}
		}
	})
}

func TestViewsStayWithinMaxScanBytes(t *testing.T) {
	s := newTestScanner(t, Options{Types: AllBuiltin, MaxScanBytes: 26})
	v := "a=jane%40example.com&b=bob%40example.org"
	ms, truncated := s.Scan(v, nil)
	assert.True(t, truncated)
	require.Len(t, ms, 1)
	assert.Equal(t, "jane%40example.com", v[ms[0].Start:ms[0].End])
}

// TestViewsLinearTime: inputs built against the decoding views (escapes cut short, runs of
// percent signs, base64 that never ends) scan in linear time.
func TestViewsLinearTime(t *testing.T) {
	assertLinearTime(t, allScanner.Scan, []hostile{
		{"", "the quick brown fox ", ""}, {"", "a%40", ""}, {"", "%4", ""}, {"", `\u0040a`, ""}, {"", `\\`, ""},
		{"", `\ud83d`, ""}, {"", "&#64;a", ""}, {"", "&#x", ""}, {"", "&commat;", ""}, {"", "a+b=", ""},
		{"", "%2B1+", ""}, {"", "ZXlK ", ""}, {"", "LS0tLS1CRUdJTi=", ""}, {"ZXlK", "A", ""},
		{"LS0tLS1CRUdJTi", "A", ""}, {"", "a%40b.co%20", `\u0040&#64;`},
	})
}
