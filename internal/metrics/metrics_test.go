package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/engine"
	"github.com/slipwayhq/slipway/internal/router"
)

type fakeRouter struct {
	routes []router.Route
	load   map[string][2]int // host → in flight, queued
}

func (f fakeRouter) Routes() []router.Route { return f.routes }
func (f fakeRouter) Load(host string) (int, int) {
	l := f.load[host]
	return l[0], l[1]
}

type fakeEngine struct {
	list []engine.ServiceScale
	err  error
}

func (f fakeEngine) ScaleStatus(context.Context) ([]engine.ServiceScale, error) { return f.list, f.err }

func TestRequests(t *testing.T) {
	m := New(nil)
	for _, r := range []struct {
		service string
		status  int
		d       time.Duration
	}{
		{"api", 200, 3 * time.Millisecond},
		{"api", 204, 30 * time.Millisecond},
		{"api", 304, time.Millisecond / 2},
		{"api", 404, 2 * time.Second},
		{"api", 503, 200 * time.Second}, // beyond the last bucket
		{"api", 101, time.Hour},         // an upgraded connection: counted, not timed
		{"api", 0, time.Millisecond},    // the client left: timed, no status
		{"web", 200, time.Millisecond},
	} {
		m.Request(r.service, r.status, r.d)
	}
	for _, c := range []struct {
		service, code string
		want          float64
	}{
		{"api", "1xx", 1}, {"api", "2xx", 2}, {"api", "3xx", 1}, {"api", "4xx", 1}, {"api", "5xx", 1},
		{"web", "2xx", 1}, {"web", "5xx", 0},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.service, c.code)); got != c.want {
			t.Errorf("slipway_requests_total{service=%q,code=%q} = %v, want %v", c.service, c.code, got, c.want)
		}
	}
	want := `
# HELP slipway_request_duration_seconds Time from a request's arrival at the router to the end of its response, queueing included; upgraded connections are not counted.
# TYPE slipway_request_duration_seconds histogram
slipway_request_duration_seconds_bucket{service="web",le="0.001"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.0025"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.005"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.01"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.025"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.05"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.1"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.25"} 1
slipway_request_duration_seconds_bucket{service="web",le="0.5"} 1
slipway_request_duration_seconds_bucket{service="web",le="1"} 1
slipway_request_duration_seconds_bucket{service="web",le="2.5"} 1
slipway_request_duration_seconds_bucket{service="web",le="5"} 1
slipway_request_duration_seconds_bucket{service="web",le="10"} 1
slipway_request_duration_seconds_bucket{service="web",le="30"} 1
slipway_request_duration_seconds_bucket{service="web",le="60"} 1
slipway_request_duration_seconds_bucket{service="web",le="120"} 1
slipway_request_duration_seconds_bucket{service="web",le="+Inf"} 1
slipway_request_duration_seconds_sum{service="web"} 0.001
slipway_request_duration_seconds_count{service="web"} 1
`
	// Only web's series are compared in full; api's count says what was timed.
	web := New(nil)
	web.Request("web", 200, time.Millisecond)
	if err := testutil.CollectAndCompare(web.duration, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 2 {
		t.Errorf("duration series = %d, want 2 (api, web)", n)
	}
	if got := histogramCount(t, m, "api"); got != 6 {
		t.Errorf("api duration count = %d, want 6 (all but the upgrade)", got)
	}
}

func histogramCount(t *testing.T, m *Metrics, service string) uint64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "slipway_request_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					return mt.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no duration histogram for %s", service)
	return 0
}

func TestCodeClass(t *testing.T) {
	for _, c := range []struct {
		status int
		want   string
	}{
		{101, "1xx"}, {200, "2xx"}, {299, "2xx"}, {302, "3xx"}, {429, "4xx"}, {504, "5xx"}, {599, "5xx"}, {999, "5xx"}, {42, "1xx"},
	} {
		if got := codeClasses[codeClass(c.status)]; got != c.want {
			t.Errorf("codeClass(%d) = %s, want %s", c.status, got, c.want)
		}
	}
}

