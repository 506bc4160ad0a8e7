// Package ledger defines Warden's tamper-evident audit ledger format and the code that both
// writes it (the audit_ledger extension) and checks it (wardenctl audit verify):
//
//   - Entry: one audit event with its stream, gap-free sequence number, record id and the
//     SHA-256 hash of its canonical encoding chained to the previous entry's hash;
//   - Checkpoint: a signed (Ed25519, or ECDSA P-256 as AWS KMS signs) statement that a stream's
//     entries 1..seq end in a given hash, chained to the previous checkpoint;
//   - key announcements: the start entry of every run names the signing key's public key, and
//     a rotation entry hands the stream over to a new key under the previous key's signature;
//   - the file journal (append-only JSON lines in segments, committed all or nothing and checked
//     whole at open) and the PostgreSQL table;
//   - Verifier, which recomputes every hash from the stored lines or rows, requires each line in
//     its one stored form, lets trust flow only from the keys it is given or pinned, and names
//     the first broken link, gap, duplicate, fork or bad signature; it also compares a ledger
//     with an earlier verification (anchors), with witnesses, and a journal with its table.
//
// The canonical encoding is a fixed-order JSON object with empty fields omitted, sorted map
// keys and normalised numbers, so that it can be recomputed from a JSON line or from a
// database row alike. Hashes are domain-separated so an entry can never be passed off as a
// checkpoint or the other way round.
package ledger
