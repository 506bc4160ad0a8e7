//go:build e2e

package e2e

// Cards of every issuer range and printed grouping, SSNs after their words, IBANs grouped
// with dashes and dots, and e-mails with internationalised domains and address literals;
// and the look-alikes that must pass: a step counter's report lines (13 Luhn-valid digits
// with a Maestro prefix in 4-6-3 groups), SSH logins, npm scopes, 9-digit ids.
func init() {
	plantedPII = append(plantedPII,
		plantedValue{kind: "card", value: "4111  1111  1111  1111", digits: true},
		plantedValue{kind: "card", value: "5105--1051--0510--5100", digits: true},
		plantedValue{kind: "card", value: "3782 - 822463 - 10005", digits: true},
		plantedValue{kind: "card", value: "6221 2612 3456 7890 129", digits: true},
		plantedValue{kind: "card", value: "620000 0000000000000", digits: true},
		plantedValue{kind: "card", value: "1220 00000 000003", digits: true},
		plantedValue{kind: "card", value: "9792 1234 5678 9018", digits: true},
		plantedValue{kind: "card", value: "8100123456789017", digits: true},
		plantedValue{kind: "card", value: "2200123456789019", digits: true},
		plantedValue{kind: "card", value: "5060991234567895", digits: true},
		plantedValue{kind: "card", value: "card 5018 201604 136", secrets: []string{"5018 201604 136"}, digits: true},
		plantedValue{kind: "card", value: "cc# 501812345673", secrets: []string{"501812345673"}, digits: true},

		plantedValue{kind: "ssn", value: "ssn 078051120", secrets: []string{"078051120"}},
		plantedValue{kind: "ssn", value: "SSN: 219.09.9999", secrets: []string{"219.09.9999"}},
		plantedValue{kind: "ssn", value: "social security number 536221234", secrets: []string{"536221234"}},

		plantedValue{kind: "iban", value: "DE89-3704-0044-0532-0130-00", secrets: []string{"DE89-3704-0044-0532-0130-00", "3704-0044-0532"}},
		plantedValue{kind: "iban", value: "GB82.WEST.1234.5698.7654.32", secrets: []string{"GB82.WEST.1234.5698.7654.32", "1234.5698.7654"}},

		plantedValue{kind: "email", value: "user@xn--bcher-kva.example"},
		plantedValue{kind: "email", value: "jane@bücher.example"},
		plantedValue{kind: "email", value: "ops@[192.0.2.1]"},
		plantedValue{kind: "email", value: "admin@[IPv6:2001:db8::7]"},
	)
	cleanValues = append(cleanValues,
		"onStandStepChanged 6012 201604 138",
		"StepCounter: 6304 201604 139 since boot",
		"ref 4222 22222 2222",
		"isbn 9780306406157",
		"account 123456789",
		"zip 94103-1234",
		"123.45.6789",
		"git@github.com:org/repo.git",
		"@Override",
		"npm i @types/node@20.11.5",
		"pkg@1.2.3",
	)
}
