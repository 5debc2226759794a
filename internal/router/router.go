package router

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultRequestTimeout bounds a proxied request when Config leaves it zero;
// it is App Runner's documented 120 second request timeout.
const DefaultRequestTimeout = 120 * time.Second

// Config tunes a Router. The zero value is usable.
type Config struct {
	// RequestTimeout bounds a whole proxied request, body included.
	// Upgraded (WebSocket) connections are not bounded. Default 120s.
	RequestTimeout time.Duration
	// QueueTimeout bounds how long a request waits for capacity: for a
	// backend under its MaxConcurrency, or for an idle service to wake.
	// Default DefaultQueueTimeout.
	QueueTimeout time.Duration
	// Wake is called, without the router's locks, when a request arrives
	// at an Idle route; it should start an instance. Calls may repeat while
	// requests keep waiting.
	Wake func(host string)
	// Observer, if set, is told the status and duration of every request
	// for a routed host (metrics). Nil means none, at no cost.
	Observer Observer
	// Challenge, if set, answers ACME HTTP-01 challenges
	// (/.well-known/acme-challenge/...) that arrive over plain HTTP, and
	// reports whether it did.
	Challenge func(http.ResponseWriter, *http.Request) bool
	// HTTPSPort is the port HTTPS is served on, for redirects from plain
	// HTTP (see SetAlias); 443 is left out of the URL.
	HTTPSPort int
	// Tracer, if set, makes a server span of every request for a route
	// that is Traced. Nil means none, at no cost.
	Tracer trace.Tracer
	// TrustedProxies are the peers (a load balancer in front of Slipway)
	// whose X-Forwarded-For and X-Real-IP are passed on to apps. From
	// anyone else those headers are dropped, and X-Forwarded-For starts
	// with the peer's address: a client cannot make an app believe it
	// comes from elsewhere.
	TrustedProxies []netip.Prefix
}

