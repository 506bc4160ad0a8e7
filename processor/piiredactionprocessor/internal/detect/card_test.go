package detect

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCardIssuers(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"visa 19", "4111111111111111102", []string{"card:4111111111111111102"}},
		{"mastercard 2720", "2720990000000007", []string{"card:2720990000000007"}},
		{"mastercard 2720 luhn fails", "2720990000000008", nil},
		{"discover 644", "6445644564456445", []string{"card:6445644564456445"}},
		{"discover 622126 16", "6221261234567897", []string{"card:6221261234567897"}},
		{"discover 622126 19", "6221261234567890129", []string{"card:6221261234567890129"}},
		{"jcb 19", "3530111333300000", []string{"card:3530111333300000"}},
		{"diners 3095", "3095 000000 0005", nil}, // 14 digits, Luhn fails
		{"diners 38 16", "3852000002323720", nil},
		{"diners 38 15", "385200000232372", []string{"card:385200000232372"}},
		{"diners 36 15", "360000000000004", []string{"card:360000000000004"}},
		{"unionpay 19", "6200000000000000000", []string{"card:6200000000000000000"}},
		{"maestro 13", "6799999999999", []string{"card:6799999999999"}},
		{"maestro 17", "67596498264384533", []string{"card:67596498264384533"}},
		{"mir 16", "2200123456789019", []string{"card:2200123456789019"}},
		{"mir 19", "2200123456789012341", []string{"card:2200123456789012341"}},
		{"rupay 81", "8100123456789017", []string{"card:8100123456789017"}},
		{"rupay 82", "8200 1234 5678 9016", []string{"card:8200 1234 5678 9016"}},
		{"rupay 508", "5081 2345 6789 0120", []string{"card:5081 2345 6789 0120"}},
		{"uatp", "122000000000003", []string{"card:122000000000003"}},
		{"uatp 4-5-6", "1220 00000 000003", []string{"card:1220 00000 000003"}},
		{"verve 16", "5060991234567895", []string{"card:5060991234567895"}},
		{"verve 18", "506099123456789013", []string{"card:506099123456789013"}},
		{"verve 650002", "6500021234567897", []string{"card:6500021234567897"}},
		{"troy", "9792 1234 5678 9018", []string{"card:9792 1234 5678 9018"}},
		{"troy compact", "9792000000000003", []string{"card:9792000000000003"}},

		{"uatp 16 digits", "1220000000000006", nil},
		{"uatp 4-4-4-3", "1220 0000 0000 003", nil},
		{"ms timestamp 13", "1700000000004", nil},
		{"us timestamp 16", "1700000000000001", nil},
		{"mir 13", "2200123456780", nil},
		{"troy 19", "9792123456789012344", nil},
		{"9 outside troy", "9791123456789017", nil},
		{"rupay 81 19", "8100123456789012349", nil},
		{"starts with 7", "7000000000000007", nil},
		{"starts with 0", "0000000000000000", nil},
		{"maestro 12 without a card word", "501812345673", nil},
		{"isbn-13", "9780306406157 978-0-306-40615-7", nil},
		{"order id", "order 1234567812345678", nil},
		{"grouped reference", "ref 1234 5678 1234 5678", nil},
		{"ms timestamps in a list", "ts=1700000000004,1716239022005", nil},
		{"digits only trace id", "trace 12345678901234567890123456789012", nil},
		{"phone", "+1 415 555 2671 / 415-555-2671", []string{"phone:+1 415 555 2671", "phone:415-555-2671"}},
	})
}

