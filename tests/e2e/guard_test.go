//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// The telemetry_guard scenarios: the default config's budget of series per metric, with the
// specification's overflow series keeping delta and cumulative totals; examples/guard as
// shipped, enforcing and then only reporting (cardinality with telemetrygen, per-tenant rate
// limits, one schema violation per action); and examples/gateway-tier, where an agent routes
// each metric by name to one of two guarded gateways so that each budget is held in one place.

// overflowSeries is the key of the specification's overflow series in a guardSeries.
const overflowSeries = "otel.metric.overflow=true"

// guardPoint is a number data point read back from an output.
type guardPoint struct {
	ts      pcommon.Timestamp
	value   int64
	gateway string // the warden.gateway of its resource
}

// guardSeries are one metric's points by series (its attributes as sorted k=v pairs), each
// series' points in file order.
type guardSeries map[string][]guardPoint

// seriesKey names a series by its attributes.
func seriesKey(attrs pcommon.Map) string {
	parts := make([]string, 0, attrs.Len())
	attrs.Range(func(k string, v pcommon.Value) bool {
		parts = append(parts, k+"="+v.AsString())
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// metricSeries reads the sum and gauge points of an output by metric name and series.
func metricSeries(md pmetric.Metrics) map[string]guardSeries {
	out := map[string]guardSeries{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		gateway := attr(rm.Resource().Attributes(), "warden.gateway")
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					continue
				}
				if out[m.Name()] == nil {
					out[m.Name()] = guardSeries{}
				}
				for p := 0; p < dps.Len(); p++ {
					dp := dps.At(p)
					v := dp.IntValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
						v = int64(dp.DoubleValue())
					}
					key := seriesKey(dp.Attributes())
					out[m.Name()][key] = append(out[m.Name()][key], guardPoint{ts: dp.Timestamp(), value: v, gateway: gateway})
				}
			}
		}
	}
	return out
}

// deltaTotal is the sum of every point: the total of a delta metric.
func (s guardSeries) deltaTotal() int64 {
	var n int64
	for _, pts := range s {
		for _, p := range pts {
			n += p.value
		}
	}
	return n
}

// latest is a series' last point by timestamp (the later in the file on a tie).
func latest(pts []guardPoint) guardPoint {
	l := pts[0]
	for _, p := range pts[1:] {
		if p.ts >= l.ts {
			l = p
		}
	}
	return l
}

// latestTotal is the sum of each series' latest value: the total of a cumulative metric.
func (s guardSeries) latestTotal() int64 {
	var n int64
	for _, pts := range s {
		n += latest(pts).value
	}
	return n
}

// own are the series other than the overflow series.
func (s guardSeries) own() int {
	n := len(s)
	if _, ok := s[overflowSeries]; ok {
		n--
	}
	return n
}

// gateways are the gateways whose resources carried the metric's points.
func (s guardSeries) gateways() []string {
	set := map[string]bool{}
	for _, pts := range s {
		for _, p := range pts {
			set[p.gateway] = true
		}
	}
	var out []string
	for g := range set {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// outputSeries reads a metrics output and returns one metric's series.
func outputSeries(t *testing.T, path, metric string) guardSeries {
	return metricSeries(ReadMetrics(t, path))[metric]
}

// sumRequest is one request of one sum metric with a point per series i in [from, to): its
// attributes from attrs, its value value(i), over [start, ts].
func sumRequest(service, name string, temporality pmetric.AggregationTemporality, start, ts time.Time,
	from, to int, attrs func(int, pcommon.Map), value func(int) int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit("1")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(temporality)
	sum.SetIsMonotonic(true)
	for i := from; i < to; i++ {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetIntValue(value(i))
		attrs(i, dp.Attributes())
	}
	return md
}

// exportMetricsGRPC sends md over OTLP/gRPC in plaintext, with an x-tenant-id header when
// tenant is set.
func exportMetricsGRPC(endpoint, tenant string, md pmetric.Metrics) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if tenant != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-tenant-id", tenant)
	}
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
	return err
}

