package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelwarden/warden/internal/walk"
)

// fuzzConfig has a check of every kind, the registries and renaming.
var fuzzConfig = Config{
	Rules: []Rule{
		{Keys: []string{"service.name"}, Levels: []string{"span"}, Required: true},
		{Keys: []string{"*password*"}, Forbidden: true},
		{Keys: []string{"url.path"}, MaxLength: 16},
		{Keys: []string{"code"}, Type: TypeInt, AllowedValues: []any{200, 404}, Action: ActionDropRecord},
		{Keys: []string{"k*"}, Type: TypeString, Action: ActionTag},
		{Levels: []string{"span"}, MaxAttributes: 6, MaxLength: 32},
	},
	Semconv: SemconvConfig{Embedded: true, RegistryDir: "testdata/registry"},
	Actions: ActionsConfig{Deprecated: ActionRename},
}

// fuzzKeys are keys the checks care about; the fuzzer also makes its own.
var fuzzKeys = []string{
	"service.name", "user.password", "url.path", "code", "k1", "kx", "http.request.method",
	"http.request.method_original", "http.response.status_code", "cpu.mode", "acme.customer.segment",
	"acme.customer.tier", "acme.tenant.tier", "http.request.header.accept", "process.command_args", TagKey,
}

// fuzzMap builds an attribute map from bytes: each entry takes a key (one of fuzzKeys or
// bytes of data) and a value of a type the data chooses.
func fuzzMap(data []byte) pcommon.Map {
	m := pcommon.NewMap()
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	str := func() string {
		n := min(int(next()), len(data))
		s := string(data[:n])
		data = data[n:]
		return s
	}
	for len(data) > 0 && m.Len() < 40 {
		var key string
		if k := next(); int(k) < len(fuzzKeys)*8 {
			key = fuzzKeys[int(k)%len(fuzzKeys)]
		} else {
			key = str()
		}
		v := m.PutEmpty(key)
		switch next() % 8 {
		case 0:
			v.SetInt(int64(next()) * 101)
		case 1:
			v.SetDouble(float64(next()) / 3)
		case 2:
			v.SetBool(next()%2 == 0)
		case 3:
			v.SetEmptyBytes().FromRaw([]byte(str()))
		case 4:
			s := v.SetEmptySlice()
			for range next() % 4 {
				if next()%2 == 0 {
					s.AppendEmpty().SetStr(str())
				} else {
					s.AppendEmpty().SetInt(int64(next()))
				}
			}
		case 5:
			v.SetEmptyMap().PutStr(str(), str())
		default:
			v.SetStr(str())
		}
	}
	return m
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x05hello\x03\x06\x0a/api/v1/orders/1234567890\x02\x01\x00"))
	f.Add([]byte("\x06\x00\x04PURG\x08\x00\x06kernel\x0a\x00\x03abc\x0f\x04\x02\x00\x01a"))
	f.Add([]byte(strings.Repeat("\xff\x00\x05é€🦊x", 12)))
	enforce := mustCompile(f, fuzzConfig)
	report := mustCompile(f, fuzzConfig, ReportOnly(true))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, level := range []walk.Level{walk.LevelSpan, walk.LevelLogRecord} {
			m := fuzzMap(data)
			before := fuzzMap(data)
			var rv Verdict
			report.Check(level, m, &rv)
			require.True(t, before.Equal(m), "report mode changed the map")
			require.False(t, rv.Drop)

			var v Verdict
			enforce.Check(level, m, &v)
			require.Equal(t, rv.counts, v.counts, "report and enforce count alike")
			if v.Drop {
				require.True(t, before.Equal(m), "a dropped record's map is left as it is")
				continue
			}
			tagLen := 0
			if tv, ok := before.Get(TagKey); ok && tv.Type() == pcommon.ValueTypeSlice {
				tagLen = tv.Slice().Len()
			}
			n := 0
			for k, val := range m.All() {
				if k == TagKey {
					if val.Type() == pcommon.ValueTypeSlice {
						require.LessOrEqual(t, val.Slice().Len(), max(MaxTagEntries, tagLen))
					}
					continue
				}
				n++
				require.NotContains(t, k, "password")
				if k == "url.path" && val.Type() == pcommon.ValueTypeStr {
					require.LessOrEqual(t, len(val.Str()), 16)
				}
			}
			if level == walk.LevelSpan {
				require.LessOrEqual(t, n, 6)
			}
		}
	})
}

// FuzzRuleFile compiles arbitrary rule files: an error or a Checker, never a panic.
func FuzzRuleFile(f *testing.F) {
	for _, name := range []string{"rules.yaml", "bad_rules.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("rules:\n  - keys: [\"*\"]\n    max_length: 16\n  - levels: [span]\n    max_attributes: 1\n"))
	f.Add([]byte("rules:\n  - keys: [a]\n    allowed_values: [1, 2.5, true, x, {a: b}, [1]]\n"))
	dir := f.TempDir()
	m := fuzzMap([]byte("\x00\x00\x05hello\x03\x06\x0a/api/v1/orders/1234567890\x11\x00\x02ab"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "rules.yaml")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		c, err := Compile(Config{Files: []string{path}})
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		for l := range walk.Level(numLevels) {
			var v Verdict
			attrs := pcommon.NewMap()
			m.CopyTo(attrs)
			c.Check(l, attrs, &v)
		}
	})
}