func TestCardGroupings(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"double spaces", "pay 4111  1111  1111  1111 now", []string{"card:4111  1111  1111  1111"}},
		{"double dashes", "4111--1111--1111--1111", []string{"card:4111--1111--1111--1111"}},
		{"spaced dash", "4111 - 1111 - 1111 - 1111", []string{"card:4111 - 1111 - 1111 - 1111"}},
		{"19 in 4-4-4-4-3", "6221 2612 3456 7890 129", []string{"card:6221 2612 3456 7890 129"}},
		{"19 in 4-4-4-7", "6221-2612-3456-7890129", []string{"card:6221-2612-3456-7890129"}},
		{"19 in 6-13", "622126 1234567890129", []string{"card:622126 1234567890129"}},
		{"diners 4-6-4", "3056 930902 5904", []string{"card:3056 930902 5904"}},
		{"amex 4-6-5 double spaces", "3782  822463  10005", []string{"card:3782  822463  10005"}},
		{"visa 13 in 4-4-5", "4222 2222 22222", []string{"card:4222 2222 22222"}},
		{"visa 13 in 4-4-4-1", "4000 0000 0000 6", []string{"card:4000 0000 0000 6"}},
		{"maestro 13 in 4-4-4-1", "6799 9999 9999 9", []string{"card:6799 9999 9999 9"}},
		{"escape before", "q=%204111111111111111&x=%404111111111111111", []string{"card:4111111111111111", "card:4111111111111111"}},

		{"mixed separator widths", "4111  1111 1111 1111", nil},
		{"mixed separator kinds", "4111--1111  1111--1111", nil},
		{"dash space", "4111- 1111- 1111- 1111", nil},
		{"triple spaces", "4111   1111   1111   1111", nil},
		{"dots", "4111.1111.1111.1111", nil},
		{"4-6-5 outside amex and diners", "6011 111111 11117", nil},
		{"4-5-6 outside uatp", "6011 11111 1111117", nil},
		{"4-4-5 outside visa", "6799 9999 99999", nil},
		{"6-13 outside 6", "411111 1111111111102", nil},
		{"5-14", "62212 61234567890129", nil},
		{"longer dashed run", "4111--1111--1111--1111--2222 4111 - 1111 - 1111 - 1111 - 2222", nil},
		{"expiry after a spaced dash", "4111 1111 1111 1111 - 12/29", []string{"card:4111 1111 1111 1111"}},
		{"escape alone", "%20 %2C %2C1", nil},
		{"after a hex escape", "cards=4111111111111111%2C5555555555554444", []string{"card:4111111111111111", "card:5555555555554444"}},
	})
}

// Step-counter report lines: 13 digits in 4-6-3 groups with a Maestro prefix that happen
// to pass Luhn. Only a card word makes them cards.
var stepCounterLines = []string{
	"onStandStepChanged 6012 201604 138",
	"onStandStepChanged steps=5018 201604 136 total",
	"StepCounter: 6304 201604 139 since boot",
	"onStandStepChanged 6012 201604 138 6304 201604 139",
}

func TestCardContext(t *testing.T) {
	for _, line := range stepCounterLines {
		assert.Empty(t, found(allScanner, line), line)
		assert.Equal(t, []string{"card:6012 201604 138"}, found(allScanner, "card 6012 201604 138"))
	}
	runDetectCases(t, []detectCase{
		{"card word", "card 6012 201604 138", []string{"card:6012 201604 138"}},
		{"card number key", `{"cardNumber":"5018 201604 136"}`, []string{"card:5018 201604 136"}},
		{"card_no", "card_no=6304-201604-139", []string{"card:6304-201604-139"}},
		{"cc", "cc: 6012 201604 138", []string{"card:6012 201604 138"}},
		{"camel cc", "ccNumber=6012 201604 138", []string{"card:6012 201604 138"}},
		{"PAN", "PAN 6012 201604 138", []string{"card:6012 201604 138"}},
		{"visa 4-5-4", "Visa ending 4222 22222 2222", []string{"card:4222 22222 2222"}},
		{"4-5-4 without a card word", "ref 4222 22222 2222", nil},
		{"debit", "debit 6012 201604 138", []string{"card:6012 201604 138"}},
		{"carte bancaire", "CB 6012 201604 138", []string{"card:6012 201604 138"}},
		{"tarjeta", "tarjeta de crédito: 6012 201604 138", []string{"card:6012 201604 138"}},
		{"karte", "Karte 6012 201604 138", []string{"card:6012 201604 138"}},
		{"credit card number", "credit card number: 6012 201604 138", []string{"card:6012 201604 138"}},
		{"maestro 12 after card word", "card 501812345673", []string{"card:501812345673"}},
		{"maestro 12 grouped", "card 5018 1234 5673", []string{"card:5018 1234 5673"}},

		{"word too far", "card was declined by the issuer, steps 6012 201604 138", nil},
		{"word before another number", "card 1 steps 6012 201604 138", nil},
		{"word inside a longer word", "discard 6012 201604 138 scan 6012 201604 138", nil},
		{"span is not pan", "span 6012 201604 138", nil},
		{"context does not pass Luhn", "card 6012 201604 137", nil},
		{"context does not make an issuer", "card 7012 201604 138", nil},
		{"window cut through a word", "cardinal_direction_for_this_one_ 6012 201604 138", nil},
	})
}

