package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the router's service.name: its spans are one service in
// a trace view, the apps' spans (OTEL_SERVICE_NAME, the App Runner
// service's name) their children, as with any proxy in front of services.
const ServiceName = "slipway-router"

// tracesPath is where OTLP/HTTP takes spans, under the endpoint's base URL
// (as SDKs add it to OTEL_EXPORTER_OTLP_ENDPOINT).
const tracesPath = "/v1/traces"

// Provider makes the router's spans and exports them in batches.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// New returns a Provider exporting to endpoint, the base URL of an OTLP/HTTP
// receiver ("http://127.0.0.1:4318"), as OTEL_EXPORTER_OTLP_ENDPOINT is.
// Export failures are logged: spans are dropped, requests never wait.
func New(endpoint string, log *slog.Logger) (*Provider, error) {
	u, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + tracesPath
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	// The SDK reports export failures through this process-wide hook; the
	// daemon is the process's only user of OpenTelemetry.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("exporting spans failed", "endpoint", endpoint, "err", err)
	}))
	res := resource.NewSchemaless(attribute.String("service.name", ServiceName))
	if def, err := resource.Merge(resource.Default(), res); err == nil {
		res = def
	}
	tp := sdktrace.NewTracerProvider(
		// Spans go out within a second (the SDK's default is 5): what a
		// developer looks for in a trace view comes soon.
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res),
		// An incoming traceparent's sampled flag decides, else every
		// request is traced: the configuration asked for tracing.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithIDGenerator(xrayIDs{}),
	)
	return &Provider{tp: tp}, nil
}

// Tracer is the router's tracer.
func (p *Provider) Tracer() trace.Tracer {
	return p.tp.Tracer("github.com/slipwayhq/slipway/internal/router")
}

// Shutdown exports the spans still buffered, until ctx ends.
func (p *Provider) Shutdown(ctx context.Context) error {
	return p.tp.Shutdown(ctx)
}

// ParseEndpoint checks an OTLP/HTTP base URL: http or https, a host, no
// query or fragment.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("OTLP endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("OTLP endpoint %q: want an OTLP/HTTP base URL such as http://127.0.0.1:4318", endpoint)
	}
	return u, nil
}

// InstanceEndpoint is endpoint as an instance reaches it. An instance in a
// network namespace of its own has a loopback of its own: the host's
// loopback is hostLoopback there, so a loopback host is replaced by it
// (the port kept). Without namespaces (hostLoopback empty), or for any
// other host, the endpoint is the same for both.
func InstanceEndpoint(endpoint, hostLoopback string) string {
	u, err := ParseEndpoint(endpoint)
	if err != nil || hostLoopback == "" || !isLoopback(u.Hostname()) {
		return endpoint
	}
	if p := u.Port(); p != "" {
		u.Host = net.JoinHostPort(hostLoopback, p)
	} else {
		u.Host = hostLoopback
	}
	return u.String()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
