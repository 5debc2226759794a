package router

import "time"

// unreachableFor is how long new requests avoid a backend after a dial to
// it failed: long enough for the engine to find the instance (or its node)
// gone and update the route, short enough that a backend that refused one
// connection is not lost for long. A later failed dial renews it.
const unreachableFor = 5 * time.Second

// markUnreachable makes new requests avoid the backend at urlHost for
// unreachableFor, while its route has another backend to offer; its
// address may serve again sooner only under a new route. Its idle
// connections are closed: a backend that cannot be dialled has most
// likely lost them too, and a request written into one of a vanished host
// would wait for TCP to give up.
func (r *Router) markUnreachable(urlHost string) {
	r.mu.Lock()
	p := r.pools[urlHost]
	r.mu.Unlock()
	if p == nil {
		return // no longer routed to
	}
	p.unreachableUntil.Store(time.Now().Add(unreachableFor).UnixNano())
	p.closeIdle()
}

// unreachable reports whether a dial to b failed within unreachableFor.
// Unmarked, it costs one atomic load.
func (b *backendEntry) unreachable() bool {
	until := b.pool.unreachableUntil.Load()
	if until == 0 {
		return false
	}
	if time.Now().UnixNano() < until {
		return true
	}
	b.pool.unreachableUntil.CompareAndSwap(until, 0)
	return false
}
