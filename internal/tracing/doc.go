// Package tracing exports the router's spans to an OTLP/HTTP endpoint, and
// says where app instances reach that endpoint to export their own.
package tracing
