package telemetryguardprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/cardinality"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/metadata"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/ratelimit"
	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		Cardinality: CardinalityConfig{
			Mode:   cardinality.ModeEnforce,
			Window: 5 * time.Minute,
			Series: cardinality.SeriesConfig{MaxPerMetric: 2000, OverLimit: cardinality.SeriesOverflow},
			Attributes: cardinality.AttributesConfig{
				MaxValues: 1000, OverLimit: cardinality.ValueReplace, OverflowValue: "_OTHER",
				Signals: []string{"metrics"},
			},
			Limits: cardinality.LimitsConfig{
				MaxSeries: 1_000_000, MaxValues: 1_000_000, MaxKeys: 200_000, WhenFull: cardinality.FullOverflow,
			},
			TopOffenders: 10,
		},
		Schema:          SchemaConfig{Mode: cardinality.ModeEnforce},
		Rate:            RateConfig{Mode: ratelimit.ModeEnforce, MaxSources: 10000, OnLimit: ratelimit.OnLimitRefuse},
		SummaryInterval: 10 * time.Second,
	}, cfg)
}

func TestConfigFull(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	ledger := component.MustNewID("audit_ledger")
	assert.Equal(t, &Config{
		Cardinality: CardinalityConfig{
			Mode:   cardinality.ModeReport,
			Window: 10 * time.Minute,
			Series: cardinality.SeriesConfig{MaxPerMetric: 500, OverLimit: cardinality.SeriesDrop},
			Attributes: cardinality.AttributesConfig{
				MaxValues: 200, OverLimit: cardinality.ValueRemoveKey, OverflowValue: "__overflow__",
				ExemptKeys: []string{"tenant.id", "k8s.pod.name"},
				Signals:    []string{"metrics", "traces", "logs"},
				Keys: map[string]cardinality.KeyConfig{
					"user.id":    {MaxValues: 50, OverLimit: cardinality.ValueReplace},
					"http.route": {MaxValues: 300},
				},
			},
			Metrics: map[string]cardinality.MetricConfig{
				"http.server.request.duration": {
					MaxSeries: 5000, OverLimit: cardinality.SeriesOverflow, ExemptKeys: []string{"http.route"},
					Keys: map[string]cardinality.KeyConfig{"user.id": {MaxValues: 10}},
				},
				"process.runtime.info": {Exempt: true},
			},
			Limits: cardinality.LimitsConfig{
				MaxSeries: 2_000_000, MaxValues: 500_000, MaxKeys: 50_000, WhenFull: cardinality.FullPass,
			},
			TopOffenders: 20,
		},
		Schema: SchemaConfig{Mode: cardinality.ModeReport, Checks: SchemaChecks{
			Rules: []schema.Rule{
				{Name: "service-identity", Keys: []string{"service.name"}, Levels: []string{"resource"}, Required: true, Action: schema.ActionDropRecord},
				{Keys: []string{"http.route"}, MaxLength: 64},
			},
			Files:   []string{"./rules/extra.yaml"},
			Semconv: schema.SemconvConfig{Embedded: true},
			Actions: schema.ActionsConfig{WrongType: schema.ActionTag},
		}},
		Rate: RateConfig{
			Mode:   ratelimit.ModeReport,
			Source: ratelimit.SourceConfig{MetadataKey: "x-api-key"},
			Limits: ratelimit.Limits{RecordsPerSecond: 1000, RecordsBurst: 2000, BytesPerSecond: 1_000_000, BytesBurst: 2_000_000},
			Overrides: []ratelimit.Override{
				{Source: "premium", Limits: ratelimit.Limits{RecordsPerSecond: 10000, RecordsBurst: 20000}},
				{Source: "internal", Unlimited: true},
			},
			MaxSources: 500,
			OnLimit:    ratelimit.OnLimitDrop,
		},
		Ledger:          &ledger,
		SummaryInterval: 30 * time.Second,
	}, cfg)
}

func TestConfigDisabled(t *testing.T) {
	cfg, err := loadConfig(t, "disabled")
	require.NoError(t, err)
	assert.Equal(t, cardinality.ModeDisabled, cfg.Cardinality.Mode)
}

func TestConfigInvalidReportsEverything(t *testing.T) {
	_, err := loadConfig(t, "invalid")
	require.Error(t, err)
	for _, want := range []string{
		"cardinality.window: must be at least 1s, got 10ms",
		"cardinality.series.max_per_metric: must be at least 1, got 0",
		"cardinality.attributes.max_values: must be at least 1, got -1",
		"cardinality.attributes.overflow_value: required",
		`cardinality.attributes.exempt_keys[1]: "a" is listed twice`,
		"cardinality.attributes.exempt_keys[2]: empty",
		`cardinality.attributes.signals[1]: unknown signal "profiles" (want metrics, traces or logs)`,
		`cardinality.attributes.signals[2]: "metrics" is listed twice`,
		"cardinality.attributes.keys[user.id].max_values: must be at least 1, or 0 for the default; got -5",
		"cardinality.metrics[m1].max_series: must be at least 1, or 0 for the default; got -1",
		"cardinality.metrics[m2]: exempt: true leaves the metric unlimited; remove its other settings",
		"cardinality.limits.max_series: must be at least 1, got 0",
		"cardinality.limits.max_values: must be at least 1, got 0",
		"cardinality.limits.max_keys: must be at least 1, got 0",
		"cardinality.top_offenders: must be 0 to 100, got 1000",
		"summary_interval: must be at least 1s, got 100ms",
		"schema.files[0]: empty path",
		`schema.semconv.levels: unknown level "nowhere"`,
		"rate.limits.records_per_second: must be a positive number, or 0 for no limit; got -1",
		"rate.limits.bytes_burst: required with bytes_per_second",
		`rate.source.metadata_key: "x api key" is not a header or metadata key`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigRefusals(t *testing.T) {
	_, err := loadConfig(t, "bad_mode")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown mode "observe" (want enforce, report or disabled)`)
	_, err = loadConfig(t, "bad_schema_mode")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown mode "strict" (want enforce, report or disabled)`)
	_, err = loadConfig(t, "bad_on_limit")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown on_limit "delay" (want refuse or drop)`)
	_, err = loadConfig(t, "bad_over_limit")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown over_limit "truncate" (want overflow or drop)`)
	_, err = loadConfig(t, "typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "seires")
}
