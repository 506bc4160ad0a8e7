// Package detect finds personal data and secrets in strings for the pii_redaction processor.
//
// A Scanner makes one pass over the bytes of a value. One table lookup per byte, keyed by the
// byte and whether it starts a word, finds the few bytes that can start a candidate (a digit,
// 'e' of "eyJ", 'b'/'B' of Bearer and Basic, an upper-case letter at a word start, '@', ':',
// '=', '-' at a word start); a check of a byte or two follows, and a candidate is reported
// only when its validator accepts it: Luhn plus issuer prefix and length for cards,
// area/group/serial rules for SSNs, mod 97 for IBANs, a JSON header with "alg" and a JSON
// payload for JWTs, and so on. Custom patterns are Go regexps, gated by the literals they
// require. All candidates are collected first and resolved once, so the result does not
// depend on the order in which detectors run.
//
// KeyMatcher tells sensitive attribute keys (user.password, http.request.header.authorization)
// from harmless ones (gen_ai.usage.input_tokens); with Options.Keys the Scanner also finds
// their values in text ("password=..."). ScrubURL applies the semantic-convention rules for
// URL attributes (userinfo, signature query parameters) on top of the Scanner.
//
// Nothing here allocates for a clean value, and nothing keeps a reference to a scanned string.
package detect