func TestScrapeTimeGauges(t *testing.T) {
	m := New(nil)
	m.WatchRouter(fakeRouter{
		routes: []router.Route{
			{Host: "a.localhost", Service: "api"},
			{Host: "w.localhost", Service: "web"},
		},
		load: map[string][2]int{"a.localhost": {7, 3}},
	})
	m.WatchEngine(fakeEngine{list: []engine.ServiceScale{
		{Service: "api", Desired: 3, Ready: 2},
		{Service: "web", Desired: 1, Ready: 1},
	}})
	want := `
# HELP slipway_instances_desired Instances a service should run now, as the autoscaler decided; 0 when paused.
# TYPE slipway_instances_desired gauge
slipway_instances_desired{service="api"} 3
slipway_instances_desired{service="web"} 1
# HELP slipway_instances_ready Instances of a service taking traffic: active and not failing their health check.
# TYPE slipway_instances_ready gauge
slipway_instances_ready{service="api"} 2
slipway_instances_ready{service="web"} 1
# HELP slipway_requests_in_flight Requests being proxied to a service's instances, WebSocket connections included.
# TYPE slipway_requests_in_flight gauge
slipway_requests_in_flight{service="api"} 7
slipway_requests_in_flight{service="web"} 0
# HELP slipway_requests_queued Requests waiting for a service's capacity (every instance at its MaxConcurrency, or the service waking from zero).
# TYPE slipway_requests_queued gauge
slipway_requests_queued{service="api"} 3
slipway_requests_queued{service="web"} 0
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want),
		"slipway_instances_desired", "slipway_instances_ready", "slipway_requests_in_flight", "slipway_requests_queued"); err != nil {
		t.Error(err)
	}
}

func TestScalingAndDeploys(t *testing.T) {
	m := New(nil)
	m.Scaled("api", 1, 3)
	m.Scaled("api", 3, 2)
	m.Scaled("api", 2, 1)
	m.Scaled("api", 0, 1) // a wake from zero scales out
	m.Deployed("api", "succeeded", 4*time.Second)
	m.Deployed("api", "rollback_succeeded", 40*time.Second)
	m.Deployed("api", "succeeded", 700*time.Second)
	if got := testutil.ToFloat64(m.scaling.WithLabelValues("api", "out")); got != 2 {
		t.Errorf("scaling out = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.scaling.WithLabelValues("api", "in")); got != 2 {
		t.Errorf("scaling in = %v, want 2", got)
	}
	want := `
# HELP slipway_deploy_duration_seconds Duration of a service's deployments (create, update, start-deployment), by final operation status.
# TYPE slipway_deploy_duration_seconds histogram
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="1"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="2.5"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="5"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="10"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="20"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="30"} 0
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="45"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="60"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="90"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="120"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="180"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="300"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="450"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="600"} 1
slipway_deploy_duration_seconds_bucket{result="rollback_succeeded",service="api",le="+Inf"} 1
slipway_deploy_duration_seconds_sum{result="rollback_succeeded",service="api"} 40
slipway_deploy_duration_seconds_count{result="rollback_succeeded",service="api"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="1"} 0
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="2.5"} 0
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="5"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="10"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="20"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="30"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="45"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="60"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="90"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="120"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="180"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="300"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="450"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="600"} 1
slipway_deploy_duration_seconds_bucket{result="succeeded",service="api",le="+Inf"} 2
slipway_deploy_duration_seconds_sum{result="succeeded",service="api"} 704
slipway_deploy_duration_seconds_count{result="succeeded",service="api"} 2
`
	if err := testutil.CollectAndCompare(m.deploys, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestHandler scrapes the handler as Prometheus would: Slipway's metrics
// and the Go runtime's are there, and an engine that cannot answer leaves
// only its own metrics out.
func TestHandler(t *testing.T) {
	m := New(nil)
	m.WatchRouter(fakeRouter{routes: []router.Route{{Host: "a.localhost", Service: "api"}}})
	m.WatchEngine(fakeEngine{err: errors.New("database is locked")})
	m.Request("api", 200, time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200 (ContinueOnError)\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`slipway_requests_total{code="2xx",service="api"} 1`,
		`slipway_requests_in_flight{service="api"} 0`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "slipway_instances_desired{") {
		t.Errorf("scrape has instance counts although the engine failed:\n%s", body)
	}
}

// BenchmarkRequest is the router's per-request cost of metrics.
func BenchmarkRequest(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("api", 200, 3*time.Millisecond)
		}
	})
}
