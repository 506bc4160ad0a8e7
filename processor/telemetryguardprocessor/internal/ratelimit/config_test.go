package ratelimit

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func loadConfig(t *testing.T, name string) (Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(name)
	require.NoError(t, err)
	cfg := DefaultConfig()
	if err := sub.Unmarshal(&cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestConfigEmptyLimitsNothing(t *testing.T) {
	cfg, err := loadConfig(t, "empty")
	require.NoError(t, err)
	assert.Equal(t, DefaultConfig(), cfg)
	assert.False(t, cfg.Enabled())
}

func TestConfigMetadata(t *testing.T) {
	cfg, err := loadConfig(t, "metadata")
	require.NoError(t, err)
	assert.Equal(t, Config{
		Mode:   ModeReport,
		Source: SourceConfig{MetadataKey: "X-Tenant-ID"},
		Limits: Limits{RecordsPerSecond: 5000, RecordsBurst: 10000, BytesPerSecond: 5 << 20, BytesBurst: 10 << 20},
		Overrides: []Override{
			{Source: "tenant-big", Limits: Limits{RecordsPerSecond: 50000, RecordsBurst: 100000}},
			{Source: "canary", Unlimited: true},
		},
		MaxSources: 2000,
		OnLimit:    OnLimitDrop,
	}, cfg)
	assert.True(t, cfg.Enabled())
}

func TestConfigResource(t *testing.T) {
	cfg, err := loadConfig(t, "resource")
	require.NoError(t, err)
	want := DefaultConfig()
	want.Source = SourceConfig{ResourceAttribute: "service.name"}
	want.Limits = Limits{RecordsPerSecond: 1000, RecordsBurst: 2000}
	assert.Equal(t, want, cfg)
}

func TestConfigInvalidReportsEverything(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("invalid")
	require.NoError(t, err)
	// Unknown enum values are refused while reading; Validate catches them in a Config built
	// in code, so read this one leniently.
	raw := sub.ToStringMap()
	cfg := DefaultConfig()
	delete(raw, "mode")
	delete(raw, "on_limit")
	require.NoError(t, confmapFrom(raw).Unmarshal(&cfg))
	cfg.Mode, cfg.OnLimit = "watch", "block"

	err = cfg.Validate()
	require.Error(t, err)
	wants := []string{
		`mode: unknown mode "watch" (want enforce, report or disabled)`,
		`on_limit: unknown on_limit "block" (want refuse or drop)`,
		"limits.records_per_second: must be a positive number, or 0 for no limit; got -1",
		"limits.bytes_burst: must be positive, got -5",
		"overrides[0].source: required",
		"overrides[0].limits.records_burst: must be positive, got -3",
		"overrides[1].limits: set with unlimited: true",
		"overrides[2].source: the same source as overrides[1]",
		"overrides[2].limits: required: the limits that differ from the default, or unlimited: true",
		"overrides[3].limits.records_burst: required with records_per_second",
		"source: set either metadata_key or resource_attribute, not both",
		"max_sources: must be at least 1",
	}
	for _, want := range wants {
		assert.ErrorContains(t, err, want)
	}
	assert.Len(t, strings.Split(err.Error(), "\n"), len(wants), "one line per problem:\n%v", err)
}

func TestConfigReadRejectsUnknownEnums(t *testing.T) {
	for name, yaml := range map[string]map[string]any{
		`unknown mode "watch"`:      {"mode": "watch"},
		`unknown on_limit "block"`:  {"on_limit": "block"},
		`unknown on_limit "Refuse"`: {"on_limit": "Refuse"},
		`unknown mode "enforcing"`:  {"mode": "enforcing"},
	} {
		cfg := DefaultConfig()
		assert.ErrorContains(t, confmapFrom(yaml).Unmarshal(&cfg), name)
	}
}

func TestConfigNeedsSourceAndBurst(t *testing.T) {
	_, err := loadConfig(t, "no_source")
	assert.ErrorContains(t, err, "source: required with limits: metadata_key (client metadata such as x-tenant-id; the receiver needs include_metadata: true) or resource_attribute")
	_, err = loadConfig(t, "no_burst")
	assert.EqualError(t, err, "limits.records_burst: required with records_per_second: the most records admitted at once, at least the largest batch (e.g. 2000, two seconds' worth)")
}

func TestConfigTypoKey(t *testing.T) {
	_, err := loadConfig(t, "typo")
	assert.ErrorContains(t, err, "record_burst")
}

func TestConfigValidateCases(t *testing.T) {
	valid := func(mutate func(*Config)) Config {
		cfg := DefaultConfig()
		cfg.Source.ResourceAttribute = "service.name"
		cfg.Limits = Limits{RecordsPerSecond: 10, RecordsBurst: 20}
		mutate(&cfg)
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{name: "valid", cfg: valid(func(*Config) {})},
		{name: "overrides only", cfg: valid(func(c *Config) {
			c.Limits = Limits{}
			c.Overrides = []Override{{Source: "noisy", Limits: Limits{BytesPerSecond: 1, BytesBurst: 1}}}
		})},
		{name: "override inherits a burst", cfg: valid(func(c *Config) {
			c.Overrides = []Override{{Source: "big", Limits: Limits{RecordsPerSecond: 1000}}}
		})},
		{name: "only unlimited overrides limit nothing", cfg: valid(func(c *Config) {
			c.Limits, c.Source, c.MaxSources = Limits{}, SourceConfig{}, 0
			c.Overrides = []Override{{Source: "a", Unlimited: true}}
		})},
		{name: "burst without rate", cfg: valid(func(c *Config) {
			c.Overrides = []Override{{Source: "a", Limits: Limits{BytesBurst: 10}}}
		}), want: "overrides[0].limits.bytes_burst: set without bytes_per_second"},
		{name: "NaN rate", cfg: valid(func(c *Config) { c.Limits.BytesPerSecond = nan() }), want: "limits.bytes_per_second: must be a positive number"},
		{name: "blank attribute", cfg: valid(func(c *Config) { c.Source.ResourceAttribute = "  " }), want: "source.resource_attribute: blank"},
		{name: "bad metadata key", cfg: valid(func(c *Config) { c.Source = SourceConfig{MetadataKey: "x tenant"} }), want: `source.metadata_key: "x tenant" is not a header`},
		{name: "zero mode", cfg: valid(func(c *Config) { c.Mode = "" }), want: `mode: unknown mode ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			_, newErr := New(tc.cfg)
			require.EqualError(t, newErr, err.Error(), "New validates")
		})
	}
}
