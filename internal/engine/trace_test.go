package engine

import (
	"context"
	"maps"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestOTelEnv(t *testing.T) {
	svc := store.Service{Name: "my-api", ARN: "arn:aws:apprunner:eu-west-1:000000000000:service/my-api/0123"}
	got := otelEnv("http://10.0.2.2:4318", "eu-west-1", svc, "op123456-abcdef")
	want := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://10.0.2.2:4318",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_SERVICE_NAME":           "my-api",
		"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=op123456-abcdef,cloud.region=eu-west-1," +
			"cloud.resource_id=arn:aws:apprunner:eu-west-1:000000000000:service/my-api/0123",
	}
	if !maps.Equal(got, want) {
		t.Errorf("otelEnv = %v\nwant %v", got, want)
	}
	if got, want := resourceValue(`a,b=c%d e;"\`), `a%2Cb%3Dc%25d%20e%3B%22%5C`; got != want {
		t.Errorf("resourceValue = %q, want %q", got, want)
	}
	env := under(map[string]string{"OTEL_SERVICE_NAME": "mine", "PORT_X": "1"}, want)
	if env["OTEL_SERVICE_NAME"] != "mine" || env["PORT_X"] != "1" || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://10.0.2.2:4318" {
		t.Errorf("under = %v, want the configuration's OTEL_SERVICE_NAME kept and the rest added", env)
	}
}

// TestEngineTracing enables and disables observability with an AWSXRAY
// configuration on a service: its route becomes Traced and its new
// instances get the OpenTelemetry variables, then neither.
func TestEngineTracing(t *testing.T) {
	h := newHarness(t, true)
	b := &imageBackend{fakeBackend: h.backend, present: true}
	h.eng.backend = b
	h.eng.cfg.OTLPEndpoint = "http://10.0.2.2:4318"
	h.run(t)
	ctx := context.Background()

	oc, err := h.ctl.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{
		ObservabilityConfigurationName: "xray", TraceConfiguration: &ar.TraceConfiguration{Vendor: ar.TracingVendorAwsxray}})
	if err != nil {
		t.Fatal(err)
	}
	noTrace, err := h.ctl.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: "none"})
	if err != nil {
		t.Fatal(err)
	}
	out := h.createService(t, "traced-app")
	arn := out.Service.ServiceArn
	if op := h.waitOperation(t, out.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("create %s: %s", op.Status, op.Reason)
	}
	lastEnv := func() map[string]string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.envs[len(b.envs)-1]
	}
	check := func(step string, traced bool) {
		t.Helper()
		svc, _ := h.service(t, arn)
		// The route follows once the operation has succeeded.
		rt, ok := h.router.route(svc.Host)
		for deadline := time.Now().Add(5 * time.Second); (!ok || rt.Traced != traced) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			rt, ok = h.router.route(svc.Host)
		}
		if !ok || rt.Traced != traced || rt.ServiceARN != arn {
			t.Errorf("%s: route %+v, want Traced %v with the service's ARN", step, rt, traced)
		}
		env := lastEnv()
		if got := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; (got == "http://10.0.2.2:4318") != traced || (got == "") == traced {
			t.Errorf("%s: instance's OTEL_EXPORTER_OTLP_ENDPOINT = %q, traced %v", step, got, traced)
		}
		if traced && env["OTEL_SERVICE_NAME"] != "traced-app" {
			t.Errorf("%s: OTEL_SERVICE_NAME = %q, want traced-app", step, env["OTEL_SERVICE_NAME"])
		}
	}
	check("observability off", false)

	update := func(step string, cfg *ar.ServiceObservabilityConfiguration) {
		t.Helper()
		u, err := h.ctl.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: arn, ObservabilityConfiguration: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if op := h.waitOperation(t, u.OperationId); op.Status != ar.OperationStatusSucceeded {
			t.Fatalf("%s: update %s: %s", step, op.Status, op.Reason)
		}
	}
	xray := *oc.ObservabilityConfiguration.ObservabilityConfigurationArn
	update("enabled", &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: &xray})
	check("enabled with AWSXRAY", true)
	none := *noTrace.ObservabilityConfiguration.ObservabilityConfigurationArn
	update("no trace configuration", &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: &none})
	check("enabled without a trace configuration", false)
	update("enabled again", &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: &xray})
	update("disabled", &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: false})
	check("disabled", false)

	// A daemon without an OTLP endpoint traces nothing, whatever services say.
	off := &Engine{cfg: Config{}, store: h.st}
	if off.traced(ctx, store.Config{Observability: &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: &xray}}) {
		t.Error("traced without an OTLP endpoint")
	}
}
