package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/slipwayhq/slipway/internal/tracing"
)

// A traced route's requests each get a server span, started when the
// request arrives (queueing included) and ended with its answer, whether
// the app's or the router's own (429, 502, 503, 504). The span continues
// the client's trace: its W3C traceparent, or else its X-Amzn-Trace-Id
// (X-Ray's, as App Runner's load balancer reads it). The app is sent the
// span's context in both headers, so an app instrumented with either
// propagator makes its spans children of the router's. Routes that are not
// traced cost one nil check.

// spanMethods are the methods spans name as they are; others are "HTTP"
// in span names and "_OTHER" in http.request.method, as OpenTelemetry's
// HTTP conventions keep their cardinality low.
var spanMethods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// routeTrace is how one traced route's spans are made: what every span of
// the route has is computed once, when the route is installed.
type routeTrace struct {
	tracer trace.Tracer
	// names are the span names by spanMethods index, "GET my-api"; other
	// is for other methods.
	names [len(spanMethods)]string
	other string
	// start holds the options every span of the route starts with.
	start []trace.SpanStartOption
}

func newRouteTrace(t trace.Tracer, route Route) *routeTrace {
	rt := &routeTrace{tracer: t, other: "HTTP " + route.Service}
	for i, m := range spanMethods {
		rt.names[i] = m + " " + route.Service
	}
	attrs := []attribute.KeyValue{attribute.String("slipway.service.name", route.Service)}
	if route.ServiceARN != "" {
		attrs = append(attrs, attribute.String("slipway.service.arn", route.ServiceARN))
	}
	rt.start = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...)}
	return rt
}

// method returns the http.request.method attribute and the span name for
// method, without allocating.
func method[T ~string | ~[]byte](rt *routeTrace, method T) (string, string) {
	for i, m := range spanMethods {
		if string(method) == m {
			return m, rt.names[i]
		}
	}
	return "_OTHER", rt.other
}