// postAsTenant posts an OTLP/HTTP protobuf body with an x-tenant-id header and returns the
// status and the Retry-After header.
func postAsTenant(t *testing.T, endpoint, path, tenant string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+endpoint+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("x-tenant-id", tenant)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// collectorCounter sums the samples of one of a collector's own metrics (served on 127.0.0.1 at
// port) whose labels include every pair of labels.
func collectorCounter(t *testing.T, port, name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(line, k+`="`+v+`"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		total += v
	}
	require.NoError(t, sc.Err())
	return total
}

const guardDecisions = "otelcol_processor_telemetry_guard_decisions"

// decisions sums a collector's telemetry_guard decisions by guard, action and mode (and
// reason, when set).
func decisions(t *testing.T, port, guard, action, reason, mode string) int {
	labels := map[string]string{"guard": guard, "action": action, "mode": mode}
	if reason != "" {
		labels["reason"] = reason
	}
	return int(collectorCounter(t, port, guardDecisions, labels))
}

// guardSummaries adds up the counts of telemetry_guard's ledger summaries of one service.
func guardSummaries(t *testing.T, auditDir, service string) map[string]int64 {
	out := map[string]int64{}
	for _, e := range ledgerEntries(t, auditDir) {
		if e.Event.Action == "telemetry.guard" && e.Event.Attributes["service"] == service {
			for k, v := range e.Event.Counts {
				out[k] += v
			}
		}
	}
	return out
}

// TestGuardDefaultConfigBudget sends the embedded default (2000 series per metric, 1000 values
// per key) 3000 series of a delta and of a cumulative sum, twice, and 3000 values of one key:
// the first 2000 series of each metric stay themselves, the rest leave as one overflow series,
// the 1001st value on becomes _OTHER, and every total is what was sent.
func TestGuardDefaultConfigBudget(t *testing.T) {
	c, env := startDefault(t, "default")
	grpcEP := env["WARDEN_OTLP_GRPC_ENDPOINT"]
	out := filepath.Join(env["WARDEN_DATA_DIR"], "metrics.jsonl")

	const series, perRequest = 3000, 1000
	// 100 users x 30 routes: 3000 series, each key well within its 1000 values.
	byUserAndRoute := func(i int, m pcommon.Map) {
		m.PutStr("user.id", fmt.Sprintf("u-%03d", i%100))
		m.PutStr("http.route", fmt.Sprintf("/api/r%02d", i/100))
	}
	// 3000 users: over the budget of values of user.id.
	byUser := func(i int, m pcommon.Map) { m.PutStr("user.id", fmt.Sprintf("user-%04d", i)) }
	seriesIndex := map[string]int{}
	for i := range series {
		m := pcommon.NewMap()
		byUserAndRoute(i, m)
		seriesIndex[seriesKey(m)] = i
	}

	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	var wantDelta, wantCumulative, wantLogins int64
	for round := int64(1); round <= 2; round++ {
		ts := t0.Add(time.Duration(round) * 10 * time.Second)
		for from := 0; from < series; from += perRequest {
			one := func(i int) int64 { return int64(i + 1) }
			scaled := func(i int) int64 { return round * int64(i+1) }
			for _, md := range []pmetric.Metrics{
				sumRequest("shop", "shop.requests", pmetric.AggregationTemporalityDelta, ts.Add(-10*time.Second), ts, from, from+perRequest, byUserAndRoute, one),
				sumRequest("shop", "shop.bytes", pmetric.AggregationTemporalityCumulative, t0, ts, from, from+perRequest, byUserAndRoute, scaled),
				sumRequest("shop", "shop.logins", pmetric.AggregationTemporalityDelta, ts.Add(-10*time.Second), ts, from, from+perRequest, byUser, one),
			} {
				require.NoError(t, exportMetricsGRPC(grpcEP, "", md))
			}
			for i := from; i < from+perRequest; i++ {
				wantDelta += int64(i + 1)
				wantLogins += int64(i + 1)
				if round == 2 {
					wantCumulative += 2 * int64(i+1)
				}
			}
		}
	}
	total := func(metric string, of func(guardSeries) int64) func() int {
		return func() int { return int(of(outputSeries(t, out, metric))) }
	}
	Eventually(t, "delta total of shop.requests", int(wantDelta), total("shop.requests", guardSeries.deltaTotal), 30*time.Second, c)
	Eventually(t, "cumulative total of shop.bytes", int(wantCumulative), total("shop.bytes", guardSeries.latestTotal), 30*time.Second, c)
	Eventually(t, "delta total of shop.logins", int(wantLogins), total("shop.logins", guardSeries.deltaTotal), 30*time.Second, c)

	all := metricSeries(ReadMetrics(t, out))
	for _, name := range []string{"shop.requests", "shop.bytes"} {
		s := all[name]
		assert.Len(t, s, 2001, "%s: the budget of 2000 series plus the overflow series", name)
		require.Contains(t, s, overflowSeries, "%s: the overflow series carries only otel.metric.overflow=true", name)
		for key := range s {
			if key == overflowSeries {
				continue
			}
			i, known := seriesIndex[key]
			if assert.True(t, known, "%s: unexpected series %q", name, key) {
				assert.Less(t, i, 2000, "%s: series %d was over the budget and must be folded", name, i)
			}
		}
	}

	// Cumulative: each admitted series keeps its own latest value (round 2: twice its first),
	// and the overflow series' latest is the sum of the latest values of the 1000 it folds,
	// never their history added up again.
	cumulative := all["shop.bytes"]
	for key, pts := range cumulative {
		if i, ok := seriesIndex[key]; ok {
			assert.Len(t, pts, 2, "shop.bytes %s: one point per round", key)
			assert.Equal(t, 2*int64(i+1), latest(pts).value, "shop.bytes %s", key)
		}
	}
	var folded1, folded2 int64
	for i := 2000; i < series; i++ {
		folded1, folded2 = folded1+int64(i+1), folded2+2*int64(i+1)
	}
	over := cumulative[overflowSeries]
	require.Len(t, over, 2, "shop.bytes: one overflow point per round")
	assert.Equal(t, folded2, latest(over).value, "shop.bytes: the overflow series' latest value")
	first := over[0]
	if over[1].ts < first.ts {
		first = over[1]
	}
	assert.Equal(t, folded1, first.value, "shop.bytes: the overflow series after round 1")

	// One key over its budget of values: the first 1000 users keep their id, the 2000 others
	// become _OTHER.
	logins := all["shop.logins"]
	assert.Len(t, logins, 1001, "shop.logins: 1000 values of user.id and _OTHER")
	var otherTotal, wantOther int64
	for _, p := range logins["user.id=_OTHER"] {
		otherTotal += p.value
	}
	for i := 1000; i < series; i++ {
		wantOther += 2 * int64(i+1)
	}
	assert.Equal(t, wantOther, otherTotal, "shop.logins: user.id=_OTHER carries users 1000..2999 of both rounds")
	assert.NotContains(t, logins, overflowSeries, "shop.logins stays within its budget of series")

	port := env["WARDEN_METRICS_PORT"]
	assert.Equal(t, 2*1000*2, decisions(t, port, "cardinality", "overflow", "series_limit", "enforce"),
		"1000 points folded per round in each of the two metrics")
	assert.Equal(t, 2*2000, decisions(t, port, "cardinality", "replace_value", "value_limit", "enforce"),
		"2000 values replaced per round")
}

// startGuardExample runs examples/guard as shipped, in mode (enforce when empty), with its rule
// file given by absolute path (the collector runs in a temporary directory).
func startGuardExample(t *testing.T, name, mode string) (*Collector, map[string]string) {
	t.Helper()
	env := DefaultEnv(t, t.TempDir())
	env["WARDEN_SCHEMA_RULES"] = filepath.Join(root, "examples", "guard", "rules.yaml")
	if mode != "" {
		env["WARDEN_GUARD_MODE"] = mode
	}
	return StartCollector(t, name, filepath.Join(root, "examples", "guard", "config.yaml"), env), env
}

// The probes sent to examples/guard in both modes.
const (
	probeSeries = 500 // series of shop.cart.updates (its budget: 100) and shop.page.views (2000)
	floodPoints = 1000
	longURL     = "https://shop.example/search?q="
)

// sendCardinalityProbe sends probeSeries series of two delta sums with telemetrygen (the
// timebox attribute counts up from 1 with --unique-timeseries), values 0..probeSeries-1.
func sendCardinalityProbe(t *testing.T, grpcEP string) int64 {
	for _, name := range []string{"shop.cart.updates", "shop.page.views"} {
		Telemetrygen(t, "metrics", "--otlp-endpoint", grpcEP, "--otlp-insecure", "--otlp-header", `x-tenant-id="acme"`,
			"--service", "cart", "--otlp-metric-name", name, "--metric-type", "Sum", "--aggregation-temporality", "delta",
			"--metrics", strconv.Itoa(probeSeries), "--rate", "0", "--unique-timeseries", "--unique-timeseries-duration", "1m")
	}
	return probeSeries * (probeSeries - 1) / 2
}

// sendRateProbe floods as tenant trial (50 records/s, burst 100) with telemetrygen while
// tenant acme sends 40 points at 20/s; it returns the flood's output and error.
func sendRateProbe(t *testing.T, grpcEP string) (string, error) {
	var wg sync.WaitGroup
	var floodOut string
	var floodErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		floodOut, floodErr = TryTelemetrygen(t, "metrics", "--otlp-endpoint", grpcEP, "--otlp-insecure",
			"--otlp-header", `x-tenant-id="trial"`, "--service", "trial-app", "--otlp-metric-name", "trial.flood",
			"--metrics", strconv.Itoa(floodPoints), "--rate", "0", "--timeout", "2s")
	}()
	Telemetrygen(t, "metrics", "--otlp-endpoint", grpcEP, "--otlp-insecure", "--otlp-header", `x-tenant-id="acme"`,
		"--service", "acme-app", "--otlp-metric-name", "acme.polite", "--metrics", "40", "--rate", "20", "--batch-size", "10")
	wg.Wait()
	return floodOut, floodErr
}

// trialBatch is an OTLP/HTTP metrics body of 150 points, more than tenant trial's burst.
func trialBatch(t *testing.T) []byte {
	md := sumRequest("trial-app", "trial.http", pmetric.AggregationTemporalityDelta, time.Now().Add(-time.Second), time.Now(),
		0, 150, func(int, pcommon.Map) {}, func(int) int64 { return 1 })
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	return body
}

// sendSchemaProbe sends one log record of service schema-probe with a violation per action
// (a URL over its 256 bytes, a password, an environment outside the list, a method outside
// the conventions' enum, a status code of the wrong type), and, over HTTP, a resource without
// service.name beside one with it.
func sendSchemaProbe(t *testing.T, grpcEP, httpEP string) string {
	url := longURL + strings.Repeat("a", 300)
	Telemetrygen(t, "logs", "--otlp-endpoint", grpcEP, "--otlp-insecure", "--otlp-header", `x-tenant-id="acme"`,
		"--service", "schema-probe", "--logs", "1", "--rate", "0", "--body", "schema probe",
		"--otlp-attributes", `deployment.environment.name="laptop"`,
		"--telemetry-attributes", `url.full="`+url+`"`,
		"--telemetry-attributes", `user.password="hunter2"`,
		"--telemetry-attributes", `http.request.method="GETT"`,
		"--telemetry-attributes", `http.response.status_code="200"`)

	ld := plog.NewLogs()
	anonymous := ld.ResourceLogs().AppendEmpty()
	anonymous.Resource().Attributes().PutStr("host.name", "build-7")
	anonymous.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("from nowhere")
	named := ld.ResourceLogs().AppendEmpty()
	named.Resource().Attributes().PutStr("service.name", "named")
	named.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("from a service")
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	status, _ := postAsTenant(t, httpEP, "/v1/logs", "acme", body)
	require.Equal(t, http.StatusOK, status)
	return url
}

// probeLogs reads the schema probe's records back: attributes by body, and the resource
// attributes of schema-probe.
func probeLogs(t *testing.T, path string) (map[string]pcommon.Map, pcommon.Map) {
	ld := ReadLogs(t, path)
	records := map[string]pcommon.Map{}
	resource := pcommon.NewMap()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		if attr(rl.Resource().Attributes(), "service.name") == "schema-probe" {
			resource = rl.Resource().Attributes()
		}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				records[lrs.At(k).Body().AsString()] = lrs.At(k).Attributes()
			}
		}
	}
	return records, resource
}

func attr(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return "<absent>"
	}
	return v.AsString()
}

// TestGuardExampleEnforces runs examples/guard as shipped: a metric over its own budget folds
// into the overflow series with its total kept while another keeps every series, a flooding
// tenant is refused (telemetrygen reports RESOURCE_EXHAUSTED, HTTP gets 429 with Retry-After)
// while a polite one flows, each schema action shows in the output, and the ledger's summaries
// account for all of it.
func TestGuardExampleEnforces(t *testing.T) {
	c, env := startGuardExample(t, "guard", "")
	grpcEP, httpEP, port := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_METRICS_PORT"]
	data := env["WARDEN_DATA_DIR"]
	metricsOut := filepath.Join(data, "metrics.jsonl")

	t.Run("cardinality", func(t *testing.T) {
		want := sendCardinalityProbe(t, grpcEP)
		for _, name := range []string{"shop.cart.updates", "shop.page.views"} {
			Eventually(t, name+" total", int(want), func() int { return int(outputSeries(t, metricsOut, name).deltaTotal()) }, 30*time.Second, c)
		}
		cart := outputSeries(t, metricsOut, "shop.cart.updates")
		assert.Equal(t, 100, cart.own(), "shop.cart.updates: its budget of 100 series")
		assert.Contains(t, cart, overflowSeries, "shop.cart.updates: the rest in the overflow series")
		assert.Len(t, cart, 101)
		views := outputSeries(t, metricsOut, "shop.page.views")
		assert.Len(t, views, probeSeries, "shop.page.views: within the default budget, every series kept")
		assert.Equal(t, probeSeries-100, decisions(t, port, "cardinality", "overflow", "series_limit", "enforce"))
	})

	t.Run("rate", func(t *testing.T) {
		floodOut, floodErr := sendRateProbe(t, grpcEP)
		require.Error(t, floodErr, "the flooding sender gives up:\n%s", tail(floodOut, 20))
		assert.Contains(t, floodOut, "code = ResourceExhausted", "telemetrygen reports the refusal")
		assert.Contains(t, floodOut, "rate limit exceeded")

		Eventually(t, "the polite tenant's points", 40, func() int {
			return pointsOf(outputSeries(t, metricsOut, "acme.polite"))
		}, 30*time.Second, c)
		flooded := pointsOf(outputSeries(t, metricsOut, "trial.flood"))
		assert.GreaterOrEqual(t, flooded, 100, "the flood's first batch fits trial's burst")
		assert.Less(t, flooded, floodPoints, "the rest of the flood was refused")

		status, retryAfter := 0, ""
		for range 3 { // the first may find a full bucket
			if status, retryAfter = postAsTenant(t, httpEP, "/v1/metrics", "trial", trialBatch(t)); status == http.StatusTooManyRequests {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, status, "OTLP/HTTP over trial's limit")
		delay, err := strconv.Atoi(retryAfter)
		require.NoError(t, err, "Retry-After %q", retryAfter)
		assert.Positive(t, delay)
		assert.Positive(t, decisions(t, port, "rate", "refuse", "records", "enforce"))
	})

	t.Run("schema", func(t *testing.T) {
		url := sendSchemaProbe(t, grpcEP, httpEP)
		logsOut := filepath.Join(data, "logs.jsonl")
		Eventually(t, "log records kept", 2, LogCount(t, logsOut), 30*time.Second, c)
		records, resource := probeLogs(t, logsOut)
		probe, ok := records["schema probe"]
		require.True(t, ok, "the probe record arrives")

		// truncate: 256 bytes, a prefix of the URL then ~ and 12 hex digits of its hash.
		got := attr(probe, "url.full")
		assert.Len(t, got, 256)
		assert.Regexp(t, `~[0-9a-f]{12}$`, got)
		assert.True(t, strings.HasPrefix(url, got[:256-13]), "the truncated URL starts as the URL")
		// drop_attribute: the forbidden key, and the status code of the wrong type.
		assert.Equal(t, "<absent>", attr(probe, "user.password"))
		assert.Equal(t, "<absent>", attr(probe, "http.response.status_code"))
		// tag: the environment outside the list is kept and named in warden.schema.violation.
		assert.Equal(t, "laptop", attr(resource, "deployment.environment.name"))
		assert.Equal(t, `["not_allowed_value:deployment.environment.name"]`, attr(resource, "warden.schema.violation"))
		// The conventions' _OTHER mapping, the original kept beside it.
		assert.Equal(t, "_OTHER", attr(probe, "http.request.method"))
		assert.Equal(t, "GETT", attr(probe, "http.request.method_original"))
		// drop_record: the resource without service.name is gone, its neighbour is not.
		assert.Contains(t, records, "from a service")
		assert.NotContains(t, records, "from nowhere")

		for _, d := range []struct{ action, reason string }{
			{"truncate", "too_long"}, {"drop_attribute", "forbidden_key"}, {"drop_attribute", "wrong_type"},
			{"tag", "not_allowed_value"}, {"map_other", "not_allowed_value"}, {"drop_record", "missing_required"},
			{"drop", "missing_required"},
		} {
			assert.Equal(t, 1, decisions(t, port, "schema", d.action, d.reason, "enforce"), "schema %s %s", d.action, d.reason)
		}
	})

	c.Stop()
	t.Run("ledger", func(t *testing.T) {
		audit := filepath.Join(data, "audit")
		assert.Equal(t, int64(probeSeries-100), guardSummaries(t, audit, "cart")["cardinality.overflow.series_limit"])
		assert.Positive(t, guardSummaries(t, audit, "trial-app")["rate.refuse.records"])
		probe := guardSummaries(t, audit, "schema-probe")
		for _, k := range []string{"schema.truncate.too_long", "schema.drop_attribute.forbidden_key", "schema.drop_attribute.wrong_type",
			"schema.tag.not_allowed_value", "schema.map_other.not_allowed_value"} {
			assert.Equal(t, int64(1), probe[k], k)
		}
		assert.Equal(t, int64(1), guardSummaries(t, audit, "")["schema.drop.missing_required"], "the record without a service")
		tenants := map[string]bool{}
		for _, e := range ledgerEntries(t, audit) {
			if e.Event.Action == "telemetry.export" {
				tenants[e.Event.Attributes["tenant"]] = true
			}
		}
		assert.True(t, tenants["acme"] && tenants["trial"], "deliveries recorded with their tenant: %v", tenants)
	})
}

// pointsOf counts a metric's points.
func pointsOf(s guardSeries) int {
	n := 0
	for _, pts := range s {
		n += len(pts)
	}
	return n
}

// TestGuardExampleReportMode runs examples/guard with WARDEN_GUARD_MODE=report and the same
// probes: everything arrives as it was sent, and the decisions enforce mode would have made
// are counted, with mode="report", in the collector's metrics and the ledger's summaries.
func TestGuardExampleReportMode(t *testing.T) {
	c, env := startGuardExample(t, "guard-report", "report")
	grpcEP, httpEP, port := env["WARDEN_OTLP_GRPC_ENDPOINT"], env["WARDEN_OTLP_HTTP_ENDPOINT"], env["WARDEN_METRICS_PORT"]
	data := env["WARDEN_DATA_DIR"]
	metricsOut := filepath.Join(data, "metrics.jsonl")

	want := sendCardinalityProbe(t, grpcEP)
	floodOut, floodErr := sendRateProbe(t, grpcEP)
	require.NoError(t, floodErr, "nothing is refused in report mode:\n%s", tail(floodOut, 20))
	status, _ := postAsTenant(t, httpEP, "/v1/metrics", "trial", trialBatch(t))
	assert.Equal(t, http.StatusOK, status)
	url := sendSchemaProbe(t, grpcEP, httpEP)

	Eventually(t, "shop.cart.updates total", int(want), func() int { return int(outputSeries(t, metricsOut, "shop.cart.updates").deltaTotal()) }, 30*time.Second, c)
	Eventually(t, "flood points", floodPoints, func() int { return pointsOf(outputSeries(t, metricsOut, "trial.flood")) }, 30*time.Second, c)
	cart := outputSeries(t, metricsOut, "shop.cart.updates")
	assert.Len(t, cart, probeSeries, "every series kept")
	assert.NotContains(t, cart, overflowSeries)
	assert.Equal(t, 40, pointsOf(outputSeries(t, metricsOut, "acme.polite")))
	assert.Equal(t, 150, pointsOf(outputSeries(t, metricsOut, "trial.http")))

	logsOut := filepath.Join(data, "logs.jsonl")
	Eventually(t, "log records, none dropped", 3, LogCount(t, logsOut), 30*time.Second, c)
	records, resource := probeLogs(t, logsOut)
	probe := records["schema probe"]
	assert.Equal(t, url, attr(probe, "url.full"))
	assert.Equal(t, "hunter2", attr(probe, "user.password"))
	assert.Equal(t, "200", attr(probe, "http.response.status_code"))
	assert.Equal(t, "GETT", attr(probe, "http.request.method"))
	assert.Equal(t, "<absent>", attr(probe, "http.request.method_original"))
	assert.Equal(t, "<absent>", attr(resource, "warden.schema.violation"))
	assert.Contains(t, records, "from nowhere")

	// What enforce mode would have done, counted.
	assert.Equal(t, probeSeries-100, decisions(t, port, "cardinality", "overflow", "series_limit", "report"))
	assert.Positive(t, decisions(t, port, "rate", "refuse", "records", "report"))
	for _, d := range []struct{ action, reason string }{
		{"truncate", "too_long"}, {"drop_attribute", "forbidden_key"}, {"drop_attribute", "wrong_type"},
		{"tag", "not_allowed_value"}, {"map_other", "not_allowed_value"}, {"drop_record", "missing_required"},
	} {
		assert.Equal(t, 1, decisions(t, port, "schema", d.action, d.reason, "report"), "schema %s %s", d.action, d.reason)
	}
	assert.Zero(t, collectorCounter(t, port, guardDecisions, map[string]string{"mode": "enforce"}), "no decision enforced")

	c.Stop()
	audit := filepath.Join(data, "audit")
	assert.Equal(t, int64(probeSeries-100), guardSummaries(t, audit, "cart")["cardinality.report.overflow.series_limit"])
	assert.Positive(t, guardSummaries(t, audit, "trial-app")["rate.report.refuse.records"])
	assert.Equal(t, int64(1), guardSummaries(t, audit, "schema-probe")["schema.report.truncate.too_long"])
	assert.Equal(t, int64(1), guardSummaries(t, audit, "")["schema.report.drop_record.missing_required"])
	assert.Zero(t, guardSummaries(t, audit, "cart")["cardinality.overflow.series_limit"])
}

// startTierGateway runs examples/gateway-tier/config-gateway.yaml as shipped with the e2e PKI,
// a budget of budget series per metric, forwarding to upstream in plaintext.
func startTierGateway(t *testing.T, pki *PKI, name string, budget int, upstream string) (*Collector, map[string]string) {
	t.Helper()
	data := t.TempDir()
	env := map[string]string{
		"WARDEN_GATEWAY_NAME":       name,
		"WARDEN_SERIES_PER_METRIC":  strconv.Itoa(budget),
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_HOST":       "127.0.0.1",
		"WARDEN_METRICS_PORT":       strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_TLS_CERT":           pki.ServerCert,
		"WARDEN_TLS_KEY":            pki.ServerKey,
		"WARDEN_TLS_CLIENT_CA":      pki.CA,
		"WARDEN_UPSTREAM_ENDPOINT":  upstream,
		"WARDEN_UPSTREAM_INSECURE":  "true",
		"WARDEN_UPSTREAM_CA":        "",
		"WARDEN_DATA_DIR":           data,
		"WARDEN_KEY_DIR":            filepath.Join(data, "keys"),
	}
	return StartCollector(t, name, filepath.Join(root, "examples", "gateway-tier", "config-gateway.yaml"), env), env
}

// TestGuardGatewayTier runs examples/gateway-tier as shipped: an agent routing metrics by name
// over mTLS to two gateways, each with a budget of 50 series per metric, in front of the default
// config as backend. 16 metrics of 120 series each, sent twice: at the backend each metric has
// its 50 series and one overflow series, all from one gateway, with its total; both gateways
// took a share, and each folded exactly the points of the metrics routed to it.
func TestGuardGatewayTier(t *testing.T) {
	const budget, metricCount, seriesPerMetric = 50, 16, 120
	pki := NewPKI(t)
	backend, benv := startDefault(t, "backend")
	gw1, genv1 := startTierGateway(t, pki, "gateway-1", budget, benv["WARDEN_OTLP_GRPC_ENDPOINT"])
	gw2, genv2 := startTierGateway(t, pki, "gateway-2", budget, benv["WARDEN_OTLP_GRPC_ENDPOINT"])
	aenv := map[string]string{
		"WARDEN_OTLP_GRPC_ENDPOINT": FreeEndpoint(t),
		"WARDEN_OTLP_HTTP_ENDPOINT": FreeEndpoint(t),
		"WARDEN_HEALTH_ENDPOINT":    FreeEndpoint(t),
		"WARDEN_METRICS_PORT":       strconv.Itoa(Port(t, FreeEndpoint(t))),
		"WARDEN_GATEWAY_1":          genv1["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_GATEWAY_2":          genv2["WARDEN_OTLP_GRPC_ENDPOINT"],
		"WARDEN_TLS_CA":             pki.CA,
		"WARDEN_TLS_CERT":           pki.ClientCert,
		"WARDEN_TLS_KEY":            pki.ClientKey,
	}
	agent := StartCollector(t, "tier-agent", filepath.Join(root, "examples", "gateway-tier", "config-agent.yaml"), aenv)

	names := make([]string, metricCount)
	for m := range names {
		names[m] = fmt.Sprintf("tier.metric.%02d", m)
	}
	bySession := func(i int, m pcommon.Map) { m.PutStr("session.id", fmt.Sprintf("s-%03d", i)) }
	value := func(i int) int64 { return int64(i + 1) }
	t0 := time.Now().Add(-time.Minute)
	var perMetric int64
	for round := 1; round <= 2; round++ {
		ts := t0.Add(time.Duration(round) * 10 * time.Second)
		md := pmetric.NewMetrics()
		for _, name := range names {
			sumRequest("tier-app", name, pmetric.AggregationTemporalityDelta, ts.Add(-10*time.Second), ts, 0, seriesPerMetric, bySession, value).
				ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		}
		require.NoError(t, exportMetricsGRPC(aenv["WARDEN_OTLP_GRPC_ENDPOINT"], "", md))
		for i := range seriesPerMetric {
			perMetric += value(i)
		}
	}

	out := filepath.Join(benv["WARDEN_DATA_DIR"], "metrics.jsonl")
	tierTotal := func() int {
		var n int64
		for name, s := range metricSeries(ReadMetrics(t, out)) {
			if strings.HasPrefix(name, "tier.metric.") {
				n += s.deltaTotal()
			}
		}
		return int(n)
	}
	Eventually(t, "every metric's total at the backend", int(perMetric)*metricCount, tierTotal, 60*time.Second, agent, gw1, gw2, backend)

	all := metricSeries(ReadMetrics(t, out))
	routed := map[string]int{}
	for _, name := range names {
		s := all[name]
		gws := s.gateways()
		assert.Len(t, gws, 1, "%s: enforced by one gateway, got %v", name, gws)
		assert.Equal(t, budget, s.own(), "%s: its budget of series across the tier", name)
		assert.Contains(t, s, overflowSeries, "%s: the rest in one overflow series", name)
		assert.LessOrEqual(t, len(s), budget+1, name)
		assert.Equal(t, perMetric, s.deltaTotal(), "%s: total kept", name)
		if len(gws) == 1 {
			routed[gws[0]]++
		}
		t.Logf("%s: gateway %v, %d series + overflow at the backend, total %d (sent %d)", name, gws, s.own(), s.deltaTotal(), perMetric)
	}
	assert.Positive(t, routed["gateway-1"], "gateway-1 enforces some metrics: %v", routed)
	assert.Positive(t, routed["gateway-2"], "gateway-2 enforces some metrics: %v", routed)

	// Each gateway folded the points over the budget of the metrics routed to it, and no others.
	for _, gw := range []struct {
		name string
		env  map[string]string
	}{{"gateway-1", genv1}, {"gateway-2", genv2}} {
		folded := decisions(t, gw.env["WARDEN_METRICS_PORT"], "cardinality", "overflow", "series_limit", "enforce")
		assert.Equal(t, routed[gw.name]*2*(seriesPerMetric-budget), folded, "%s: points folded", gw.name)
		t.Logf("%s: %d metrics, %d points folded", gw.name, routed[gw.name], folded)
	}
}

// TestGuardOverflowPointPerBatch sends the default config one request that holds each of two
// metrics in two entries of the same resource, the shape any batching stage makes when it
// concatenates requests (the batch processor, an exporter's batcher, telemetrygen's batches):
// 2500 series in the first entry and 500 in the second, 500 of each folded. The batch must
// leave with one overflow point per metric, as the processor documents ("one point per
// batch"), not one per entry: two delta points of one series with overlapping intervals, or
// two cumulative points of one series at one timestamp with different totals, are what
// backends drop or reject as duplicates.
func TestGuardOverflowPointPerBatch(t *testing.T) {
	c, env := startDefault(t, "default")
	out := filepath.Join(env["WARDEN_DATA_DIR"], "metrics.jsonl")
	ts := time.Now().Truncate(time.Second)
	start := ts.Add(-10 * time.Second)
	// 100 users x 30 routes, each key within its budget of values.
	bySeries := func(i int, m pcommon.Map) {
		m.PutStr("user.id", fmt.Sprintf("u-%03d", i%100))
		m.PutStr("http.route", fmt.Sprintf("/api/r%02d", i/100))
	}
	value := func(i int) int64 { return int64(i + 1) }
	md := pmetric.NewMetrics()
	for _, part := range [][2]int{{0, 2500}, {2500, 3000}} {
		sumRequest("shop", "shop.split", pmetric.AggregationTemporalityDelta, start, ts, part[0], part[1], bySeries, value).
			ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		sumRequest("shop", "shop.split.total", pmetric.AggregationTemporalityCumulative, start, ts, part[0], part[1], bySeries, value).
			ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	require.NoError(t, exportMetricsGRPC(env["WARDEN_OTLP_GRPC_ENDPOINT"], "", md))

	var total, folded int64
	for i := range 3000 {
		total += value(i)
		if i >= 2000 {
			folded += value(i)
		}
	}
	Eventually(t, "shop.split total", int(total), func() int { return int(outputSeries(t, out, "shop.split").deltaTotal()) }, 30*time.Second, c)
	for _, name := range []string{"shop.split", "shop.split.total"} {
		s := outputSeries(t, out, name)
		assert.Equal(t, 2000, s.own(), name)
		if assert.Len(t, s[overflowSeries], 1, "%s: one overflow point for the batch", name) {
			assert.Equal(t, folded, s[overflowSeries][0].value, name)
		}
	}
}
