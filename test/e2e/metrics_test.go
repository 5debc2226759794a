package e2e

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// scrape fetches a Prometheus text exposition and returns its samples by
// series, as exposed: `name{label="value",...}` with labels sorted.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d: %s", url, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want Prometheus text", ct)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return samples
}

// TestMetrics scrapes /metrics on the API listener around real traffic
// through the router: the request counters and the latency histogram rise
// by exactly what was sent, the instance gauges and the deployment's
// duration are there, and so are the daemon's Go metrics.
func TestMetrics(t *testing.T) {
	s := startServer(t)
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("metrics app")
	const name = "metrics-svc"
	out := s.MustAWS("create-service", "--service-name", name,
		"--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
			"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "Port": "8000",
		})),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	if st := s.WaitOperation(arn, out["OperationId"].(string), 90*time.Second); st != "SUCCEEDED" {
		t.Fatalf("create-service ended %s\n%s", st, s.Logs(name, ""))
	}
	s.WaitStatus(arn, "RUNNING", 30*time.Second)
	metricsURL := "http://" + s.API + "/metrics"

	series := func(metric string, labels ...string) string {
		return metric + "{" + strings.Join(labels, ",") + "}"
	}
	svc := `service="` + name + `"`
	var (
		ok2xx    = series("slipway_requests_total", `code="2xx"`, svc)
		err5xx   = series("slipway_requests_total", `code="5xx"`, svc)
		count    = series("slipway_request_duration_seconds_count", svc)
		slow     = series("slipway_request_duration_seconds_bucket", svc, `le="120"`)
		ready    = series("slipway_instances_ready", svc)
		desired  = series("slipway_instances_desired", svc)
		inFlight = series("slipway_requests_in_flight", svc)
		queued   = series("slipway_requests_queued", svc)
		deployed = series("slipway_deploy_duration_seconds_count", `result="succeeded"`, svc)
	)
	// The deployment is observed as its operation ends, a moment after
	// its status is recorded.
	var before map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		before = scrape(t, metricsURL)
		if before[deployed] == 1 && before[ready] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the deployment: %s = %v, %s = %v; want 1 and 1", deployed, before[deployed], ready, before[ready])
		}
		time.Sleep(200 * time.Millisecond)
	}

	const n = 25
	for i := range n {
		if code, body, err := s.Get(url, "/"); err != nil || code != 200 || !strings.Contains(body, "v1") {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
	}
	// The app has no do_POST: Python answers 501.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Router+"/", strings.NewReader("x"))
	req.Host = url
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 501 {
		t.Fatalf("POST = %d, want 501 from the app", resp.StatusCode)
	}
	after := scrape(t, metricsURL)

	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{ok2xx + " rise", after[ok2xx] - before[ok2xx], n},
		{err5xx + " rise", after[err5xx] - before[err5xx], 1},
		{count + " rise", after[count] - before[count], n + 1},
		{slow + " rise", after[slow] - before[slow], n + 1},
		{ready, after[ready], 1},
		{desired, after[desired], 1},
		{inFlight, after[inFlight], 0},
		{queued, after[queued], 0},
		{deployed, after[deployed], 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Gauges read at scrape time are there even at 0; so are the daemon's
	// own Go and process metrics.
	for _, want := range []string{inFlight, queued, "go_goroutines", "process_resident_memory_bytes"} {
		if !hasSeries(after, want) {
			t.Errorf("the scrape has no %s", want)
		}
	}
	if after[series("slipway_request_duration_seconds_sum", svc)] <= before[series("slipway_request_duration_seconds_sum", svc)] {
		t.Errorf("the latency histogram's sum did not rise")
	}
}

// hasSeries reports whether samples has series.
func hasSeries(samples map[string]float64, series string) bool {
	_, ok := samples[series]
	return ok
}

// TestMetricsListen serves /metrics on a listener of its own, and then not
// on the API listener.
func TestMetricsListen(t *testing.T) {
	addr := freeAddr(t)
	s := startServer(t, "--metrics-listen", addr)
	samples := scrape(t, "http://"+addr+"/metrics")
	if !hasSeries(samples, "go_goroutines") || samples["go_goroutines"] < 1 {
		t.Errorf("go_goroutines = %v (present %v), want a count", samples["go_goroutines"], hasSeries(samples, "go_goroutines"))
	}
	resp, err := http.Get("http://" + s.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the API listener = %d, want 404 with --metrics-listen", resp.StatusCode)
	}
}
