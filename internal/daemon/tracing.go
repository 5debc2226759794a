package daemon

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/tracing"
)

// newSpans starts exporting the router's spans to endpoint (--otlp-endpoint);
// without one, tracing is off and it returns nil.
func newSpans(endpoint string, log *slog.Logger) (*tracing.Provider, error) {
	if endpoint == "" {
		return nil, nil
	}
	return tracing.New(endpoint, log.With("component", "tracing"))
}

// routerTracer is the router's Config.Tracer: nil, not a nil pointer in an
// interface, when tracing is off.
func routerTracer(p *tracing.Provider) trace.Tracer {
	if p == nil {
		return nil
	}
	return p.Tracer()
}

// closeSpans exports the spans still buffered, for a few seconds at most.
func closeSpans(p *tracing.Provider, log *slog.Logger) {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		log.Warn("exporting the last spans", "err", err)
	}
}

// instanceOTLPEndpoint is endpoint as instances reach it: through the
// host's loopback address in their namespace when they have one.
func instanceOTLPEndpoint(endpoint string, network *netns.Config) string {
	if endpoint == "" || network == nil {
		return endpoint
	}
	return tracing.InstanceEndpoint(endpoint, netns.HostLoopback)
}
