package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slipwayhq/slipway/internal/engine"
	"github.com/slipwayhq/slipway/internal/router"
)

// RequestBuckets are the request latency histogram's buckets, in seconds:
// from 1 ms to App Runner's 120 s request timeout.
var RequestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// DeployBuckets are the deployment duration histogram's buckets, in
// seconds: from a cached rebuild to the default 10 minute deploy timeout.
var DeployBuckets = []float64{1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600}

// scrapeTimeout bounds reading the engine's state during a scrape.
const scrapeTimeout = 5 * time.Second

// Router is where requests in flight and queued are read, at scrape time.
type Router interface {
	Routes() []router.Route
	Load(host string) (inFlight, queued int)
}

// Engine is where instance counts are read, at scrape time.
type Engine interface {
	ScaleStatus(ctx context.Context) ([]engine.ServiceScale, error)
}

// Metrics is the daemon's registry and the metrics in it. It is a
// router.Observer and an engine.Observer; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	scaling  *prometheus.CounterVec
	deploys  *prometheus.HistogramVec

	// services caches each service's label children by service name
	// (*serviceMetrics), so that a request costs no label lookup.
	services sync.Map

	// mu guards the scrape-time sources.
	mu     sync.Mutex
	router Router
	engine Engine
}

// serviceMetrics are one service's request metrics.
type serviceMetrics struct {
	codes    [5]prometheus.Counter // 1xx .. 5xx
	duration prometheus.Observer
}

var codeClasses = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

var (
	inFlightDesc = prometheus.NewDesc("slipway_requests_in_flight",
		"Requests being proxied to a service's instances, WebSocket connections included.",
		[]string{"service"}, nil)
	queuedDesc = prometheus.NewDesc("slipway_requests_queued",
		"Requests waiting for a service's capacity (every instance at its MaxConcurrency, or the service waking from zero).",
		[]string{"service"}, nil)
	desiredDesc = prometheus.NewDesc("slipway_instances_desired",
		"Instances a service should run now, as the autoscaler decided; 0 when paused.",
		[]string{"service"}, nil)
	readyDesc = prometheus.NewDesc("slipway_instances_ready",
		"Instances of a service taking traffic: active and not failing their health check.",
		[]string{"service"}, nil)
)

// New returns an empty registry with the daemon's Go and process metrics
// and Slipway's own. Errors while serving a scrape go to log.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_requests_total",
			Help: "Requests the router answered for a service, by status class (1xx is an upgraded connection).",
		}, []string{"service", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_request_duration_seconds",
			Help:    "Time from a request's arrival at the router to the end of its response, queueing included; upgraded connections are not counted.",
			Buckets: RequestBuckets,
		}, []string{"service"}),
		scaling: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_scaling_events_total",
			Help: "Autoscaler decisions that changed a service's desired instance count, by direction.",
		}, []string{"service", "direction"}),
		deploys: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_deploy_duration_seconds",
			Help:    "Duration of a service's deployments (create, update, start-deployment), by final operation status.",
			Buckets: DeployBuckets,
		}, []string{"service", "result"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.scaling, m.deploys,
		scrapeCollector{m},
	)
	return m
}

// Registry returns the registry, for tests and for serving it elsewhere.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' exposition formats. A source
// that fails leaves its metrics out; the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// WatchRouter reads requests in flight and queued from r at every scrape.
func (m *Metrics) WatchRouter(r Router) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.router = r
}

// WatchEngine reads instance counts from e at every scrape.
func (m *Metrics) WatchEngine(e Engine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.engine = e
}

// Request counts a request the router answered; it is the router's hot
// path, so after a service's first request it only looks up its cached
// children.
func (m *Metrics) Request(service string, status int, d time.Duration) {
	sm := m.service(service)
	if status != 0 {
		sm.codes[codeClass(status)].Inc()
	}
	if status != http.StatusSwitchingProtocols {
		sm.duration.Observe(d.Seconds())
	}
}

// Scaled counts a scaling event.
func (m *Metrics) Scaled(service string, from, to int) {
	dir := "out"
	if to < from {
		dir = "in"
	}
	m.scaling.WithLabelValues(service, dir).Inc()
}

// Deployed records how long a deployment took and how it ended.
func (m *Metrics) Deployed(service, result string, d time.Duration) {
	m.deploys.WithLabelValues(service, result).Observe(d.Seconds())
}

func (m *Metrics) service(name string) *serviceMetrics {
	if v, ok := m.services.Load(name); ok {
		return v.(*serviceMetrics)
	}
	sm := &serviceMetrics{duration: m.duration.WithLabelValues(name)}
	for i, c := range codeClasses {
		sm.codes[i] = m.requests.WithLabelValues(name, c)
	}
	v, _ := m.services.LoadOrStore(name, sm)
	return v.(*serviceMetrics)
}

// codeClass is the index in codeClasses of status's class.
func codeClass(status int) int {
	return min(max(status/100, 1), 5) - 1
}

// scrapeCollector reads the gauges from the router and the engine when
// scraped, so that they cost the request path nothing.
type scrapeCollector struct{ m *Metrics }

func (c scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inFlightDesc
	ch <- queuedDesc
	ch <- desiredDesc
	ch <- readyDesc
}

func (c scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	r, e := c.m.router, c.m.engine
	c.m.mu.Unlock()
	if r != nil {
		collectLoad(ch, r)
	}
	if e != nil {
		collectScale(ch, e)
	}
}

func collectLoad(ch chan<- prometheus.Metric, r Router) {
	type load struct{ inFlight, queued int }
	// A service has one host; summing by name keeps the series unique
	// even if a table ever held two.
	by := map[string]load{}
	for _, rt := range r.Routes() {
		f, q := r.Load(rt.Host)
		l := by[rt.Service]
		by[rt.Service] = load{l.inFlight + f, l.queued + q}
	}
	for svc, l := range by {
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(l.inFlight), svc)
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(l.queued), svc)
	}
}

func collectScale(ch chan<- prometheus.Metric, e Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	list, err := e.ScaleStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desiredDesc, err)
		return
	}
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s.Service] {
			continue
		}
		seen[s.Service] = true
		ch <- prometheus.MustNewConstMetric(desiredDesc, prometheus.GaugeValue, float64(s.Desired), s.Service)
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, float64(s.Ready), s.Service)
	}
}

var (
	_ router.Observer      = (*Metrics)(nil)
	_ engine.Observer      = (*Metrics)(nil)
	_ prometheus.Collector = scrapeCollector{}
	_ Router               = (*router.Router)(nil)
	_ Engine               = (*engine.Engine)(nil)
)
