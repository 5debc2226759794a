package engine

import (
	"context"
	"fmt"
	"maps"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// A service is traced when its ObservabilityConfiguration is enabled and
// names a configuration whose TraceConfiguration vendor is AWSXRAY, and the
// daemon has somewhere to send spans (Config.OTLPEndpoint): the router
// then makes a span of each of its requests, and its instances get the
// standard OpenTelemetry variables, so that an app instrumented with the
// OpenTelemetry SDK or ADOT sends its spans to the same place, in the same
// traces.

// tracedFor reads whether cfg's observability configuration asks for
// traces.
func tracedFor(tx *store.Tx, cfg store.Config) (bool, error) {
	o := cfg.Observability
	if o == nil || !o.ObservabilityEnabled || deref(o.ObservabilityConfigurationArn) == "" {
		return false, nil
	}
	c, err := tx.ObservabilityConfiguration(*o.ObservabilityConfigurationArn)
	if err != nil {
		return false, fmt.Errorf("observability configuration %s: %w", *o.ObservabilityConfigurationArn, err)
	}
	return c.TraceVendor == ar.TracingVendorAwsxray, nil
}

// traced reports whether a service with configuration cfg is traced. It
// reads the store only when tracing is on and cfg enables observability.
func (e *Engine) traced(ctx context.Context, cfg store.Config) bool {
	if e.cfg.OTLPEndpoint == "" || cfg.Observability == nil || !cfg.Observability.ObservabilityEnabled {
		return false
	}
	var on bool
	err := e.store.View(ctx, func(tx *store.Tx) (err error) { on, err = tracedFor(tx, cfg); return err })
	if err != nil && ctx.Err() == nil {
		e.log.Warn("tracing left off", "err", err)
	}
	return on
}

// otelEnv is what a traced service's instance is given, under the
// configuration's own variables: where to export (OTLP/HTTP, at endpoint
// as the instance reaches it), the service's name, and resource
// attributes that tell its instances apart and name the service as the
// API does.
func otelEnv(endpoint, region string, svc store.Service, instanceID string) map[string]string {
	attrs := []string{"service.instance.id=" + resourceValue(instanceID)}
	if region != "" {
		attrs = append(attrs, "cloud.region="+resourceValue(region))
	}
	if svc.ARN != "" {
		attrs = append(attrs, "cloud.resource_id="+resourceValue(svc.ARN))
	}
	return map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_SERVICE_NAME":           svc.Name,
		"OTEL_RESOURCE_ATTRIBUTES":    strings.Join(attrs, ","),
	}
}

// resourceValue percent-encodes what OTEL_RESOURCE_ATTRIBUTES cannot hold
// as it is (its separators, "%" and spaces), as the specification says.
func resourceValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`,;=%"\`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// under returns env with the variables of defaults it does not set
// itself: the configuration's variables win, as over App Runner's own.
func under(env, defaults map[string]string) map[string]string {
	out := maps.Clone(defaults)
	maps.Copy(out, env)
	return out
}
