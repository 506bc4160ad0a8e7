package detect

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// phoneScanner reads national numbers of the regions the notations below come from.
var phoneScanner = func() *Scanner {
	s, err := NewScanner(Options{Types: AllBuiltin, PhoneRegions: []string{"US", "GB", "DE", "JP", "BR", "CN", "FR"}})
	if err != nil {
		panic(err)
	}
	return s
}()

type phoneCase struct {
	name string
	in   string // found alone, and inside text
	want string // the match; "" for none
}

func runPhoneCases(t *testing.T, s *Scanner, cases []phoneCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{tc.in, "user " + tc.in + " logged in", `{"v":"` + tc.in + `"}`} {
				want := []string{}
				if tc.want != "" {
					want = []string{"phone:" + tc.want}
				}
				got := []string{}
				for _, f := range found(s, v) {
					if strings.HasPrefix(f, "phone:") {
						got = append(got, f)
					}
				}
				assert.Equal(t, want, got, "input %q", v)
			}
		})
	}
}

func TestPhoneInternational(t *testing.T) {
	runPhoneCases(t, allScanner, []phoneCase{
		{"dk country code in parentheses", "(+45) 32 10 45 67", "(+45) 32 10 45 67"},
		{"uk trunk zero in parentheses", "+44 (0)161 496 0123", "+44 (0)161 496 0123"},
		{"de slash", "+49 171/2345678", "+49 171/2345678"},
		{"cn dash", "+86 10 8123-4567", "+86 10 8123-4567"},
		{"uk spaces", "+44 20 7946 0958", "+44 20 7946 0958"},
		{"uk area in parentheses", "+44 (20) 7946 0958", "+44 (20) 7946 0958"},
		{"fr pairs", "+33 1 23 45 67 89", "+33 1 23 45 67 89"},
		{"fr dots", "+33.1.23.45.67.89", "+33.1.23.45.67.89"},
		{"us area in parentheses", "+1 (415) 555-0132", "+1 (415) 555-0132"},
		{"e164", "+14155552671", "+14155552671"},
		{"e164 dk", "+4532104567", "+4532104567"},
		{"de", "+49 30 901820", "+49 30 901820"},
		{"uk written with its trunk zero", "+44 020 7946 0958", "+44 020 7946 0958"},
		{"it leading zero", "+39 06 6982 1234", "+39 06 6982 1234"},
		{"00 prefix", "0044 20 7946 0958", "0044 20 7946 0958"},
		{"00 prefix us", "001 415 555 0132", "001 415 555 0132"},
		{"glued to tel", "tel+4532104567", "+4532104567"},
		{"glued to Tel", "Tel+44 20 7946 0958", "+44 20 7946 0958"},
		{"glued to call", "call415-555-0199", "415-555-0199"},
		{"glued to phone", "phone4155550199", "4155550199"},

		{"nanp area starts with 1", "+1 123 456 7890", ""},
		{"too short", "+44 1234", ""},
		{"zeros", "+49 0000 000", ""},
		{"unassigned country code", "+999 1234 5678", ""},
		{"invalid uk length", "+44 20 7946 095", ""},
		{"compact under ten digits", "+4930901", ""},
		{"glued to a word", "a+4420794609", ""},
		{"glued to a longer word", "hotel+4532104567", ""},
		{"scientific", "1e+10", ""},
		{"timezone", "2026-01-02T03:04:05+01:00", ""},
		{"followed by other numbers", "+44 20 7946 0958 1234 5678 9012", "+44 20 7946 0958"},
		{"dashed run goes on", "+44-20-7946-0958-1234", ""},
		{"00 bare run without context", "00442079460958", ""},
		{"glued to a non-context word", "ticket415-555-0199", ""},
	})
}

func TestPhoneExtensions(t *testing.T) {
	runPhoneCases(t, allScanner, []phoneCase{
		{"x glued", "212.555.0187x42", "212.555.0187x42"},
		{"ext dot", "+1 212 555 0187 ext. 12", "+1 212 555 0187 ext. 12"},
		{"ext", "+1 212 555 0187 ext 12", "+1 212 555 0187 ext 12"},
		{"ext colon", "(212) 555-0187 ext: 1234", "(212) 555-0187 ext: 1234"},
		{"extension", "212-555-0187 extension 7", "212-555-0187 extension 7"},
		{"hash", "(212) 555-0187 #12", "(212) 555-0187 #12"},
		{"spaced x", "212-555-0187 x 42", "212-555-0187 x 42"},
		{"uk ext", "+44 20 7946 0958 ext 3", "+44 20 7946 0958 ext 3"},

		{"x glued to a word", "212-555-0187 x86_64", "212-555-0187"},
		{"extension too long", "212-555-0187 x1234567", "212-555-0187"},
		{"ext without digits", "212-555-0187 ext", "212-555-0187"},
	})
}

