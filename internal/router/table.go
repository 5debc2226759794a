package router

import "sync/atomic"

// routeEntry is one immutable entry of the routing table, apart from the
// round-robin cursor and the in-flight counters it points to.
type routeEntry struct {
	route    Route // Backends is nil; see backends
	backends []*backendEntry
	next     atomic.Uint64
	gate     *gate // the host's queue, shared by every version of the route
	// trace makes the route's spans; nil when it is not traced.
	trace *routeTrace
}

type backendEntry struct {
	id    string
	addr  string
	netns string
	// urlHost is what requests to this backend carry as URL host: addr, or
	// the namespace target's key.
	urlHost string
	target  *nsTarget // nil on the host's network
	counter *counter
	// pool holds the fast path's idle connections to this backend.
	pool *connPool
}

// counter counts the requests in flight to one backend ID. It is shared by
// every route entry listing that ID, across table versions.
type counter struct {
	n atomic.Int64
}

// acquire picks a backend of host's route, round robin, other than
// exclude, with room under the route's MaxConcurrency, and counts it in
// flight. It returns a nil backend if the route is missing (nil entry too),
// not serving, or has no backend to offer; full says it has backends, all
// at their MaxConcurrency.
//
// After counting, acquire checks the table did not change meanwhile; if it
// did, it undoes and picks again from the new table. Together with writers
// storing the table before Drain reads the counters, this guarantees that a
// request either is seen by Drain or never reaches a removed backend.
//
// Backends a dial recently failed to (unreachable.go) are passed over while
// another can take the request, and picked only when none can.
func (r *Router) acquire(host, exclude string) (*routeEntry, *backendEntry, bool) {
	avoid := true
retry:
	for {
		t := r.table.Load()
		e := (*t)[host]
		if e == nil || e.route.State != Serving || len(e.backends) == 0 {
			return e, nil, false
		}
		n := uint64(len(e.backends))
		i := e.next.Add(1) - 1
		limit := int64(e.route.MaxConcurrency)
		full, avoided := false, false
		for k := range n {
			b := e.backends[(i+k)%n]
			if b.id == exclude {
				continue
			}
			if avoid && b.unreachable() {
				avoided = true
				continue
			}
			if c := b.counter.n.Add(1); limit > 0 && c > limit {
				b.counter.n.Add(-1)
				full = true
				continue
			}
			if r.table.Load() == t {
				return e, b, false
			}
			b.counter.n.Add(-1)
			continue retry
		}
		if avoided && !full {
			avoid = false
			continue retry
		}
		return e, nil, full
	}
}

// acquireOn is acquire for a request on a private Server or a public one:
// a route the Server may not serve is as if there were none.
func (r *Router) acquireOn(host string, private bool) (*routeEntry, *backendEntry, bool) {
	if !visible((*r.table.Load())[host], private) {
		return nil, nil, false
	}
	return r.acquire(host, "")
}

func (r *Router) copyTableLocked() map[string]*routeEntry {
	cur := *r.table.Load()
	next := make(map[string]*routeEntry, len(cur)+1)
	for h, e := range cur {
		next[h] = e
	}
	return next
}

// newEntryLocked builds the table entry for route, reusing the in-flight
// counter of any backend ID already known so that requests started under an
// older route still count.
func (r *Router) newEntryLocked(route Route) *routeEntry {
	g := r.gates[route.Host]
	if g == nil {
		g = newGate()
		r.gates[route.Host] = g
	}
	e := &routeEntry{route: route, backends: make([]*backendEntry, 0, len(route.Backends)), gate: g}
	e.route.Backends = nil
	if route.Traced && r.tracer != nil {
		e.trace = newRouteTrace(r.tracer, route)
	}
	for _, b := range route.Backends {
		c := r.counters[b.ID]
		if c == nil {
			c = new(counter)
			r.counters[b.ID] = c
		}
		be := &backendEntry{id: b.ID, addr: b.Addr, netns: b.NetNS, urlHost: b.Addr, counter: c}
		if b.NetNS != "" {
			be.target = r.targetLocked(b)
			be.urlHost = be.target.key
		}
		be.pool = r.pools[be.urlHost]
		if be.pool == nil {
			be.pool = new(connPool)
			r.pools[be.urlHost] = be.pool
		}
		e.backends = append(e.backends, be)
	}
	return e
}

// storeTableLocked publishes t and forgets the counters of backends that are
// no longer routed to and have nothing in flight, so IDs of past deployments
// do not accumulate. A request racing with the pruning sees the new table in
// acquire and backs off, so losing its counter is harmless.
func (r *Router) storeTableLocked(t map[string]*routeEntry) {
	r.table.Store(&t)
	used := make(map[*counter]bool)
	usedTargets := make(map[*nsTarget]bool)
	usedPools := make(map[*connPool]bool)
	for _, e := range t {
		for _, b := range e.backends {
			used[b.counter] = true
			usedTargets[b.target] = true
			usedPools[b.pool] = true
		}
	}
	r.pruneTargetsLocked(usedTargets)
	for k, p := range r.pools {
		if !usedPools[p] {
			delete(r.pools, k)
			p.close()
		}
	}
	for h, g := range r.gates {
		if t[h] == nil && g.queued.Load() == 0 {
			delete(r.gates, h)
		}
	}
	for id, c := range r.counters {
		if !used[c] && c.n.Load() == 0 {
			delete(r.counters, id)
		}
	}
}
