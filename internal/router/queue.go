package router

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// gate is a host's queue: requests that found every backend at its
// MaxConcurrency, or the service idle, wait on it until a request ends, the
// route changes, or they time out. It outlives table versions, so waiting
// requests see the route's next version.
type gate struct {
	queued atomic.Int64

	mu sync.Mutex
	ch chan struct{} // closed, and replaced, to wake every waiter
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ch
}

// broadcast wakes every waiter to try again. Waiters are few and short
// lived, so waking all of them is simpler than handing capacity over and
// cheap enough.
func (g *gate) broadcast() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.ch)
	g.ch = make(chan struct{})
}

// release ends a request to b: b's count drops, and a waiter, if any, may
// take its place.
func (r *Router) release(g *gate, b *backendEntry) {
	b.counter.n.Add(-1)
	if g != nil && g.queued.Load() > 0 {
		g.broadcast()
	}
}

// wait queues a request for host whose route e had no room (or is idle)
// until a backend takes it. It returns the backend, counted in flight, or
// a status to answer: 429 when the queue is full or the wait timed out, 0
// with no backend when the route went away or stopped serving (the caller
// refuses as usual), or when the client left.
func (r *Router) wait(ctx context.Context, host string, e *routeEntry) (*routeEntry, *backendEntry, int) {
	g := e.gate
	depth := int64(e.route.QueueDepth)
	if depth <= 0 {
		depth = DefaultQueueDepth
	}
	if g.queued.Add(1) > depth {
		g.queued.Add(-1)
		return e, nil, http.StatusTooManyRequests
	}
	defer g.queued.Add(-1)
	timer := time.NewTimer(r.queueTimeout)
	defer timer.Stop()
	for {
		ch := g.wait() // before trying, so that no wake-up is missed
		cur, b, full := r.acquire(host, "")
		if b != nil {
			return cur, b, 0
		}
		switch {
		case cur == nil:
			return e, nil, 0
		case cur.route.State == Idle:
			if r.wake != nil {
				// The route's own host: host may be an alias.
				r.wake(cur.route.Host)
			}
		case !full:
			// Paused, unavailable or without backends: refuse.
			return cur, nil, 0
		}
		e = cur
		select {
		case <-ch:
		case <-timer.C:
			return e, nil, http.StatusTooManyRequests
		case <-ctx.Done():
			return e, nil, http.StatusTooManyRequests
		}
	}
}

// Load is what the autoscaler watches: the requests in flight to host's
// backends, and those waiting for one.
func (r *Router) Load(host string) (inFlight, queued int) {
	e := (*r.table.Load())[canonicalHost(host)]
	if e == nil {
		return 0, 0
	}
	for _, b := range e.backends {
		inFlight += int(b.counter.n.Load())
	}
	return inFlight, int(e.gate.queued.Load())
}
