package router

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/slipwayhq/slipway/internal/netns"
)

// nsTarget is a backend in a network namespace of its own. Its instance
// listens on its own loopback, often on the same port as every other
// instance, so the transport must never pool its connections with
// another's: each nsTarget has a URL host of its own (key), which the dial
// function maps back to the namespace and the real address.
type nsTarget struct {
	key  string // "<seq>.netns:<port>", the URL host requests to it carry
	path string // the namespace, /proc/PID/ns/net
	addr string // host:port inside the namespace

	// mu guards h, opened at the first dial and kept open so that later
	// dials cannot land in another namespace that reused the pid.
	mu     sync.Mutex
	h      *netns.Handle
	closed bool
}

func (t *nsTarget) dial(ctx context.Context, network string) (net.Conn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("instance namespace %s is gone", t.path)}
	}
	if t.h == nil {
		h, err := netns.Open(t.path)
		if err != nil {
			t.mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		t.h = h
	}
	h := t.h
	t.mu.Unlock()
	// close waits for no dial: a namespace closed mid-dial fails that dial,
	// which the retry covers.
	return h.DialContext(ctx, network, t.addr)
}

func (t *nsTarget) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.h != nil {
		t.h.Close()
		t.h = nil
	}
}

// targetKey names a backend's namespace target: the same instance ID may be
// started again in a new namespace.
func targetKey(b Backend) string { return b.ID + "\x00" + b.NetNS }

// targetLocked returns the namespace target of b, creating it if needed.
func (r *Router) targetLocked(b Backend) *nsTarget {
	k := targetKey(b)
	if t := r.targets[k]; t != nil {
		return t
	}
	r.seq++
	_, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		port = "80"
	}
	t := &nsTarget{key: net.JoinHostPort(strconv.FormatUint(r.seq, 10)+".netns", port), path: b.NetNS, addr: b.Addr}
	r.targets[k] = t
	r.byURLHost.Store(t.key, t)
	return t
}

// pruneTargetsLocked closes the targets no route uses any more.
func (r *Router) pruneTargetsLocked(used map[*nsTarget]bool) {
	for k, t := range r.targets {
		if !used[t] {
			delete(r.targets, k)
			r.byURLHost.Delete(t.key)
			t.close()
		}
	}
}

// dial is the transport's dial function: URL hosts of namespace targets
// dial into their namespace, anything else on the host's network.
func (r *Router) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if v, ok := r.byURLHost.Load(addr); ok {
		return v.(*nsTarget).dial(ctx, network)
	}
	return r.hostDialer.DialContext(ctx, network, addr)
}
