package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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

// Backends on the host's network are on this machine or on a cluster
// node next to it, where a connection takes a millisecond. A node that has
// vanished (no refusal, no reset) must cost a request seconds, not the
// kernel's minutes: the dial, the request written into a pooled
// connection, and the wait for an answer are each bounded, and each
// failure sends the request to another backend where it may go again.
const (
	// backendDialTimeout leaves room for one SYN retransmission (1 s).
	backendDialTimeout = 2 * time.Second
	// backendUserTimeout ends a connection whose sent data the backend's
	// kernel has not acknowledged for that long (TCP_USER_TIMEOUT): a
	// live host acknowledges at once, however slow its app.
	backendUserTimeout = 5 * time.Second
	// Keep-alive probes find a vanished backend under a request that is
	// waiting for its answer.
	backendKeepAliveIdle     = 5 * time.Second
	backendKeepAliveInterval = time.Second
	backendKeepAliveCount    = 3
)

func newHostDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: backendDialTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true,
			Idle: backendKeepAliveIdle, Interval: backendKeepAliveInterval, Count: backendKeepAliveCount},
		Control: func(network, _ string, c syscall.RawConn) error {
			if network != "tcp" && network != "tcp4" && network != "tcp6" {
				return nil
			}
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(backendUserTimeout/time.Millisecond))
			})
			return errors.Join(err, serr)
		},
	}
}

// dial is the transport's dial function, and the fast path's: URL hosts
// of namespace targets dial into their namespace, anything else on the
// host's network. A failed dial marks the backend unreachable
// (unreachable.go), whichever path made it.
func (r *Router) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nc net.Conn
	var err error
	if v, ok := r.byURLHost.Load(addr); ok {
		nc, err = v.(*nsTarget).dial(ctx, network)
	} else {
		nc, err = r.hostDialer.DialContext(ctx, network, addr)
	}
	if err != nil && isDialError(err) {
		r.markUnreachable(addr)
	}
	return nc, err
}
