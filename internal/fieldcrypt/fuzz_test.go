package fieldcrypt

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fixedKeyring is a keyring whose keys never change, so that an input the fuzzer saves
// reproduces: a default key, a retired one, a tenant key and a shredded one.
func fixedKeyring(t testing.TB) *Keyring {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring.json")
	const file = `{"format":"warden-keyring","version":1,"keys":[
		{"id":"k-000001","state":"retired","created":"2025-01-01T00:00:00Z","retired":"2025-02-01T00:00:00Z","material":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="},
		{"id":"k-000002","state":"active","created":"2025-02-01T00:00:00Z","material":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="},
		{"id":"acme-000003","tenant":"acme","state":"active","created":"2025-02-01T00:00:00Z","material":"AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="},
		{"id":"gone-000004","tenant":"gone","state":"shredded","created":"2025-02-01T00:00:00Z","shredded":"2025-03-01T00:00:00Z"}]}`
	require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
	kr, err := Load(path)
	require.NoError(t, err)
	return kr
}

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/values.txt")

// goldenValues are the values of testdata/values.txt, encrypted under fixedKeyring once and
// kept: values written by this version must keep decrypting. Each line is the field, the
// value's text and the OTLP JSON of what it decrypts to, separated by tabs.
func goldenValues(t testing.TB) (fields, values, want []string) {
	t.Helper()
	path := filepath.Join("testdata", "values.txt")
	if *updateGolden {
		writeGoldenValues(t, path)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.Split(line, "\t")
		require.Len(t, parts, 3, line)
		fields, values, want = append(fields, parts[0]), append(values, parts[1]), append(want, parts[2])
	}
	return fields, values, want
}

func writeGoldenValues(t testing.TB, path string) {
	enc, err := NewEncryptor(fixedKeyring(t), CacheConfig{MaxAge: time.Hour})
	require.NoError(t, err)
	defer enc.Close()
	acme := mustContext(t, map[string]string{"tenant.id": "acme", "service.name": "checkout"})
	var b strings.Builder
	for _, c := range valueCases() {
		if c.v.Type() == pcommon.ValueTypeStr && len(c.v.Str()) > 1000 {
			continue
		}
		for _, k := range []struct {
			keyID string
			ec    Context
		}{{"k-000002", Context{}}, {"acme-000003", acme}} {
			field := "body.card." + strings.ReplaceAll(c.name, " ", "_")
			s, err := enc.Encrypt(context.Background(), field, k.ec, k.keyID, c.v)
			require.NoError(t, err)
			j, err := anyValueJSON(c.v)
			require.NoError(t, err)
			fmt.Fprintf(&b, "%s\t%s\t%s\n", field, s, j)
		}
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
}

// Values written before decrypt to what they were, under their field only.
func TestGoldenValues(t *testing.T) {
	dec, err := NewDecryptor(fixedKeyring(t), DecryptorConfig{})
	require.NoError(t, err)
	fields, values, want := goldenValues(t)
	require.NotEmpty(t, values)
	for i, s := range values {
		v, err := dec.Decrypt(context.Background(), fields[i], s)
		require.NoError(t, err, fields[i])
		j, err := anyValueJSON(v)
		require.NoError(t, err)
		require.JSONEq(t, want[i], string(j), fields[i])
		_, err = dec.Decrypt(context.Background(), fields[i]+".other", s)
		require.ErrorIs(t, err, ErrTampered)
	}
}

// FuzzDecrypt: no string panics the decryptor, and only the values that were encrypted
// decrypt, each only under its own field.
func FuzzDecrypt(f *testing.F) {
	fields, values, _ := goldenValues(f)
	authentic := map[string]string{} // value → field
	for i, s := range values {
		authentic[s] = fields[i]
		f.Add(fields[i], s)
		f.Add("password", s)
	}
	f.Add("password", Prefix+"k-000001:"+strings.Repeat("A", 120))
	f.Add("password", Prefix+"gone-000004:"+strings.Repeat("A", 120))
	f.Add("", "")
	f.Add("password", "wenc:v1:")

	dec, err := NewDecryptor(fixedKeyring(f), DecryptorConfig{})
	require.NoError(f, err)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, field, s string) {
		v, err := dec.Decrypt(ctx, field, s)
		if err != nil {
			return
		}
		want, ok := authentic[s]
		if !ok || want != field {
			t.Fatalf("decrypted a value that was not encrypted for field %q: %q (%s)", field, s, v.Type())
		}
		if !IsCiphertext(s) {
			t.Fatalf("decrypted %q, which IsCiphertext does not recognise", s)
		}
	})
}

// FuzzParse: Parse never panics, and what it accepts is recognised by IsCiphertext and
// carries a valid context.
func FuzzParse(f *testing.F) {
	_, values, _ := goldenValues(f)
	for _, s := range values {
		f.Add(s)
	}
	f.Add(Prefix + "k:" + strings.Repeat("_", 60))
	f.Fuzz(func(t *testing.T, s string) {
		env, err := Parse(s)
		if err != nil {
			return
		}
		if !IsCiphertext(s) {
			t.Fatalf("parsed %q, which IsCiphertext does not recognise", s)
		}
		if _, err := NewContext(env.Context.Map()); err != nil {
			t.Fatalf("parsed a context NewContext refuses: %v", err)
		}
	})
}