func TestPhoneNational(t *testing.T) {
	runPhoneCases(t, phoneScanner, []phoneCase{
		{"jp", "080-2345-6789", "080-2345-6789"},
		{"br", "(11) 98765-4321", "(11) 98765-4321"},
		{"cn with context", "mobile 13912345678", "13912345678"},
		{"cn grouped", "139 1234 5678", "139 1234 5678"},
		{"gb", "020 7946 0958", "020 7946 0958"},
		{"de", "030 901820", "030 901820"},
		{"de slash", "0171/2345678", "0171/2345678"},
		{"fr", "01 23 45 67 89", "01 23 45 67 89"},
		{"fr dots", "06.12.34.56.78", "06.12.34.56.78"},
		{"de bare with context", "Telefon: 030901820", "030901820"},
		{"de bare with french context", "téléphone 0612345678", "0612345678"},
		{"de without trunk prefix with context", "Handy: 171 2345678", "171 2345678"},
		{"us bare with context", "phone=4155550132", "4155550132"},
		{"us bare eleven with context", "cell: 14155550132", "14155550132"},
		{"spanish context", "teléfono 020 7946 0958", "020 7946 0958"},
		{"nanp", "(415) 555-2671", "(415) 555-2671"},

		{"cn bare without context", "took 13912345678 ns", ""},
		{"bare without context", "13912345678", ""},
		{"de without trunk prefix", "171 2345678", ""},
		{"context too far", "phone numbers are stored in table 13912345678", ""},
		{"context word inside a word", "telemetry 4155550132", ""},
		{"bad grouping", "555-1234-56", ""},
		{"date iso", "2026-12-01", ""},
		{"date dots", "01.12.2026", ""},
		{"date slashes", "12/01/2026", ""},
		{"date slashes day first", "01/12/2026", ""},
		{"time", "12:34:56", ""},
		{"version", "1.2.3.4", ""},
		{"ipv4", "10.12.34.56", ""},
		{"order id", "ORD-2026-000123", ""},
		{"price", "1 299,00", ""},
		{"duration", "1h2m3.5s 250ms 01:30:00", ""},
		{"port", "localhost:8080 :08080", ""},
		{"uuid", "01234567-0123-4567-8901-234567890123", ""},
		{"hex id", "0a1b2c3d4e5f6071", ""},
		{"isbn", "978-3-16-148410-0", ""},
		{"coordinates", "52.520008, 13.404954", ""},
		{"counter", "requests_total 12345678", ""},
		{"ms timestamp", "1700000000000", ""},
		{"hdfs block", "blk_-1608999687919862906", ""},
		{"inside a word", "id0201234567x abc02079460958", ""},
		{"zero padded id", "id=0000000042", ""},
		{"glued dash", "ORD-020-7946-0958", ""},
		{"space list", "1 020 7946 0958", ""},
	})
}

func TestPhoneRegionsDecide(t *testing.T) {
	us := newTestScanner(t, Options{Types: Types(Phone)})
	gb := newTestScanner(t, Options{Types: Types(Phone), PhoneRegions: []string{"GB"}})
	all := newTestScanner(t, Options{Types: Types(Phone), PhoneRegions: []string{PhoneRegionAll}})
	none := newTestScanner(t, Options{Types: Types(Phone), PhoneRegions: []string{}})
	for _, tc := range []struct {
		in              string
		us, gb, all, no bool
	}{
		{"020 7946 0958", false, true, true, false},
		{"080-2345-6789", false, false, true, false},
		{"415-555-0132", true, false, true, false},
		{"604-555-0132", true, false, true, false}, // Canada is North America
		{"+44 20 7946 0958", true, true, true, true},
	} {
		for _, c := range []struct {
			s    *Scanner
			want bool
			name string
		}{{us, tc.us, "US"}, {gb, tc.gb, "GB"}, {all, tc.all, "ALL"}, {none, tc.no, "none"}} {
			assert.Equal(t, c.want, len(found(c.s, tc.in)) > 0, "%s under %s", tc.in, c.name)
		}
	}
	_, err := NewScanner(Options{Types: Types(Phone), PhoneRegions: []string{"US", "XX"}})
	assert.ErrorContains(t, err, `phone region "XX": unknown`)
	assert.True(t, ValidPhoneRegion("DE"))
	assert.True(t, ValidPhoneRegion("ALL"))
	assert.False(t, ValidPhoneRegion("de"))
	assert.False(t, ValidPhoneRegion("EU"))
}

