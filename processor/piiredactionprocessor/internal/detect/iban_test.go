package detect

import "testing"

func TestIBANSeparators(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"de dashes", "iban DE89-3704-0044-0532-0130-00 ok", []string{"iban:DE89-3704-0044-0532-0130-00"}},
		{"gb dots", "GB82.WEST.1234.5698.7654.32", []string{"iban:GB82.WEST.1234.5698.7654.32"}},
		{"gb dots sentence end", "pay to GB82.WEST.1234.5698.7654.32.", []string{"iban:GB82.WEST.1234.5698.7654.32"}},
		{"fr dashes", "FR14-2004-1010-0505-0001-3M02-606", []string{"iban:FR14-2004-1010-0505-0001-3M02-606"}},
		{"no dots", "NO93.8601.1117.947", []string{"iban:NO93.8601.1117.947"}},

		{"bad checksum dashes", "DE89-3704-0044-0532-0130-01", nil},
		{"mixed separators", "DE89 3704-0044-0532-0130-00", nil},
		{"double dashes", "DE89--3704--0044--0532--0130--00", nil},
		{"longer dashed run", "DE89-3704-0044-0532-0130-00-17", nil},
		{"glued dotted", "x.GB82.WEST.1234.5698.7654.32", nil},
		{"wrong length dashes", "DE89-3704-0044-0532-0130-0", nil},
	})
}
