//go:build e2e

package e2e

// Phone numbers in the notations telemetry carries, for the default configuration (national
// numbers read as North American ones), and look-alikes that must pass.
func init() {
	plantedPII = append(plantedPII,
		plantedValue{kind: "phone", value: "(+45) 32 10 45 67", digits: true},
		plantedValue{kind: "phone", value: "+44 (0)161 496 0123", digits: true},
		plantedValue{kind: "phone", value: "+49 171/2345678", digits: true},
		plantedValue{kind: "phone", value: "+86 10 8123-4567", digits: true},
		plantedValue{kind: "phone", value: "+33 6 12 34 56 78", digits: true},
		plantedValue{kind: "phone", value: "+81 90-1234-5678", digits: true},
		plantedValue{kind: "phone", value: "+55 11 98765-4321", digits: true},
		plantedValue{kind: "phone", value: "0044 20 7946 0958", digits: true},
		plantedValue{kind: "phone", value: "reach me on tel+4532104567", secrets: []string{"+4532104567"}, digits: true},
		plantedValue{kind: "phone", value: "call415-555-0199 asap", secrets: []string{"415-555-0199"}, digits: true},
		plantedValue{kind: "phone", value: "212.555.0187x42", digits: true},
		plantedValue{kind: "phone", value: "+1 212 555 0187 ext. 12", digits: true},
		plantedValue{kind: "phone", value: "desk (212) 555-0142 #31", secrets: []string{"(212) 555-0142 #31"}, digits: true},
		plantedValue{kind: "phone", value: "phone: 4155550172", secrets: []string{"4155550172"}, digits: true},
		plantedValue{kind: "phone", value: "Handy +49 1512 3456789", secrets: []string{"+49 1512 3456789"}, digits: true},
	)
	cleanValues = append(cleanValues,
		"took 13912345678 ns",
		"due 2026-12-01",
		"Datum 01.12.2026",
		"on 12/01/2026",
		"+1 123 456 7890",
		"+44 1234",
		"+49 0000 000",
		"ref 555-1234-56",
		"020 7946 0958",
		"080-2345-6789",
		"1 299,00 EUR",
		"ISBN 978-3-16-148410-0",
		"52.520008, 13.404954",
		"blk_-1608999687919862906",
		"listening on :8080",
		"rpc took 00:00:01.250",
		"sequence 1700000000123",
	)
}
