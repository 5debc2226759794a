// Command otelapp is the end-to-end tests' app instrumented with
// OpenTelemetry's Go SDK, configured by the standard OTEL_* variables
// alone: each request is a span, a child of the trace context the request
// carries (W3C traceparent), exported over OTLP/HTTP. Without
// OTEL_EXPORTER_OTLP_ENDPOINT it exports nothing. It answers with the
// trace headers and the endpoint it got.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func main() {
	ctx := context.Background()
	var tracer trace.Tracer = noop.NewTracerProvider().Tracer("")
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	var tp *sdktrace.TracerProvider
	if endpoint != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			log.Fatal(err)
		}
		// Default reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.Default()))
		tracer = tp.Tracer("otelapp")
	}
	prop := propagation.TraceContext{}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		_, span := tracer.Start(ctx, "handle "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		fmt.Fprintf(w, "traceparent=%s\nx-amzn-trace-id=%s\nendpoint=%s\nservice=%s\nattributes=%s\n",
			r.Header.Get("Traceparent"), r.Header.Get("X-Amzn-Trace-Id"), endpoint,
			os.Getenv("OTEL_SERVICE_NAME"), os.Getenv("OTEL_RESOURCE_ATTRIBUTES"))
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{Addr: ":" + port, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if tp != nil {
			tp.Shutdown(ctx)
		}
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
