// Package alerting raises alerts from audit ledger entries: rules match entries by action,
// outcome and, optionally, a threshold over a sliding window; matching entries are posted to
// webhooks (generic JSON or a Slack-compatible body) with retries and backoff, at least once
// while the collector runs, and each alert and its delivery outcome are recorded in the
// ledger themselves.
package alerting

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/confkeys"
)

// Config is the alerts section of the audit_ledger extension.
type Config struct {
	// Webhooks are the destinations, by name.
	Webhooks map[string]WebhookConfig `mapstructure:"webhooks"`
	// Rules say which entries raise an alert and where it goes.
	Rules []RuleConfig `mapstructure:"rules"`
	// QueueSize bounds the alerts waiting for each webhook. An alert that finds its queue full
	// is dropped, counted, logged and recorded in the ledger (alert.dropped).
	QueueSize int `mapstructure:"queue_size"`

	_ struct{}
}

// Format is the body a webhook receives.
type Format string

const (
	// FormatJSON posts the alert as a JSON document: rule, entry (sequence number, hash and
	// event as the ledger stores them), and for threshold rules the count and group.
	FormatJSON Format = "json"
	// FormatSlack posts {"text": "..."}, which Slack's incoming webhooks (and Mattermost,
	// Rocket.Chat, Teams workflows) accept.
	FormatSlack Format = "slack"
)

// WebhookConfig is one destination.
type WebhookConfig struct {
	// Endpoint is the http or https URL the alerts are posted to.
	Endpoint string `mapstructure:"endpoint"`
	// Format is json (the default) or slack.
	Format Format `mapstructure:"format"`
	// Headers are added to every request (e.g. an Authorization header).
	Headers map[string]configopaque.String `mapstructure:"headers"`
	// Timeout bounds one attempt.
	Timeout time.Duration `mapstructure:"timeout"`
	// TLS configures https endpoints.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// RetryOnFailure retries failed attempts (connection errors, 408, 429 and 5xx answers)
	// with exponential backoff until max_elapsed_time (0: until the collector stops). Other
	// answers are not retried: the webhook refused the alert.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	_ struct{}
}

// RuleConfig is one alert rule.
type RuleConfig struct {
	// Name identifies the rule in alerts, entries and metrics.
	Name string `mapstructure:"name"`
	// Actions are the actions that match: exact names (user.deleted), prefixes (api_key.*)
	// or * for every action. The ledger's own alert.* entries never match.
	Actions []string `mapstructure:"actions"`
	// Outcomes restrict the rule to entries with these outcomes (success, failure, denied);
	// empty matches every outcome.
	Outcomes []audit.Outcome `mapstructure:"outcomes"`
	// Threshold, when set, raises an alert only once the matching entries of one group reach
	// Count within Window.
	Threshold *ThresholdConfig `mapstructure:"threshold"`
	// Webhook names the destination, one of webhooks.
	Webhook string `mapstructure:"webhook"`

	_ struct{}
}

// GroupBy is what a threshold counts separately.
type GroupBy string

const (
	GroupByActorIP    GroupBy = "actor_ip"
	GroupByActorID    GroupBy = "actor_id"
	GroupByResourceID GroupBy = "resource_id"
	// GroupByNone counts every matching entry together.
	GroupByNone GroupBy = "none"
)

// ThresholdConfig raises an alert when a group's matching entries reach Count within Window.
// An entry weighs its "attempts" count when it has one (a login.failure summary stands for
// that many refused requests), and 1 otherwise. Once a group raises an alert its count starts
// again from zero.
type ThresholdConfig struct {
	Count  int64         `mapstructure:"count"`
	Window time.Duration `mapstructure:"window"`
	By     GroupBy       `mapstructure:"by"`
	// MaxGroups bounds the groups counted at once; the least recently seen are forgotten
	// first. 0 means DefaultMaxGroups.
	MaxGroups int `mapstructure:"max_groups"`

	_ struct{}
}

// DefaultMaxGroups is a threshold's bound on groups when max_groups is not set.
const DefaultMaxGroups = 10_000

// NewDefaultWebhookConfig returns the defaults a webhook's settings are read over.
func NewDefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		Format:  FormatJSON,
		Timeout: 10 * time.Second,
		RetryOnFailure: configretry.BackOffConfig{
			Enabled:             true,
			InitialInterval:     time.Second,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         time.Minute,
			MaxElapsedTime:      time.Hour,
		},
	}
}