func TestCardIssuerTable(t *testing.T) {
	for _, tc := range []struct {
		iin6    int
		lengths []int
	}{
		{411111, []int{13, 16, 19}},
		{510510, []int{16}},
		{222100, []int{16}},
		{272099, []int{16}},
		{272100, nil},
		{220000, []int{16, 17, 18, 19}},
		{220499, []int{16, 17, 18, 19}},
		{220500, nil},
		{340000, []int{15}},
		{370000, []int{15}},
		{352800, []int{16, 17, 18, 19}},
		{358999, []int{16, 17, 18, 19}},
		{300000, []int{14, 15, 16, 17, 18, 19}},
		{309500, []int{14, 15, 16, 17, 18, 19}},
		{309600, nil},
		{500000, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{508000, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{506099, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{600000, []int{12, 13, 14, 15, 16, 17, 18, 19}},
		{810000, []int{16}},
		{829999, []int{16}},
		{830000, nil},
		{122000, []int{15}},
		{979200, []int{16}},
		{979300, nil},
		{700000, nil},
	} {
		var got []int
		for n := 12; n <= 19; n++ {
			if cardIssuer(tc.iin6, n) {
				got = append(got, n)
			}
		}
		assert.Equal(t, tc.lengths, got, "%d", tc.iin6)
	}
}

// plantedNotations are the notations of card.go, ssn.go, iban.go and email.go that must be
// found whatever surrounds them, given a space on each side; the finding covers v[from:].
var plantedNotations = []struct {
	v    string
	t    Type
	from int
}{
	{v: "4111  1111  1111  1111", t: Card},
	{v: "4111--1111--1111--1111", t: Card},
	{v: "6221 2612 3456 7890 129", t: Card},
	{v: "622126 1234567890129", t: Card},
	{v: "1220 00000 000003", t: Card},
	{v: "9792 1234 5678 9018", t: Card},
	{v: "8100123456789017", t: Card},
	{v: "card 6012 201604 138", t: Card, from: len("card ")},
	{v: "card 501812345673", t: Card, from: len("card ")},
	{v: "ssn 078051120", t: SSN, from: len("ssn ")},
	{v: "SSN: 078.05.1120", t: SSN, from: len("SSN: ")},
	{v: "DE89-3704-0044-0532-0130-00", t: IBAN},
	{v: "GB82.WEST.1234.5698.7654.32", t: IBAN},
	{v: "jane@bücher.example", t: Email},
	{v: "user@xn--bcher-kva.example", t: Email},
	{v: "user@[192.0.2.1]", t: Email},
	{v: "user@[IPv6:2001:db8::1]", t: Email},
}

// TestNotationsDoNotAllocate: context look-back, doubled separators, address literals and
// internationalised domains cost no allocation, found or not.
func TestNotationsDoNotAllocate(t *testing.T) {
	skipUnderRace(t)
	values := append([]string{"ref 4222 22222 2222", "9780306406157", "078051120", "078.05.1120",
		"git@github.com:org/repo.git", "@types/node@20.11.5", "jane@example.comです"}, stepCounterLines...)
	for _, p := range plantedNotations {
		values = append(values, p.v)
	}
	dst := make([]Match, 0, 8)
	for _, v := range values {
		allocs := testing.AllocsPerRun(100, func() { allScanner.Scan(v, dst[:0]) })
		assert.Zero(t, allocs, "%q", v)
	}
}

func FuzzPlantedNotations(f *testing.F) {
	for i, line := range stepCounterLines {
		f.Add(line, "", uint8(i))
	}
	f.Add("%20", "%40", uint8(0))
	f.Add("card", "- 2222", uint8(7))
	f.Add("4111", "1111", uint8(1))
	f.Add("ssn", "-1", uint8(9))
	f.Add("x.", ".32", uint8(12))
	f.Add("\xe3\x81", "\xe3", uint8(13))
	f.Add("git", ":org/repo", uint8(14))
	f.Add("[", "]", uint8(15))
	f.Fuzz(func(t *testing.T, a, b string, which uint8) {
		p := plantedNotations[int(which)%len(plantedNotations)]
		v := a + " " + p.v + " " + b
		if len(v) > fuzzScanner.maxScan {
			return
		}
		ms, _ := fuzzScanner.Scan(v, nil)
		checkMatches(t, v, ms, fuzzScanner)
		start := len(a) + 1
		if covering(ms, Match{Start: start + p.from, End: start + len(p.v)}) == nil {
			t.Fatalf("planted %s %q not covered in %q: %v", p.t, p.v, v, ms)
		}
		// Without its card word, a step counter's line is clean.
		for _, line := range stepCounterLines {
			if ms, _ := allScanner.Scan(line+" "+b, nil); len(ms) > 0 && ms[0].Start < len(line) {
				t.Fatalf("%q found in %q", v[ms[0].Start:ms[0].End], line+" "+b)
			}
		}
	})
}
