package router

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Pool limits for the fast path's connections to backends, as the
// net/http path's transport has them.
const (
	maxIdlePerBackend = 256
	idleConnTimeout   = 90 * time.Second
	// freshFor is how long an idle connection is trusted for a request
	// whose body cannot be sent again: backends close idle keep-alive
	// connections after a few seconds (gunicorn 2 s, Node.js 5 s), and a
	// request that streamed its body into a closing one cannot be retried.
	freshFor = time.Second
)

// backendConn is a keep-alive connection to one backend, with its buffers.
type backendConn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	// readDeadline is the read deadline set on nc (see setReadDeadline).
	readDeadline time.Time

	// ww sends requests and waits for their answers (see flushAwait).
	ww *writeWaiter
}

func newBackendConn(nc net.Conn) *backendConn {
	rw := newRawIO(nc)
	bw := bufio.NewWriterSize(rw, 8<<10)
	return &backendConn{nc: nc, br: bufio.NewReaderSize(rw, 16<<10), bw: bw, ww: newWriteWaiter(rw, bw)}
}

// flushAwait sends the buffered request and waits until the backend's
// answer can be read, without a read that would find nothing (await.go).
// Readiness from before the write can be forgotten because a backend
// sends nothing unasked: an idle pooled connection has no unread answer,
// and one the backend closed still wakes the wait when the write draws a
// reset.
func (c *backendConn) flushAwait() error {
	if c.ww.raw == nil || c.br.Buffered() > 0 {
		return c.bw.Flush()
	}
	flushErr, err := c.ww.wait()
	if flushErr != nil {
		return flushErr
	}
	return err
}

// alive reports whether the backend has not closed c while it idled: one
// non-blocking peek at the socket (nothing is read).
func (c *backendConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // an idle connection has nothing to read
	}
	rc := c.ww.raw
	if rc == nil {
		return true
	}
	// A deadline in the past would fail the peek before it is made.
	c.nc.SetReadDeadline(time.Time{})
	c.readDeadline = time.Time{}
	alive := false
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		// EAGAIN: open and quiet. 0 bytes: closed. Data: out of turn.
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		alive = err == unix.EAGAIN
		return true // never wait
	})
	return err == nil && alive
}

// connPool holds a backend's idle connections, newest last: the newest is
// the one least likely to have been closed by the backend.
type connPool struct {
	mu     sync.Mutex
	idle   []*backendConn
	closed bool

	// unreachableUntil is when the mark of a failed dial to the backend
	// ends (unix nanoseconds), 0 when unmarked (see unreachable.go). It is
	// kept here, by address, so every route version listing it shares it.
	unreachableUntil atomic.Int64
}

// get returns the newest idle connection if it has idled for less than
// maxIdle, or nil.
func (p *connPool) get(now time.Time, maxIdle time.Duration) *backendConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	c := p.idle[n-1]
	switch idle := now.Sub(c.idleSince); {
	case idle < maxIdle:
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return c
	case idle >= idleConnTimeout:
		// The newest is too old, so all are.
		p.closeAllLocked()
	}
	return nil
}

// put keeps c for reuse, or closes it if the pool is full or closed.
func (p *connPool) put(c *backendConn, now time.Time) {
	c.idleSince = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerBackend {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	p.idle = append(p.idle, c)
	// The oldest idle connection goes once it has idled too long.
	if old := p.idle[0]; now.Sub(old.idleSince) > idleConnTimeout {
		p.idle = append(p.idle[:0], p.idle[1:]...)
		old.nc.Close()
	}
	p.mu.Unlock()
}

// close closes the idle connections, and every connection put back later.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.closeAllLocked()
}

// closeIdle closes the idle connections; the pool stays usable.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAllLocked()
}

func (p *connPool) closeAllLocked() {
	for i, c := range p.idle {
		c.nc.Close()
		p.idle[i] = nil
	}
	p.idle = p.idle[:0]
}
