package confkeys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

type action struct {
	Action string `mapstructure:"action"`
}

type phone struct {
	action  `mapstructure:",squash"`
	Regions []string `mapstructure:"regions"`
}

type custom struct {
	Name   string `mapstructure:"name"`
	Regexp string `mapstructure:"regexp"`
}

type testConfig struct {
	Detectors struct {
		Phone phone  `mapstructure:"phone"`
		Email action `mapstructure:"email"`
	} `mapstructure:"detectors"`
	Custom   []custom          `mapstructure:"custom"`
	Metrics  map[string]action `mapstructure:"metrics"`
	Labels   map[string]string `mapstructure:"labels"`
	Ledger   *component.ID     `mapstructure:"ledger"`
	Interval time.Duration     `mapstructure:"interval"`
}

func TestKnownKeysPass(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"detectors": map[string]any{"phone": map[string]any{"action": "mask", "regions": []any{"US"}}},
		"custom":    []any{map[string]any{"name": "x", "regexp": "y"}},
		"metrics":   map[string]any{"any.metric.name": map[string]any{"action": "drop"}},
		"labels":    map[string]any{"anything": "goes"},
		"ledger":    "audit_ledger",
		"interval":  "10s",
	})
	require.NoError(t, Check(conf, &testConfig{}))
	require.NoError(t, Check(nil, &testConfig{}))
}

func TestUnknownKeysAreNamedWithTheNearestValidOne(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"detector":  map[string]any{},
		"detectors": map[string]any{"phone": map[string]any{"regoins": []any{"US"}}, "emial": map[string]any{}},
		"custom":    []any{map[string]any{"name": "x", "regex": "y"}},
		"metrics":   map[string]any{"m": map[string]any{"actoin": "drop"}},
		"zzzzzzzz":  1,
	})
	err := Check(conf, &testConfig{})
	require.Error(t, err)
	for _, want := range []string{
		`unknown key "detector" (did you mean "detectors"?)`,
		`detectors.phone: unknown key "regoins" (did you mean "regions"?)`,
		`detectors: unknown key "emial" (did you mean "email"?)`,
		`custom[0]: unknown key "regex" (did you mean "regexp"?)`,
		`metrics.m: unknown key "actoin" (did you mean "action"?)`,
		`unknown key "zzzzzzzz" (valid keys: custom, detectors, interval, labels, ledger, metrics)`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "testConfig", "the Go type is not named")
}

func TestDistance(t *testing.T) {
	assert.Equal(t, 0, distance("a", "a"))
	assert.Equal(t, 1, distance("detector", "detectors"))
	assert.Equal(t, 2, distance("regoins", "regions"))
	assert.Equal(t, 3, distance("", "abc"))
}
