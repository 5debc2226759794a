package router

import (
	"net/http"
	"strings"
)

// Backends are sent HTTP/1.1, which every app speaks, whatever protocol the
// client used, except gRPC: it needs HTTP/2 (trailers, full-duplex streams),
// and a gRPC server on a cleartext port speaks HTTP/2 by prior knowledge.
// Requests that merely arrived over HTTP/2 with "te: trailers" stay on
// HTTP/1.1: an app that only speaks HTTP/1.1 could not answer them otherwise.

// newH2CTransport returns a transport like t, dial function included (so
// namespaced backends work), that speaks only HTTP/2 cleartext by prior
// knowledge.
func newH2CTransport(t *http.Transport) *http.Transport {
	h2c := t.Clone()
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	return h2c
}

// backendTransport returns the transport that sends out to its backend.
func (r *Router) backendTransport(out *http.Request) *http.Transport {
	if isGRPC(out.Header.Get("Content-Type")) {
		return r.h2cTransport
	}
	return r.transport
}

// isGRPC reports whether contentType is gRPC's: application/grpc alone, with
// a codec suffix (+proto, +json) or with parameters. gRPC-Web
// (application/grpc-web...) is made to cross HTTP/1.1, and stays on it.
func isGRPC(contentType string) bool {
	const grpc = "application/grpc"
	if len(contentType) < len(grpc) || !strings.EqualFold(contentType[:len(grpc)], grpc) {
		return false
	}
	rest := contentType[len(grpc):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}
