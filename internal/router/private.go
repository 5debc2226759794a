package router

import (
	"context"
	"net/http"
)

// Private services (App Runner's IsPubliclyAccessible false) are served
// only where App Runner serves them: under the domain of their VPC ingress
// connection, on a Server of their own (NewPrivateServer), never on the
// public one. Their names live in the routing table under a key no Host
// header can produce, so the public Server cannot reach them by name, and
// the private Server looks up nothing else.

// privatePrefix starts the table keys of private aliases: canonical hosts
// never contain NUL.
const privatePrefix = "\x00"

// privateKey is the table key under which a private Server finds host.
func privateKey(host string) string { return privatePrefix + host }

// SetPrivateAlias serves the route of host under alias on private Servers
// only: a VPC ingress connection's domain. It follows the route as SetAlias
// does.
func (r *Router) SetPrivateAlias(alias, host string) {
	r.SetAlias(privateKey(canonicalHost(alias)), host, false)
}

// RemovePrivateAlias stops serving alias on private Servers.
func (r *Router) RemovePrivateAlias(alias string) {
	r.RemoveAlias(privateKey(canonicalHost(alias)))
}

// tableKey is the key a request for the canonical host looks up: on a
// private Server only private aliases, on the public one everything else.
func (r *Router) tableKey(host string, private bool) string {
	if private {
		return privateKey(host)
	}
	return r.routeKey(host)
}

// visible reports whether e may answer on a Server that is private or
// not: a private route only on private Servers and a public one only on
// public Servers. A route hidden is as if there were none (404).
func visible(e *routeEntry, private bool) bool {
	return e == nil || e.route.Private == private
}

type privateKeyCtx struct{}

// privateHandler marks the requests of a private Server for the Router's
// ServeHTTP, which net/http's path (HTTP/2, upgrades) goes through.
type privateHandler struct{ r *Router }

func (h privateHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.r.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), privateKeyCtx{}, true)))
}

func isPrivate(req *http.Request) bool {
	p, _ := req.Context().Value(privateKeyCtx{}).(bool)
	return p
}