// Enabled reports whether any rule is configured.
func (c *Config) Enabled() bool { return len(c.Rules) > 0 }

// Validate reports every problem of the section at once, each prefixed by its key under
// alerts.
func (c *Config) Validate() error {
	var errs []error
	if c.QueueSize <= 0 {
		errs = append(errs, fmt.Errorf("queue_size: must be positive, got %d", c.QueueSize))
	}
	for _, name := range sortedKeys(c.Webhooks) {
		w := c.Webhooks[name]
		for _, err := range w.validate() {
			errs = append(errs, fmt.Errorf("webhooks::%s::%w", name, err))
		}
	}
	seen := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		prefix := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("%s::name: required", prefix))
		} else {
			prefix = fmt.Sprintf("rules[%d] (%s)", i, r.Name)
			if seen[r.Name] {
				errs = append(errs, fmt.Errorf("%s::name: used by an earlier rule", prefix))
			}
			seen[r.Name] = true
		}
		if len(r.Actions) == 0 {
			errs = append(errs, fmt.Errorf("%s::actions: required (an action, a prefix such as api_key.*, or *)", prefix))
		}
		for _, a := range r.Actions {
			if !validPattern(a) {
				errs = append(errs, fmt.Errorf("%s::actions: %q is not an action, a prefix ending in .*, or *", prefix, a))
			}
		}
		for _, o := range r.Outcomes {
			switch o {
			case audit.OutcomeSuccess, audit.OutcomeFailure, audit.OutcomeDenied:
			default:
				errs = append(errs, fmt.Errorf("%s::outcomes: unknown outcome %q (want success, failure or denied)", prefix, o))
			}
		}
		if _, ok := c.Webhooks[r.Webhook]; !ok {
			errs = append(errs, fmt.Errorf("%s::webhook: %q is not one of webhooks (%s)", prefix, r.Webhook, strings.Join(sortedKeys(c.Webhooks), ", ")))
		}
		if t := r.Threshold; t != nil {
			if t.Count < 1 {
				errs = append(errs, fmt.Errorf("%s::threshold::count: must be at least 1, got %d", prefix, t.Count))
			}
			if t.Window <= 0 {
				errs = append(errs, fmt.Errorf("%s::threshold::window: must be positive", prefix))
			}
			switch t.By {
			case GroupByActorIP, GroupByActorID, GroupByResourceID, GroupByNone:
			default:
				errs = append(errs, fmt.Errorf("%s::threshold::by: unknown %q (want actor_ip, actor_id, resource_id or none)", prefix, t.By))
			}
			if t.MaxGroups < 0 {
				errs = append(errs, fmt.Errorf("%s::threshold::max_groups: must not be negative (0: %d)", prefix, DefaultMaxGroups))
			}
		}
	}
	return errors.Join(errs...)
}

func (w *WebhookConfig) validate() []error {
	var errs []error
	u, err := url.Parse(w.Endpoint)
	switch {
	case w.Endpoint == "":
		errs = append(errs, errors.New("endpoint: required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("endpoint: %w", err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("endpoint: %q is not an http or https URL", w.Endpoint))
	}
	switch w.Format {
	case FormatJSON, FormatSlack:
	default:
		errs = append(errs, fmt.Errorf("format: unknown %q (want json or slack)", w.Format))
	}
	if w.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if err := w.RetryOnFailure.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retry_on_failure: %w", err))
	}
	if err := w.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	return errs
}

// validPattern reports whether p is *, a prefix ending in .*, or an action name.
func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	name := strings.TrimSuffix(p, ".*")
	if name == "" || len(name) > 100 {
		return false
	}
	return !strings.ContainsAny(name, "* \t\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Unmarshal reads the section with each webhook's settings over NewDefaultWebhookConfig, and
// reports every key it does not have, with the nearest valid one.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := confkeys.Check(conf, c); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	// plain has Config's fields but not this method: decoding into it cannot recurse.
	type plain Config
	if err := conf.Unmarshal((*plain)(c)); err != nil {
		return err
	}
	for name := range c.Webhooks {
		sub, err := conf.Sub("webhooks" + confmap.KeyDelimiter + name)
		if err != nil {
			return fmt.Errorf("alerts: webhooks: %s: %w", name, err)
		}
		w := NewDefaultWebhookConfig()
		if err := sub.Unmarshal(&w); err != nil {
			return fmt.Errorf("alerts: webhooks: %s: %w", name, err)
		}
		c.Webhooks[name] = w
	}
	return nil
}
