package semconv

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// FuzzLoad reads arbitrary model files: attributes or an error, never a panic.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("../testdata/*registry/*.yaml")
	require.NoError(f, err)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Load(fstest.MapFS{"model.yaml": {Data: data}})
		if err != nil {
			return
		}
		for _, a := range r.Attributes {
			require.NotEmpty(t, a.Key)
			require.NotEmpty(t, a.Type)
			_, err := r.MarshalCompact()
			require.NoError(t, err)
		}
	})
}