// trusts reports whether the peer at addr ("ip:port") is a trusted proxy.
func (r *Router) trusts(addr string) bool {
	if len(r.trustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range r.trustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// DefaultQueueTimeout is how long a request waits for capacity by default.
const DefaultQueueTimeout = 30 * time.Second

// State says whether a route accepts traffic.
type State int

// The zero State is Serving so that a Route with backends serves by default.
const (
	// Serving routes requests round robin to the route's backends.
	Serving State = iota
	// Paused answers 503 with a page saying the service is paused.
	Paused
	// Unavailable answers 503 "no healthy instance", e.g. while a service
	// deploys for the first time or is stopped.
	Unavailable
	// Idle has no instance running because the service scaled to zero:
	// requests wait (in the queue) while Config.Wake starts one.
	Idle
)

func (s State) String() string {
	switch s {
	case Serving:
		return "Serving"
	case Paused:
		return "Paused"
	case Unavailable:
		return "Unavailable"
	case Idle:
		return "Idle"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Backend is one instance of a service.
type Backend struct {
	// ID names the instance; InFlight and Drain count requests by it.
	ID string
	// Addr is the instance's host:port, inside NetNS if that is set.
	Addr string
	// NetNS is the instance's network namespace (/proc/PID/ns/net), or
	// empty when it serves on the host's network.
	NetNS string
}

// Route maps a host name to a service's instances.
type Route struct {
	// Host is the host name without port; it is matched case-insensitively.
	Host string
	// Service is the service name, shown in pages and logs.
	Service string
	// ServiceARN is the service's ARN, an attribute of its spans.
	ServiceARN string
	// Traced makes the router trace the route's requests (see trace.go),
	// when Config.Tracer is set.
	Traced   bool
	State    State
	Backends []Backend
	// MaxConcurrency is the most requests one backend is sent at once (App
	// Runner's MaxConcurrency); 0 means no limit. Requests beyond the
	// backends' capacity wait in a queue.
	MaxConcurrency int
	// QueueDepth bounds the requests waiting at once; one more is answered
	// 429 Too Many Requests, as is one that waits past Config.QueueTimeout.
	// 0 means DefaultQueueDepth.
	QueueDepth int
	// Private routes are served only by private Servers, under their
	// private aliases (see private.go).
	Private bool
}

// DefaultQueueDepth is a route's queue bound when it sets none.
const DefaultQueueDepth = 1000

// Router is an http.Handler proxying each request to a backend of the route
// matching its Host header. It is safe for concurrent use.
type Router struct {
	log          *slog.Logger
	timeout      time.Duration
	queueTimeout time.Duration
	wake         func(host string)
	obs          Observer
	challenge    func(http.ResponseWriter, *http.Request) bool
	httpsPort    int
	tracer       trace.Tracer
	proxy        *httputil.ReverseProxy
	// transport is the pool of connections to backends, wrapped by the
	// retrying RoundTripper that proxy uses.
	transport *http.Transport
	// h2cTransport is the pool of HTTP/2 cleartext connections to backends,
	// for gRPC requests (see backendTransport).
	h2cTransport *http.Transport

	// table is the current routing table. It is never modified in place:
	// writers build a new map and swap the pointer, so ServeHTTP takes no lock.
	table atomic.Pointer[map[string]*routeEntry]

	// mu serializes writers of table and guards counters.
	mu sync.Mutex
	// counters holds the in-flight count of every backend ID that is routed
	// to, or was and still had requests in flight at the last table write.
	counters map[string]*counter
	// gates holds the queue of every routed host, across table versions.
	gates map[string]*gate
	// targets holds the namespace targets of the routed backends, by
	// targetKey; seq numbers their URL hosts.
	targets map[string]*nsTarget
	seq     uint64
	// pools holds the fast path's idle backend connections, by URL host.
	pools map[string]*connPool

	// aliases maps alias host names (custom domains) to the host of the
	// route they serve; the table lists each alias with its route's entry.
	// An alias "*.example.com" serves the names one label under
	// example.com that have no entry of their own.
	aliases map[string]string
	// wildcards holds the wildcard aliases, each mapped to itself so that a
	// lookup by bytes finds the key without allocating; nil when there is
	// none, so that lookups stay exact and cost nothing more.
	wildcards atomic.Pointer[map[string]string]
	// httpsOnly holds the aliases whose plain HTTP requests are redirected
	// to HTTPS; like table, it is replaced, never modified.
	httpsOnly atomic.Pointer[map[string]bool]

	// byURLHost maps a namespace target's URL host to it, for dial, which
	// runs without mu.
	byURLHost      sync.Map
	hostDialer     *net.Dialer
	trustedProxies []netip.Prefix // see Config.TrustedProxies
}

// New returns a Router with an empty routing table.
func New(cfg Config, log *slog.Logger) *Router {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		log:            log.With("component", "router"),
		timeout:        cfg.RequestTimeout,
		queueTimeout:   cfg.QueueTimeout,
		wake:           cfg.Wake,
		obs:            cfg.Observer,
		challenge:      cfg.Challenge,
		httpsPort:      cfg.HTTPSPort,
		tracer:         cfg.Tracer,
		trustedProxies: cfg.TrustedProxies,
		aliases:        make(map[string]string),
		counters:       make(map[string]*counter),
		gates:          make(map[string]*gate),
		targets:        make(map[string]*nsTarget),
		pools:          make(map[string]*connPool),
		hostDialer:     newHostDialer(),
	}
	r.transport = &http.Transport{
		// Backends are local; an environment proxy must never apply.
		Proxy:                 nil,
		DialContext:           r.dial,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		// Pass Accept-Encoding and compressed bodies through untouched.
		DisableCompression: true,
	}
	r.h2cTransport = newH2CTransport(r.transport)
	r.proxy = &httputil.ReverseProxy{
		Rewrite:   rewrite,
		Transport: &retryTransport{r: r},
		// 0, not -1: ReverseProxy still flushes at once for event streams
		// and responses of unknown length (streaming, gRPC), while a
		// response of known length goes out in one write rather than a
		// header write and a body write per request (bench/router: +25%
		// req/s at 32 connections).
		FlushInterval: 0,
		BufferPool:    newBufferPool(),
		ErrorHandler:  r.proxyError,
		ErrorLog:      slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	empty := map[string]*routeEntry{}
	r.table.Store(&empty)
	return r
}

// Close releases idle connections to backends. The Router stays usable.
func (r *Router) Close() {
	r.transport.CloseIdleConnections()
	r.h2cTransport.CloseIdleConnections()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		p.closeIdle()
	}
}

// ServeHTTP routes req by its Host header.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := canonicalHost(req.Host)
	private := isPrivate(req)
	host := r.tableKey(name, private)
	if req.TLS == nil {
		// A connection the fast path handed over after its TLS handshake.
		if st, ok := req.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
			req.TLS = st
		}
	}
	if req.TLS == nil {
		if r.challenge != nil && strings.HasPrefix(req.URL.Path, acmeChallengePrefix) && r.challenge(w, req) {
			return
		}
		if r.redirects(host) {
			http.Redirect(w, req, r.httpsURL(name, req.URL.RequestURI()), http.StatusPermanentRedirect)
			return
		}
	}
	if r.obs != nil || r.tracer != nil {
		if e := (*r.table.Load())[host]; e != nil && visible(e, private) && (r.obs != nil || e.trace != nil) {
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			if r.obs != nil {
				defer r.observe(e.route.Service, sw, time.Now())
			}
			if e.trace != nil {
				span := e.trace.startHTTP(req, name)
				defer func() { endSpan(span, sw.status) }()
			}
		}
	}
	e, b, full := r.acquireOn(host, private)
	if b == nil && (full || (e != nil && e.route.State == Idle)) {
		var status int
		e, b, status = r.wait(req.Context(), host, e)
		if status != 0 {
			r.overCapacity(e, status).write(w)
			return
		}
	}
	if b == nil {
		r.refusal(name, e).write(w)
		return
	}
	at := &attempt{host: host, service: e.route.Service, backend: b, gate: e.gate, retryable: retryable(req),
		trustedPeer: r.trusts(req.RemoteAddr)}
	// The attempt's backend may change if the transport retries elsewhere;
	// release whichever one it ends on, also when the proxy panics to abort.
	defer func() { r.release(at.gate, at.backend) }()

	ctx := req.Context()
	if !isUpgrade(req) {
		// A hijacked connection would be torn down when this context ends,
		// so only ordinary requests are bounded.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, attemptKey{}, at)
	r.proxy.ServeHTTP(w, req.WithContext(ctx))
}

// SetRoute installs route, atomically replacing any route for the same host.
// Once it returns, no new request goes to a backend the route no longer lists.
func (r *Router) SetRoute(route Route) {
	host := canonicalHost(route.Host)
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.copyTableLocked()
	route.Host = host
	next[host] = r.newEntryLocked(route)
	for alias, target := range r.aliases {
		if target == host {
			next[alias] = next[host]
		}
	}
	r.storeTableLocked(next)
	// Waiting requests look at the new route: backends may have come.
	next[host].gate.broadcast()
}

// RemoveRoute removes the route for host, if any.
func (r *Router) RemoveRoute(host string) {
	host = canonicalHost(host)
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.copyTableLocked()
	old := next[host]
	delete(next, host)
	for alias, target := range r.aliases {
		if target == host {
			delete(next, alias)
		}
	}
	r.storeTableLocked(next)
	if old != nil {
		old.gate.broadcast()
	}
}

// Routes returns a copy of the routing table sorted by host.
func (r *Router) Routes() []Route {
	t := *r.table.Load()
	out := make([]Route, 0, len(t))
	for h, e := range t {
		if h != e.route.Host {
			continue // an alias
		}
		rt := e.route
		rt.Backends = make([]Backend, len(e.backends))
		for i, b := range e.backends {
			rt.Backends[i] = Backend{ID: b.id, Addr: b.addr, NetNS: b.netns}
		}
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// Serves reports whether host has a route or is an alias of one.
func (r *Router) Serves(host string) bool {
	return (*r.table.Load())[r.routeKey(canonicalHost(host))] != nil
}

// ldhLabel reports whether s is a DNS label: letters, digits and hyphens.
func ldhLabel(s string) bool {
	if len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// routeKey is the table key that serves the canonical host: host itself,
// or, when host has no entry and a wildcard alias exists, the wildcard
// "*.<parent>" one label up if the table has it. Exact names win over
// wildcards, and a wildcard covers one label only, as in certificates.
func (r *Router) routeKey(host string) string {
	w := r.wildcards.Load()
	if w == nil {
		return host
	}
	t := *r.table.Load()
	if t[host] != nil {
		return host
	}
	i := strings.IndexByte(host, '.')
	if i <= 0 || !ldhLabel(host[:i]) {
		// What a wildcard stands for is one DNS label, nothing else: no
		// "@", "%" or "#" reaching X-Forwarded-Host or a redirect.
		return host
	}
	var buf [256]byte
	k := append(append(buf[:0], '*'), host[i:]...)
	if key, ok := (*w)[string(k)]; ok && t[key] != nil {
		return key
	}
	return host
}

// canonicalHost lowercases h and strips any port and trailing dot, so that
// "ABC.localhost:8080" and "abc.localhost" match the same route.
func canonicalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func isUpgrade(req *http.Request) bool {
	return req.Header.Get("Upgrade") != "" &&
		headerHasToken(req.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// SetAlias serves the route of host under alias too: a custom domain, or
// "*.example.com" for every name one label under example.com. httpsOnly
// redirects plain HTTP requests for alias to HTTPS, once it has a
// certificate. The alias follows the route across SetRoute and RemoveRoute.
func (r *Router) SetAlias(alias, host string, httpsOnly bool) {
	alias, host = canonicalHost(alias), canonicalHost(host)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.aliases[alias] = host
	next := r.copyTableLocked()
	if e := next[host]; e != nil && e.route.Host == host {
		next[alias] = e
	} else {
		delete(next, alias)
	}
	r.storeTableLocked(next)
	r.setHTTPSOnlyLocked(alias, httpsOnly)
	r.storeWildcardsLocked()
}

// RemoveAlias stops serving alias.
func (r *Router) RemoveAlias(alias string) {
	alias = canonicalHost(alias)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.aliases[alias]; !ok {
		return
	}
	delete(r.aliases, alias)
	next := r.copyTableLocked()
	delete(next, alias)
	r.storeTableLocked(next)
	r.setHTTPSOnlyLocked(alias, false)
	r.storeWildcardsLocked()
}

// storeWildcardsLocked publishes the wildcard aliases. Aliases are custom
// domains: few, and rarely changed.
func (r *Router) storeWildcardsLocked() {
	w := map[string]string{}
	for a := range r.aliases {
		if strings.HasPrefix(a, "*.") {
			w[a] = a
		}
	}
	if len(w) == 0 {
		r.wildcards.Store(nil)
		return
	}
	r.wildcards.Store(&w)
}

func (r *Router) setHTTPSOnlyLocked(alias string, on bool) {
	cur := r.httpsOnly.Load()
	if cur == nil && !on || cur != nil && (*cur)[alias] == on {
		return
	}
	next := map[string]bool{}
	if cur != nil {
		for k := range *cur {
			next[k] = true
		}
	}
	if on {
		next[alias] = true
	} else {
		delete(next, alias)
	}
	r.httpsOnly.Store(&next)
}

// redirects reports whether plain HTTP requests for host go to HTTPS.
func (r *Router) redirects(host string) bool {
	m := r.httpsOnly.Load()
	return m != nil && (*m)[host]
}

// httpsURL is where a plain HTTP request for host and target is redirected.
func (r *Router) httpsURL(host, target string) string {
	if r.httpsPort == 0 || r.httpsPort == 443 {
		return "https://" + host + target
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(r.httpsPort)) + target
}

// acmeChallengePrefix is where ACME's HTTP-01 challenges arrive.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// tlsStateKey marks the context of a TLS connection the fast path handed
// to net/http, which cannot see the TLS under it.
type tlsStateKey struct{}

var _ http.Handler = (*Router)(nil)
