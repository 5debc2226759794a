package router

import (
	"context"
	"time"
)

// drainPoll is how often Drain looks at the counters. Polling keeps the
// request path free of locks and wake-ups; a drain is not latency critical.
const drainPoll = 10 * time.Millisecond

// InFlight returns the number of requests currently proxied to the backend
// with this ID, WebSocket connections included while they are open.
func (r *Router) InFlight(backendID string) int {
	r.mu.Lock()
	c := r.counters[backendID]
	r.mu.Unlock()
	if c == nil {
		return 0
	}
	return int(c.n.Load())
}

// Drain waits until no request is in flight to any of ids, or ctx ends, in
// which case it returns ctx.Err(). Call it after SetRoute removed the
// backends: requests still arriving are then routed elsewhere.
func (r *Router) Drain(ctx context.Context, ids ...string) error {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		if r.idle(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (r *Router) idle(ids []string) bool {
	for _, id := range ids {
		if r.InFlight(id) != 0 {
			return false
		}
	}
	return true
}
