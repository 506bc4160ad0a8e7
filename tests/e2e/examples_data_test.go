//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var defaultDirRE = regexp.MustCompile(`\$\{env:[A-Z0-9_]+:-(\./data[^}]*)\}`)

// TestExamplesKeepTheirDataApart: an example run from the repository root writes under
// ./data/<example>, never into the default configuration's ./data (its outputs and its
// ledger), and its file exporters do not empty their files at start (append or rotation).
func TestExamplesKeepTheirDataApart(t *testing.T) {
	configs, err := filepath.Glob(filepath.Join(root, "examples", "*", "config*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, configs)
	for _, path := range configs {
		example := filepath.Base(filepath.Dir(path))
		rel, _ := filepath.Rel(root, path)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, m := range defaultDirRE.FindAllStringSubmatch(string(raw), -1) {
			dir := m[1]
			assert.True(t, dir == "./data/"+example || strings.HasPrefix(dir, "./data/"+example+"/"),
				"%s: default %q is not under ./data/%s", rel, dir, example)
		}
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc), rel)
		exporters, _ := doc["exporters"].(map[string]any)
		for id, cfg := range exporters {
			if id == "file" || strings.HasPrefix(id, "file/") {
				c, _ := cfg.(map[string]any)
				_, rotated := c["rotation"]
				assert.True(t, c["append"] == true || rotated, "%s: exporter %s empties its file at every start", rel, id)
			}
		}
	}
}
