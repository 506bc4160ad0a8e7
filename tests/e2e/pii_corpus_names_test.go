//go:build e2e

package e2e

// Person names are found by their key and kept (counted) by the default config, so the corpus
// only gains look-alikes: values with names in them under ordinary keys, and key names as
// values, which must pass verbatim.
func init() {
	cleanValues = append(cleanValues,
		"Albert Einstein Hospital, ward 3",
		"Marie-Curie-Straße 12",
		"user.full_name",
		"customerName=unknown",
		"first_name last_name display_name",
	)
}
