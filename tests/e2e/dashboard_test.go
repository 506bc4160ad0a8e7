//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	promMetricRE = regexp.MustCompile(`otelcol_[a-z0-9_]+`)
	docMetricRE  = regexp.MustCompile(`(?m)^### (otelcol_[a-z0-9_]+)`)
)

// dashboardMetrics returns the metric families the dashboard's queries and variables read.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	seen := map[string]bool{}
	add := func(expr string) {
		for _, m := range promMetricRE.FindAllString(expr, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				m = strings.TrimSuffix(m, suffix)
			}
			seen[m] = true
		}
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q has a query without an expression", p.Title)
			add(tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if s, ok := v.Query.(string); ok {
			add(s)
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// scrapedFamilies returns the metric families a collector exposes.
func scrapedFamilies(t *testing.T, port string) map[string]bool {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// declaredMetrics returns the metrics Warden's own components declare (their generated
// documentation.md), all of them compiled into the collector.
func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "*", "*", "documentation.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	out := map[string]bool{}
	for _, d := range docs {
		raw, err := os.ReadFile(d)
		require.NoError(t, err)
		for _, m := range docMetricRE.FindAllStringSubmatch(string(raw), -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestDashboardQueriesExportedMetrics checks examples/dashboards/warden.json against the
// built collector on the default configuration: every metric a panel or variable queries
// is exposed on its metrics endpoint once telemetry has flowed, or, for the counters of rare
// events (failures, rejections) that appear only once they happen, is declared by one of
// Warden's components; the collector's own metrics must be exposed.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	queried := dashboardMetrics(t, filepath.Join(root, "examples", "dashboards", "warden.json"))
	require.NotEmpty(t, queried)

	c, env := startDefault(t, "dashboard")
	grpcEP, port := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_METRICS_PORT"]
	common := []string{"--rate", "0", "--otlp-insecure", "--otlp-endpoint", grpcEP, "--telemetry-attributes", `user.email="jane.doe@example.com"`}
	Telemetrygen(t, "traces", append(common, "--traces", "5")...)
	Telemetrygen(t, "logs", append(common, "--logs", "5")...)
	Telemetrygen(t, "metrics", append(common, "--metrics", "5")...)
	Eventually(t, "deliveries of the three signals", 3, func() int {
		return int(collectorCounter(t, port, "otelcol_exporter_audit_deliveries", map[string]string{"outcome": "success"}))
	}, 30*time.Second, c)

	scraped := scrapedFamilies(t, port)
	declared := declaredMetrics(t)
	var exposed []string
	for _, m := range queried {
		switch {
		case scraped[m]:
			exposed = append(exposed, m)
		case declared[m]:
			t.Logf("%s: declared by a Warden component, not exposed until its first event", m)
		default:
			t.Errorf("the dashboard queries %s, which the collector does not export", m)
		}
	}
	for _, m := range []string{
		"otelcol_receiver_accepted_spans", "otelcol_processor_pii_redaction_findings", "otelcol_audit_ledger_entries",
		"otelcol_audit_ledger_commit_duration", "otelcol_exporter_audit_deliveries", "otelcol_processor_telemetry_guard_tracked",
		"otelcol_process_uptime",
	} {
		assert.Contains(t, queried, m, "the dashboard shows %s", m)
		assert.True(t, scraped[m], "%s is exposed after telemetry flowed", m)
	}
	t.Logf("%d of %d queried metrics exposed after one round of telemetry", len(exposed), len(queried))
}
