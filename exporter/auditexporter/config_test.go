package auditexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtelemetry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
)

var queueOff = configoptional.None[exporterhelper.QueueBatchConfig]()

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaults := func(mutate func(*Config)) *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Ledger = component.MustNewID("audit_ledger")
		mutate(cfg)
		return cfg
	}

	tests := []struct {
		id string
		// want is the whole decoded configuration, compared before validation.
		want *Config
		// wantUnmarshalErr is a part of the decoding error, for configurations that do not decode.
		wantUnmarshalErr string
		// wantValidateErrs are parts of the validation error; none means valid.
		wantValidateErrs []string
	}{
		{
			id: "audit",
			want: defaults(func(c *Config) {
				c.destination = destination{keys: []string{"nop"}, key: "nop", typ: component.MustNewType("nop"), cfg: &struct{}{}}
			}),
		},
		{
			id: "audit/file",
			want: defaults(func(c *Config) {
				c.Ledger = component.MustNewIDWithName("audit_ledger", "main")
				c.TenantMetadataKey = "x-tenant"
				c.TenantAttribute = "tenant.id"
				c.TimeoutConfig.Timeout = 10 * time.Second
				q := defaultQueueConfig()
				q.QueueSize = 200
				q.Batch.Get().Partition.MetadataKeys = []string{"X-Tenant"}
				c.QueueConfig = configoptional.Some(q)
				c.RetryConfig.MaxElapsedTime = time.Minute
				fileCfg := fileexporter.NewFactory().CreateDefaultConfig().(*fileexporter.Config)
				fileCfg.Path = "./data/telemetry.jsonl"
				// The file exporter's own Unmarshal ran, as it does in a collector; then the
				// audit exporter made the file write through (append, as rotation does).
				fileCfg.Rotation = &fileexporter.Rotation{MaxMegabytes: neverRotateMegabytes}
				fileCfg.Append = false
				fileCfg.FlushInterval = time.Second
				c.destination = destination{keys: []string{"file"}, key: "file", typ: component.MustNewType("file"), cfg: fileCfg}
			}),
		},
		{
			id: "audit/file_rotated",
			want: defaults(func(c *Config) {
				fileCfg := fileexporter.NewFactory().CreateDefaultConfig().(*fileexporter.Config)
				fileCfg.Path = "./data/telemetry.jsonl"
				fileCfg.Rotation.MaxMegabytes = 10
				fileCfg.FlushInterval = time.Second
				c.destination = destination{keys: []string{"file"}, key: "file", typ: component.MustNewType("file"), cfg: fileCfg}
			}),
		},
		{
			id: "audit/unbatched_tenant",
			want: defaults(func(c *Config) {
				c.TenantMetadataKey = "x-tenant"
				q := defaultQueueConfig()
				q.Batch = configoptional.None[exporterhelper.BatchConfig]()
				c.QueueConfig = configoptional.Some(q)
				c.destination = destination{keys: []string{"nop"}, key: "nop", typ: component.MustNewType("nop"), cfg: &struct{}{}}
			}),
		},
		{
			id: "audit/otlp_grpc",
			want: defaults(func(c *Config) {
				o := otlpexporter.NewFactory().CreateDefaultConfig().(*otlpexporter.Config)
				o.ClientConfig.Endpoint = "gateway.example.internal:4317"
				o.ClientConfig.TLS.Insecure = true
				o.TimeoutConfig.Timeout = 2 * time.Second
				o.QueueConfig = queueOff
				o.RetryConfig.Enabled = false
				c.destination = destination{keys: []string{"otlp_grpc"}, key: "otlp_grpc", typ: component.MustNewType("otlp_grpc"), cfg: o}
			}),
		},
		{
			id: "audit/otlp_alias",
			want: defaults(func(c *Config) {
				o := otlpexporter.NewFactory().CreateDefaultConfig().(*otlpexporter.Config)
				o.ClientConfig.Endpoint = "gateway.example.internal:4317"
				o.QueueConfig = queueOff
				o.RetryConfig.Enabled = false
				c.destination = destination{keys: []string{"otlp"}, key: "otlp", typ: component.MustNewType("otlp_grpc"), cfg: o}
			}),
		},
		{
			id: "audit/otlp_http",
			want: defaults(func(c *Config) {
				o := otlphttpexporter.NewFactory().CreateDefaultConfig().(*otlphttpexporter.Config)
				o.ClientConfig.Endpoint = "https://gateway.example.internal:4318"
				o.QueueConfig = queueOff
				o.RetryConfig.Enabled = false
				c.destination = destination{keys: []string{"otlphttp"}, key: "otlphttp", typ: component.MustNewType("otlp_http"), cfg: o}
			}),
		},
		{
			id: "audit/clickhouse",
			want: defaults(func(c *Config) {
				ch := clickhouseexporter.NewFactory().CreateDefaultConfig().(*clickhouseexporter.Config)
				ch.Endpoint = "tcp://127.0.0.1:1"
				ch.Database = "otel"
				ch.CreateSchema = false
				ch.QueueSettings = queueOff
				ch.BackOffConfig.Enabled = false
				c.destination = destination{keys: []string{"clickhouse"}, key: "clickhouse", typ: component.MustNewType("clickhouse"), cfg: ch}
			}),
		},
		{
			id: "audit/debug",
			want: defaults(func(c *Config) {
				d := debugexporter.NewFactory().CreateDefaultConfig().(*debugexporter.Config)
				d.Verbosity = configtelemetry.LevelDetailed
				d.QueueConfig = queueOff
				c.destination = destination{keys: []string{"debug"}, key: "debug", typ: component.MustNewType("debug"), cfg: d}
			}),
		},
		{
			id: "audit/records",
			want: defaults(func(c *Config) {
				c.Mode = ModeRecords
				c.QueueConfig = queueOff
			}),
		},
		{
			id:               "audit/two_destinations",
			wantValidateErrs: []string{"destination: exactly one exporter expected, got 2 (file, nop)"},
		},
		{
			id: "audit/unknown_destination",
			wantValidateErrs: []string{
				`destination.kafka: unknown destination type "kafka" (want clickhouse, otlp_grpc, otlp_http, file, debug or nop)`,
			},
		},
		{
			id:               "audit/no_destination",
			wantValidateErrs: []string{"destination: required in deliveries mode"},
		},
		{
			id:               "audit/records_with_destination",
			wantValidateErrs: []string{"destination: records mode takes no destination"},
		},
		{
			id: "audit/destination_queue",
			wantValidateErrs: []string{
				"destination.otlp_grpc.sending_queue: the audit exporter queues and retries itself, so that each recorded outcome is final: configure sending_queue on the audit exporter, not under destination",
				"destination.otlp_grpc.retry_on_failure: the audit exporter queues and retries itself",
			},
		},
		{
			id: "audit/tenant_unpartitioned",
			wantValidateErrs: []string{
				`tenant_metadata_key: sending_queue::batch merges the requests of different clients and keeps none of their metadata, so the tenant would be lost: add "x-tenant" to sending_queue::batch::partition::metadata_keys`,
			},
		},
		{
			id:               "audit/file_truncated",
			wantValidateErrs: []string{"destination.file.append: false would truncate the file at every start, erasing deliveries the ledger records"},
		},
		{
			id:               "audit/invalid_destination",
			wantValidateErrs: []string{`destination.otlp_grpc: requires a non-empty "endpoint"`},
		},
		{
			id: "audit/many_problems",
			wantValidateErrs: []string{
				"ledger: required",
				"destination: exactly one exporter expected, got 2 (kafka, nop)",
				`destination.kafka: unknown destination type "kafka"`,
			},
		},
		{id: "audit/typo", wantUnmarshalErr: "tenant_atribute"},
		{id: "audit/destination_typo", wantUnmarshalErr: "destination.file: "},
		{id: "audit/bad_mode", wantUnmarshalErr: `unknown mode "batch" (want deliveries or records)`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			sub, err := cm.Sub(tt.id)
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			err = sub.Unmarshal(&cfg)
			if tt.wantUnmarshalErr != "" {
				require.ErrorContains(t, err, tt.wantUnmarshalErr)
				return
			}
			require.NoError(t, err)
			if tt.want != nil {
				assert.Equal(t, tt.want, cfg)
			}
			err = confmap.Validate(cfg)
			if len(tt.wantValidateErrs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantValidateErrs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestDestinationTypoNamesTheKey(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := cfg.Unmarshal(confmap.NewFromStringMap(map[string]any{
		"ledger":      "audit_ledger",
		"destination": map[string]any{"file": map[string]any{"pth": "x"}},
	}))
	require.ErrorContains(t, err, "destination.file: ")
	assert.ErrorContains(t, err, "pth")
}

func TestDefaultConfigIsNotRunnable(t *testing.T) {
	// The ledger and the destination have no sensible defaults: the default config must say so.
	err := confmap.Validate(createDefaultConfig())
	require.Error(t, err)
	assert.ErrorContains(t, err, "ledger: required")
	assert.ErrorContains(t, err, "destination: required in deliveries mode")
}

func TestValidateUnknownModeSetInCode(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Ledger = component.MustNewID("audit_ledger")
	cfg.Mode = "batch"
	assert.ErrorContains(t, cfg.Validate(), `mode: unknown mode "batch"`)
}

func TestEnabledIn(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]any
		want bool
	}{
		{name: "absent", conf: map[string]any{}, want: false},
		{name: "null", conf: map[string]any{"sending_queue": nil}, want: false},
		{name: "disabled", conf: map[string]any{"sending_queue": map[string]any{"enabled": false, "queue_size": 5}}, want: false},
		{name: "enabled", conf: map[string]any{"sending_queue": map[string]any{"enabled": true}}, want: true},
		{name: "settings without enabled", conf: map[string]any{"sending_queue": map[string]any{"queue_size": 5}}, want: true},
		{name: "scalar", conf: map[string]any{"sending_queue": "yes"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, enabledIn(confmap.NewFromStringMap(tt.conf), "sending_queue"))
		})
	}
}
