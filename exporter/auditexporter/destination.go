package auditexporter // import "github.com/otelwarden/warden/exporter/auditexporter"

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/nopexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
)

// destinationFactories are the exporters the audit exporter can wrap, in the order error
// messages name them.
var destinationFactories = []exporter.Factory{
	clickhouseexporter.NewFactory(),
	otlpexporter.NewFactory(),
	otlphttpexporter.NewFactory(),
	fileexporter.NewFactory(),
	debugexporter.NewFactory(),
	nopexporter.NewFactory(),
}

// destinationAliases are deprecated keys still accepted under `destination`, as the core
// factories accept them as component types.
var destinationAliases = map[string]string{
	"otlp":     "otlp_grpc",
	"otlphttp": "otlp_http",
}

// allowedDestinations names the keys accepted under `destination`, for error messages.
var allowedDestinations = func() string {
	names := make([]string, len(destinationFactories))
	for i, f := range destinationFactories {
		names[i] = f.Type().String()
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()

// destinationFactory returns the factory for a key under `destination`, aliases resolved.
func destinationFactory(key string) (exporter.Factory, bool) {
	if canonical, ok := destinationAliases[key]; ok {
		key = canonical
	}
	for _, f := range destinationFactories {
		if f.Type().String() == key {
			return f, true
		}
	}
	return nil, false
}

// helperSettings are the exporterhelper settings that the audit exporter owns: the
// destination's own are forced off wherever its configuration has them.
var helperSettings = []string{"sending_queue", "retry_on_failure"}

// destination is the decoded `destination` section. Everything in it is comparable with
// reflect.DeepEqual, so that tests can compare whole configurations.
type destination struct {
	// keys are the keys found under `destination`, sorted; validation wants exactly one.
	keys []string
	// key is that one key as written (possibly an alias), when it names a known exporter.
	key string
	// typ is the destination exporter's type, aliases resolved.
	typ component.Type
	// cfg is the destination exporter's own configuration.
	cfg component.Config
	// userEnabled lists the helper settings that the user enabled under the destination.
	userEnabled []string
	// truncates is set when a file destination asks for `append: false` without rotation.
	truncates bool
}

// decodeDestination decodes the `destination` section. Problems that validation can report
// together (no key, several keys, an unknown key) are kept for Validate; a sub-configuration
// that does not decode is an error at once, as for any component.
func decodeDestination(conf *confmap.Conf) (destination, error) {
	var d destination
	for key := range conf.ToStringMap() {
		d.keys = append(d.keys, key)
	}
	slices.Sort(d.keys)
	if len(d.keys) != 1 {
		return d, nil
	}
	key := d.keys[0]
	factory, ok := destinationFactory(key)
	if !ok {
		return d, nil
	}
	prefix := destinationKey + "." + key
	sub, err := conf.Sub(key)
	if err != nil {
		return d, fmt.Errorf("%s: %w", prefix, err)
	}

	cfg := factory.CreateDefaultConfig()
	// Which helper settings the exporter has is read from its marshaled defaults, so that any
	// exporter with a sending_queue or retry_on_failure is handled the same way.
	defaults := confmap.New()
	if err := defaults.Marshal(cfg); err != nil {
		return d, fmt.Errorf("%s: reading the exporter's default configuration: %w", prefix, err)
	}
	for _, setting := range helperSettings {
		if !defaults.IsSet(setting) {
			continue
		}
		if enabledIn(sub, setting) {
			d.userEnabled = append(d.userEnabled, setting)
		}
		off := confmap.NewFromStringMap(map[string]any{setting: map[string]any{"enabled": false}})
		if err := sub.Merge(off); err != nil {
			return d, fmt.Errorf("%s: turning off %s: %w", prefix, setting, err)
		}
	}
	if err := sub.Unmarshal(cfg); err != nil {
		return d, fmt.Errorf("%s: %w", prefix, err)
	}
	if fc, ok := cfg.(*fileexporter.Config); ok {
		d.truncates = writeThrough(fc, sub)
	}
	d.key, d.typ, d.cfg = key, factory.Type(), cfg
	return d, nil
}

// enabledIn reports whether conf sets setting to anything but `enabled: false` (or null).
func enabledIn(conf *confmap.Conf, setting string) bool {
	if !conf.IsSet(setting) {
		return false
	}
	switch v := conf.Get(setting).(type) {
	case nil:
		return false
	case map[string]any:
		enabled, set := v["enabled"]
		return !set || enabled != false
	default:
		return true
	}
}

// validate reports every problem of the destination section in deliveries mode.
func (d *destination) validate() []error {
	var errs []error
	switch len(d.keys) {
	case 0:
		errs = append(errs, fmt.Errorf("destination: required in deliveries mode: give exactly one exporter to deliver to (%s)", allowedDestinations))
	case 1:
	default:
		errs = append(errs, fmt.Errorf("destination: exactly one exporter expected, got %d (%s)", len(d.keys), strings.Join(d.keys, ", ")))
	}
	for _, key := range d.keys {
		if _, ok := destinationFactory(key); !ok {
			errs = append(errs, fmt.Errorf("destination.%s: unknown destination type %q (want %s)", key, key, allowedDestinations))
		}
	}
	if d.truncates {
		errs = append(errs, fmt.Errorf("destination.%s.append: false would truncate the file at every start, erasing deliveries the ledger records: an audited file is written through and appended to, so remove append: false", d.key))
	}
	for _, setting := range d.userEnabled {
		errs = append(errs, fmt.Errorf("destination.%s.%s: the audit exporter queues and retries itself, so that each recorded outcome is final: configure %s on the audit exporter, not under destination", d.key, setting, setting))
	}
	if d.cfg != nil {
		for _, err := range flatten(confmap.Validate(d.cfg)) {
			errs = append(errs, fmt.Errorf("destination.%s: %w", d.key, err))
		}
	}
	return errs
}

// flatten splits a joined error into its parts, so that each gets its own prefix.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