func TestPhoneExtensionStart(t *testing.T) {
	for _, tc := range []struct{ in, number string }{
		{"212.555.0187x42", "212.555.0187"},
		{"+1 212 555 0187 ext. 12", "+1 212 555 0187"},
		{"+1 212 555 0187 ext 12", "+1 212 555 0187"},
		{"(212) 555-0187 #12", "(212) 555-0187"},
		{"212-555-0187 x 42", "212-555-0187"},
		{"212-555-0187, ext: 9", "212-555-0187"},
		{"212-555-0187 extension 7", "212-555-0187"},
		{"+44 20 7946 0958", "+44 20 7946 0958"},
		{"(415) 555-0132", "(415) 555-0132"},
		{"+14155552671", "+14155552671"},
		{"", ""},
	} {
		assert.Equal(t, tc.number, tc.in[:PhoneExtensionStart(tc.in)], tc.in)
	}
}

// TestPhonePlansAgreeWithLibphonenumber checks the compiled plans against
// phonenumbers.IsValidNumber on every region's example numbers and on near misses of them.
func TestPhonePlansAgreeWithLibphonenumber(t *testing.T) {
	ps := loadPhonePlans()
	checked, disagree := 0, []string{}
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE,
		phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.UAN}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, ty := range types {
			ex := phonenumbers.GetExampleNumberForType(region, ty)
			if ex == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			cc := fmt.Sprint(ex.GetCountryCode())
			for _, variant := range []string{nsn, nsn[:len(nsn)-1], nsn + "0", "9" + nsn[1:], "1" + nsn[1:]} {
				num, err := phonenumbers.Parse("+"+cc+variant, "ZZ")
				if err != nil {
					continue
				}
				want := phonenumbers.IsValidNumber(num)
				got := ps.validIntl(cc + variant)
				checked++
				if got != want && !(got && strings.HasPrefix(variant, "0")) {
					disagree = append(disagree, fmt.Sprintf("+%s %s: %v, libphonenumber %v", cc, variant, got, want))
				}
			}
			if variant := nsn; variant != "" {
				got := ps.validIntl(cc + variant)
				assert.True(t, got, "example %s +%s %s", region, cc, variant)
			}
		}
	}
	require.Greater(t, checked, 1000)
	// Numbers of a shared country code are valid here if any of its regions takes them,
	// where libphonenumber first picks the region by leading digits: a handful may differ.
	assert.LessOrEqual(t, len(disagree), checked/200, "%d of %d disagree: %v", len(disagree), checked, disagree)
}

func TestPhoneCleanValuesDoNotAllocate(t *testing.T) {
	skipUnderRace(t)
	dst := make([]Match, 0, 8)
	for _, v := range []string{"took 13912345678 ns", "2026-12-01 01.12.2026 12/01/2026", "1 299,00",
		"978-3-16-148410-0", "52.520008, 13.404954", "call me later", "telemetry pipeline", "+1 123 456 7890"} {
		allocs := testing.AllocsPerRun(100, func() { phoneScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, v)
		assert.Empty(t, found(phoneScanner, v), v)
	}
	for _, v := range []string{"+44 20 7946 0958", "(11) 98765-4321", "212.555.0187x42", "tel+4532104567"} {
		allocs := testing.AllocsPerRun(100, func() { phoneScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, v)
	}
}

func BenchmarkPhoneCandidate(b *testing.B) {
	for _, v := range []string{"+44 20 7946 0958", "(415) 555-2671", "080-2345-6789", "took 13912345678 ns"} {
		b.Run(v, func(b *testing.B) {
			dst := make([]Match, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				phoneScanner.Scan(v, dst[:0])
			}
		})
	}
}

// TestPhoneAfterParenthesisedNumber: a number after "(1) " or "0) " is its own.
func TestPhoneAfterParenthesisedNumber(t *testing.T) {
	assert.Equal(t, []string{"phone:212.555.0187x42"}, found(allScanner, "0) 212.555.0187x42"))
	assert.Equal(t, []string{"phone:415-555-0132"}, found(allScanner, "options: (1) 415-555-0132"))
}