// startSpan starts a request's span at start, as a child of parent if
// that is valid (or as the first of parent's trace, if it has only a
// trace ID), with attributes of the request.
func (rt *routeTrace) startSpan(parent trace.SpanContext, name string, start time.Time, attrs ...attribute.KeyValue) trace.Span {
	ctx := context.Background()
	switch {
	case parent.IsValid():
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	case parent.TraceID().IsValid():
		// An X-Amzn-Trace-Id with a Root and no Parent: the span is the
		// first of that trace.
		ctx = tracing.WithTraceID(ctx, parent.TraceID())
	}
	opts := append(rt.start[:len(rt.start):len(rt.start)], trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	_, span := rt.tracer.Start(ctx, name, opts...)
	return span
}

// endSpan ends a request's span with the status the client was answered
// (0 when it went away unanswered). 5xx answers are errors; 4xx are the
// client's, not the server's.
func endSpan(span trace.Span, status int) {
	if status > 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// remoteParent is the span context a request carries: its traceparent
// when it has exactly one valid one (fromTraceparent), else its
// X-Amzn-Trace-Id's. A zero SpanContext means none: the span starts a
// trace.
func remoteParent[T ~string | ~[]byte](traceparent T, traceparents int, amzn T) (sc trace.SpanContext, fromTraceparent bool) {
	if traceparents == 1 {
		if sc, ok := parseTraceparent(traceparent); ok {
			return sc, true
		}
	}
	if len(amzn) > 0 {
		sc, _ = parseAmznTraceID(amzn)
	}
	return sc, false
}

// parseTraceparent parses a W3C traceparent value: version 00 exactly, a
// later version by the part 00 defines.
func parseTraceparent[T ~string | ~[]byte](v T) (trace.SpanContext, bool) {
	const size = 55 // 00-<32 hex>-<16 hex>-<2 hex>
	if len(v) < size || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return trace.SpanContext{}, false
	}
	var ver [1]byte
	if !decodeLowerHex(ver[:], v[0:2]) || ver[0] == 0xff || (ver[0] == 0 && len(v) != size) ||
		(len(v) > size && v[size] != '-') {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !decodeLowerHex(tid[:], v[3:35]) || !decodeLowerHex(sid[:], v[36:52]) || !decodeLowerHex(flags[:], v[53:55]) {
		return trace.SpanContext{}, false
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled, Remote: true})
	return sc, sc.IsValid()
}

// parseAmznTraceID parses an X-Amzn-Trace-Id value,
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1":
// the X-Ray trace ID is the W3C one without "1-" and "-". Without a Parent
// (a load balancer, or a client, started the trace) the SpanContext has
// the trace ID and no span ID. Sampled=0 is not sampled; 1, ? or
// none leaves it to the router, which samples.
func parseAmznTraceID[T ~string | ~[]byte](v T) (trace.SpanContext, bool) {
	var cfg trace.SpanContextConfig
	cfg.TraceFlags, cfg.Remote = trace.FlagsSampled, true
	root := false
	for len(v) > 0 {
		var part T
		part, v = cut(v, ';')
		key, val := cut(trimSpace(part), '=')
		switch string(key) {
		case "Root":
			// 1-<8 hex>-<24 hex>
			if len(val) != 35 || string(val[:2]) != "1-" || val[10] != '-' ||
				!decodeLowerHex(cfg.TraceID[:4], val[2:10]) || !decodeLowerHex(cfg.TraceID[4:], val[11:]) {
				return trace.SpanContext{}, false
			}
			root = true
		case "Parent":
			if len(val) != 16 || !decodeLowerHex(cfg.SpanID[:], val) {
				return trace.SpanContext{}, false
			}
		case "Sampled":
			if string(val) == "0" {
				cfg.TraceFlags = 0
			}
		}
	}
	if !root {
		return trace.SpanContext{}, false
	}
	// Without a Parent, the trace ID alone: the router's span is the
	// trace's first (see startSpan).
	return trace.NewSpanContext(cfg), true
}

func cut[T ~string | ~[]byte](v T, sep byte) (T, T) {
	for i := 0; i < len(v); i++ {
		if v[i] == sep {
			return v[:i], v[i+1:]
		}
	}
	return v, v[len(v):]
}

func trimSpace[T ~string | ~[]byte](v T) T {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// decodeLowerHex decodes src, lower-case hex of exactly 2*len(dst) digits,
// into dst (W3C trace context allows no upper case).
func decodeLowerHex[T ~string | ~[]byte](dst []byte, src T) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendTraceparent appends sc as a traceparent value.
func appendTraceparent(b []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	if sc.IsSampled() {
		return append(b, "-01"...)
	}
	return append(b, "-00"...)
}

// appendAmznTraceID appends sc as an X-Amzn-Trace-Id value.
func appendAmznTraceID(b []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, "Root=1-"...)
	b = hex.AppendEncode(b, tid[:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, tid[4:])
	b = append(b, ";Parent="...)
	b = hex.AppendEncode(b, sid[:])
	if sc.IsSampled() {
		return append(b, ";Sampled=1"...)
	}
	return append(b, ";Sampled=0"...)
}

// startSpan starts the span of the fast path's request, whose route rt
// traces.
func (c *fastConn) startSpan(rt *routeTrace, start time.Time) {
	var tp, amzn []byte
	n := 0
	for _, f := range c.req.fields {
		switch {
		case is(f.name, "traceparent"):
			tp = f.value
			n++
		case is(f.name, "x-amzn-trace-id"):
			amzn = f.value
		}
	}
	parent, fromTraceparent := remoteParent(tp, n, amzn)
	c.tracestate = fromTraceparent
	m, name := method(rt, c.req.method)
	path := c.req.target
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	c.span = rt.startSpan(parent, name, start,
		attribute.String("http.request.method", m),
		attribute.String("url.scheme", scheme),
		attribute.String("url.path", string(path)),
		attribute.String("server.address", c.hostKey),
		attribute.String("client.address", c.clientIP),
		attribute.String("network.protocol.version", "1.1"))
}

// traceField reports whether a request header of this name is replaced
// by the span's context on its way to the backend.
func (c *fastConn) traceField(name []byte) bool {
	return is(name, "traceparent") || is(name, "x-amzn-trace-id") || (!c.tracestate && is(name, "tracestate"))
}

// writeTraceHeaders writes the span's context for the backend.
func (c *fastConn) writeTraceHeaders(w *bufio.Writer) {
	sc := c.span.SpanContext()
	b := append(c.traceBuf[:0], "Traceparent: "...)
	b = appendTraceparent(b, sc)
	b = append(b, "\r\nX-Amzn-Trace-Id: "...)
	b = appendAmznTraceID(b, sc)
	b = append(b, "\r\n"...)
	c.traceBuf = b
	w.Write(b)
}

// startHTTP starts the span of net/http's request req for host, and sets
// its context in the headers the backend is sent.
func (rt *routeTrace) startHTTP(req *http.Request, host string) trace.Span {
	tps := req.Header.Values("Traceparent")
	tp := ""
	if len(tps) > 0 {
		tp = tps[0]
	}
	parent, fromTraceparent := remoteParent(tp, len(tps), req.Header.Get("X-Amzn-Trace-Id"))
	m, name := method(rt, req.Method)
	scheme, proto := "http", "1.1"
	if req.TLS != nil {
		scheme = "https"
	}
	switch {
	case req.ProtoMajor == 2:
		proto = "2"
	case req.ProtoMinor == 0:
		proto = "1.0"
	}
	client, _, _ := net.SplitHostPort(req.RemoteAddr)
	span := rt.startSpan(parent, name, time.Now(),
		attribute.String("http.request.method", m),
		attribute.String("url.scheme", scheme),
		attribute.String("url.path", req.URL.Path),
		attribute.String("server.address", host),
		attribute.String("client.address", client),
		attribute.String("network.protocol.version", proto))
	sc := span.SpanContext()
	req.Header.Set("Traceparent", string(appendTraceparent(nil, sc)))
	req.Header.Set("X-Amzn-Trace-Id", string(appendAmznTraceID(nil, sc)))
	if !fromTraceparent {
		req.Header.Del("Tracestate")
	}
	return span
}
