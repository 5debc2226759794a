package engine

import (
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// isPrivate reports whether a service is private (IsPubliclyAccessible
// false): the router serves it only under its VPC ingress connections'
// domains, on the private listener.
func isPrivate(cfg store.Config) bool {
	n := cfg.Network
	return n != nil && n.IngressConfiguration != nil && !n.IngressConfiguration.IsPubliclyAccessible
}

// ingressAliases decides the router's private aliases: each available VPC
// ingress connection's domain names its live service's host. It is a pure
// function of the store's rows.
func ingressAliases(svcs []store.Service, conns []store.VpcIngressConnection) map[string]string {
	hosts := make(map[string]string, len(svcs))
	for _, s := range svcs {
		if s.Status != ar.ServiceStatusDeleted {
			hosts[s.ARN] = s.Host
		}
	}
	out := map[string]string{}
	for _, c := range conns {
		if h, ok := hosts[c.ServiceARN]; ok && c.Status == ar.VpcIngressConnectionStatusAvailable && c.DomainName != "" {
			out[c.DomainName] = h
		}
	}
	return out
}

// syncIngress brings the router's private aliases to want. Only the
// reconciler calls it, so e.ingress needs no lock.
func (e *Engine) syncIngress(want map[string]string) {
	for domain, host := range want {
		if e.ingress[domain] != host {
			e.router.SetPrivateAlias(domain, host)
		}
	}
	for domain := range e.ingress {
		if _, ok := want[domain]; !ok {
			e.router.RemovePrivateAlias(domain)
		}
	}
	e.ingress = want
}
