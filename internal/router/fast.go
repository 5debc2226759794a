package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// The fast path serves HTTP/1.1 keep-alive connections in one goroutine
// each: it reads a request head, picks a backend as ServeHTTP does, writes
// the rewritten head and relays the body to a pooled backend connection,
// then relays the response back, with reused buffers and no allocation in
// the common case. net/http's server and ReverseProxy cost about three
// times nginx's CPU per request (goroutine hand-offs, header maps, flushes);
// this path does what nginx does. Requests it does not take, and the rest
// of their connection, go to net/http (see Server).

// Timeouts of client connections on the fast path.
const (
	// idleTimeout ends a keep-alive connection with no request after it.
	idleTimeout = 120 * time.Second
	// headTimeout bounds reading a request head, as the net/http path's
	// ReadHeaderTimeout.
	headTimeout = 30 * time.Second
	// awaitCheck bounds a wait for the next request that made no read
	// first (see awaitRequest); after it the connection reads as usual.
	awaitCheck = 200 * time.Millisecond
)

// fastConn is one client connection on the fast path.
type fastConn struct {
	s  *Server
	r  *Router
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	// clientIP is appended to X-Forwarded-For.
	clientIP string
	// trustedPeer: the peer is a trusted proxy, whose X-Forwarded-For and
	// X-Real-IP are passed on.
	trustedPeer bool
	// tls is the connection's TLS state, nil for plain HTTP.
	tls *tls.ConnectionState

	req  requestHead
	resp responseHead
	// host is the request's canonical host; hostKey is the same as a
	// string, kept while the host stays the same so that looking the route
	// up does not allocate.
	host    []byte
	hostKey string
	scratch []byte
	// at is the request's attempt, reused.
	at attempt
	// bodyRead says a streamed request body was read whole from the
	// client; the goroutine sending it sets it.
	bodyRead atomic.Bool

	// span is the request's span when its route is traced, else nil;
	// tracestate says the client's tracestate goes on with it (it came
	// with the traceparent the span continues); traceBuf holds the
	// headers that carry it to the backend.
	span       trace.Span
	tracestate bool
	traceBuf   []byte

	// readDeadline is the read deadline set on nc, as setReadDeadline
	// left it.
	readDeadline time.Time
	// start is when the request under way (or the last) began: the clock
	// is read once a request, for its deadlines, its backend connection's
	// idle time and the wait for the next request.
	start time.Time

	// ww sends answers and waits for the next request; probe says the
	// connection reads for its requests as usual instead (see
	// awaitRequest).
	ww    *writeWaiter
	probe bool

	// mu guards idle, which Shutdown reads to close idle connections, and
	// backend, the backend connection of the request under way, which
	// Close closes.
	mu      sync.Mutex
	idle    bool
	backend net.Conn
}

func newFastConn(s *Server, nc net.Conn) *fastConn {
	rw := newRawIO(nc)
	c := &fastConn{s: s, r: s.r, nc: nc,
		br: bufio.NewReaderSize(rw, 8<<10),
		bw: bufio.NewWriterSize(rw, 8<<10),
	}
	if ip, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.clientIP = ip
	}
	c.trustedPeer = s.r.trusts(nc.RemoteAddr().String())
	c.ww = newWriteWaiter(rw, c.bw)
	return c
}

// serve serves requests until the connection ends, or hands the
// connection to net/http. It reports whether it handed it over.
func (c *fastConn) serve() (handedOff bool) {
	for {
		if !c.setIdle(true) {
			c.bw.Flush() // the last response
			return false
		}
		if !c.awaitRequest() {
			c.setIdle(false)
			return false
		}
		_, err := c.br.Peek(1)
		c.setIdle(false)
		if err != nil {
			return false
		}
		if !c.headBuffered() {
			setReadDeadline(c.nc, &c.readDeadline, time.Now().Add(headTimeout), 0)
		}
		c.req.buf, err = readHead(c.br, c.req.buf[:0])
		if err != nil && !errors.Is(err, errHeadTooLarge) {
			// The client left, or stalled, mid-head.
			return false
		}
		if err != nil || c.req.parse() != nil || c.challenge() {
			c.s.handoff(c.nc, io.MultiReader(bytes.NewReader(c.req.buf), c.br), c.tls)
			return true
		}
		if !c.proxy() {
			return false
		}
	}
}

// awaitRequest sends the last response, left in c.bw, and waits for the
// next request without a read that would find nothing (await.go): a
// keep-alive client sends it once it has the response. A client that
// pipelines may have sent it before, unread, and its readiness is then
// forgotten, so the wait is bounded by awaitCheck, after which the
// connection reads as usual, for good. It reports false when the
// connection should end.
func (c *fastConn) awaitRequest() bool {
	if c.br.Buffered() > 0 {
		c.probe = true // pipelined
	}
	if c.ww.raw == nil || c.probe || c.bw.Buffered() == 0 {
		if c.bw.Flush() != nil {
			return false
		}
		if c.br.Buffered() == 0 {
			// The client's next request is likelier to be there after
			// the other connections had their turn.
			runtime.Gosched()
		}
	} else {
		setReadDeadline(c.nc, &c.readDeadline, c.start.Add(awaitCheck), awaitCheck/4)
		flushErr, err := c.ww.wait()
		switch {
		case flushErr != nil:
			return false
		case err == nil:
			return true // readable
		case c.s.shuttingDown.Load():
			return false
		}
		c.probe = true
	}
	setReadDeadline(c.nc, &c.readDeadline, time.Now().Add(idleTimeout), time.Second)
	return true
}

// setIdle marks the connection idle (waiting for a request) or busy. It
// reports false when the server is shutting down and the connection should
// end instead of waiting.
func (c *fastConn) setIdle(idle bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = idle
	return !idle || !c.s.shuttingDown.Load()
}

// setBackend records the backend connection a request is using (nil when
// none), for close.
func (c *fastConn) setBackend(nc net.Conn) {
	c.mu.Lock()
	c.backend = nc
	c.mu.Unlock()
}

// close ends the connection and the request under way, if any, whose
// goroutine may be waiting for its backend.
func (c *fastConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc.Close()
	if c.backend != nil {
		c.backend.Close()
	}
}

// wakeIfIdle makes an idle connection's wait for a request end now.
func (c *fastConn) wakeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// canonicalHost sets c.host and c.hostKey from the request's Host, as
// canonicalHost does.
func (c *fastConn) canonicalHost() {
	h := c.req.host
	if len(h) > 0 && h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		}
	} else if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h[:i], ':') < 0 {
		h = h[:i]
	}
	h = bytes.TrimSuffix(h, []byte{'.'})
	c.host = append(c.host[:0], h...)
	for i, b := range c.host {
		if b >= 'A' && b <= 'Z' {
			c.host[i] = b + 'a' - 'A'
		}
	}
	if c.hostKey != string(c.host) {
		c.hostKey = string(c.host)
	}
}

// proxy answers the parsed request. It reports whether the connection
// stays open for another request.
func (c *fastConn) proxy() (keep bool) {
	r := c.r
	start := time.Now()
	c.start = start
	c.canonicalHost()
	host := r.tableKey(c.hostKey, c.s.private)
	keep = !c.req.close
	if c.tls == nil && r.redirects(host) {
		return c.writeRedirect(r.httpsURL(c.hostKey, string(c.req.target)), keep)
	}
	status := 0
	e, b, full := r.acquireOn(host, c.s.private)
	if e != nil && e.trace != nil {
		c.startSpan(e.trace, start)
		defer func() {
			endSpan(c.span, status)
			c.span = nil
		}()
	}
	if r.obs != nil && e != nil {
		service := e.route.Service
		defer func() { r.obs.Request(service, status, time.Since(start)) }()
	}
	if b == nil && (full || (e != nil && e.route.State == Idle)) {
		var code int
		e, b, code = r.wait(context.Background(), host, e)
		if code != 0 {
			p := r.overCapacity(e, code)
			status = p.status
			return c.writePage(p, keep)
		}
	}
	if b == nil {
		p := r.refusal(c.hostKey, e)
		status = p.status
		return c.writePage(p, keep)
	}
	defer c.setBackend(nil)
	at := &c.at
	// The backend is dialled before any of the request is sent, so a
	// request whose backend cannot be dialled can always go to another.
	*at = attempt{host: host, service: e.route.Service, backend: b, gate: e.gate, retryable: true}
	defer func() { r.release(at.gate, at.backend) }()
	status, keep = c.roundTrip(at, start.Add(r.timeout), keep)
	return keep
}

// roundTrip sends the request to at.backend (or, when it cannot be
// dialled, to another) and relays the answer. It returns the status sent
// to the client (0 if none) and whether the client connection stays open.
func (c *fastConn) roundTrip(at *attempt, deadline time.Time, keep bool) (int, bool) {
	// A body already in the client buffer is sent from there, and can be
	// sent again; a longer one is streamed by a goroutine of its own while
	// the response is read, as net/http's transport does.
	buffered := !c.req.chunked && c.req.length > 0 && int64(c.br.Buffered()) >= c.req.length
	streamed := c.req.chunked || (c.req.length > 0 && !buffered)
	maxIdle := idleConnTimeout
	if streamed {
		maxIdle = freshFor
	}
	for try := 0; ; try++ {
		if try > 0 {
			maxIdle = 0 // a new connection
		}
		bc, reused, err := c.connect(at, maxIdle)
		if err != nil {
			return c.fail(at, err, keep)
		}
		c.setBackend(bc.nc)
		setReadDeadline(bc.nc, &bc.readDeadline, deadline, c.r.timeout/64)
		c.writeHead(bc.bw)
		var bodyDone chan error
		switch {
		case buffered:
			b, _ := c.br.Peek(int(c.req.length))
			bc.bw.Write(b)
			err = bc.flushAwait()
		case streamed:
			setReadDeadline(c.nc, &c.readDeadline, deadline, 0)
			bc.nc.SetWriteDeadline(deadline)
			c.bodyRead.Store(false)
			bodyDone = make(chan error, 1)
			go func() { bodyDone <- c.sendBody(bc.bw) }()
		default:
			err = bc.flushAwait()
		}
		if err == nil {
			c.resp.buf, err = readHead(bc.br, c.resp.buf[:0])
		}
		if err != nil {
			bc.nc.Close()
			if bodyDone != nil {
				setReadDeadline(c.nc, &c.readDeadline, time.Now(), 0)
				<-bodyDone
				return c.fail(at, err, false)
			}
			// A reused connection the backend had closed fails before any
			// answer; the request goes again on a new one, if sending it
			// twice is harmless (the backend may have taken it, then
			// died), as net/http's transport decides.
			if reused && try == 0 && len(c.resp.buf) == 0 && !isTimeout(err) && c.req.replayable() {
				continue
			}
			return c.fail(at, err, keep)
		}
		if buffered {
			c.br.Discard(int(c.req.length))
		}
		return c.relay(bc, bodyDone, keep)
	}
}

// connect returns a connection to at.backend: an idle one idle for less
// than maxIdle, or a new one. A backend that cannot be dialled is swapped
// once for another of the route, if the request can be sent again.
func (c *fastConn) connect(at *attempt, maxIdle time.Duration) (*backendConn, bool, error) {
	r := c.r
	replayable := c.req.replayable()
	for bc := at.backend.pool.get(c.start, maxIdle); bc != nil; bc = at.backend.pool.get(c.start, maxIdle) {
		// A request that must not go twice takes a pooled connection only
		// if the backend has not closed it meanwhile.
		if replayable || bc.alive() {
			return bc, true, nil
		}
		bc.nc.Close()
	}
	nc, err := r.dial(context.Background(), "tcp", at.backend.urlHost)
	if err != nil && at.retryable && isDialError(err) {
		if _, next, _ := r.acquire(at.host, at.backend.id); next != nil {
			r.log.Warn("backend unreachable, retrying on another",
				"service", at.service, "backend", at.backend.id, "next", next.id, "err", err)
			r.release(at.gate, at.backend)
			at.backend = next
			at.retried = true
			if bc := next.pool.get(time.Now(), maxIdle); bc != nil {
				return bc, true, nil
			}
			nc, err = r.dial(context.Background(), "tcp", next.urlHost)
		}
	}
	if err != nil {
		return nil, false, err
	}
	return newBackendConn(nc), false, nil
}

// sendBody streams the request body from the client to the backend.
func (c *fastConn) sendBody(bw *bufio.Writer) error {
	var err error
	if c.req.chunked {
		err = copyChunked(bw, c.br)
	} else {
		err = copyLength(bw, c.br, c.req.length)
	}
	if err == nil {
		c.bodyRead.Store(true)
		err = bw.Flush()
	}
	return err
}

// writeHead writes the request head for the backend: hop-by-hop headers
// dropped, X-Forwarded-For/-Host/-Proto set as httputil.ReverseProxy's
// SetXForwarded sets them, the client's Host kept.
func (c *fastConn) writeHead(w *bufio.Writer) {
	h := &c.req
	w.Write(h.method)
	w.WriteByte(' ')
	w.Write(h.target)
	w.WriteString(" HTTP/1.1\r\n")
	xff := c.scratch[:0]
	for _, f := range h.fields {
		switch {
		case h.hopByHop(f), c.span != nil && c.traceField(f.name):
			continue
		case is(f.name, "x-forwarded-for"):
			if c.trustedPeer {
				xff = append(append(xff, f.value...), ", "...)
			}
			continue
		case is(f.name, "x-real-ip") && !c.trustedPeer:
			continue
		case is(f.name, "x-forwarded-host"), is(f.name, "x-forwarded-proto"), is(f.name, "forwarded"):
			continue
		}
		w.Write(f.name)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
	if h.teTrailers {
		w.WriteString("Te: trailers\r\n")
	}
	if c.span != nil {
		c.writeTraceHeaders(w)
	}
	if c.clientIP != "" {
		w.WriteString("X-Forwarded-For: ")
		w.Write(xff)
		w.WriteString(c.clientIP)
		w.WriteString("\r\n")
	}
	c.scratch = xff
	w.WriteString("X-Forwarded-Host: ")
	w.Write(h.host)
	if c.tls != nil {
		w.WriteString("\r\nX-Forwarded-Proto: https\r\n\r\n")
	} else {
		w.WriteString("\r\nX-Forwarded-Proto: http\r\n\r\n")
	}
}

// challenge reports whether the request is an ACME HTTP-01 challenge,
// which net/http's path answers (Config.Challenge).
func (c *fastConn) challenge() bool {
	return c.tls == nil && c.r.challenge != nil && bytes.HasPrefix(c.req.target, []byte(acmeChallengePrefix))
}

// writeRedirect answers with a permanent redirect to HTTPS.
func (c *fastConn) writeRedirect(location string, keep bool) bool {
	keep = c.skipBody(keep)
	b := append(c.scratch[:0], "HTTP/1.1 308 Permanent Redirect\r\nLocation: "...)
	b = append(b, location...)
	b = append(b, "\r\nContent-Length: 0\r\n"...)
	if !keep {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.scratch = b
	c.bw.Write(b)
	return c.bw.Flush() == nil && keep
}

// relay sends the backend's response, whose head is in c.resp.buf, to the
// client. bodyDone, if not nil, ends when the request body was sent.
func (c *fastConn) relay(bc *backendConn, bodyDone chan error, keep bool) (int, bool) {
	head := string(c.req.method) == "HEAD"
	// Informational answers (100 Continue, 103 Early Hints) go ahead of
	// the final one.
	for {
		if err := c.resp.parse(); err != nil {
			return c.abort(bc, bodyDone, err, 0, true)
		}
		if c.resp.status >= 200 {
			break
		}
		if c.resp.status == 101 {
			// It asked nothing of the kind: the fast path sends no Upgrade.
			return c.abort(bc, bodyDone, errBadResponse, 0, true)
		}
		c.writeResponseHead(false, false, keep)
		// Early hints are for now, not for when the answer comes.
		if err := c.bw.Flush(); err != nil {
			return c.abort(bc, bodyDone, err, 0, false)
		}
		var err error
		if c.resp.buf, err = readHead(bc.br, c.resp.buf[:0]); err != nil {
			return c.abort(bc, bodyDone, err, 0, false)
		}
	}
	status := c.resp.status
	// A server shutting down ends the connection after this response, and
	// so does one whose backend answered before the whole body arrived:
	// the rest of the body is not read, so the client must know to stop.
	keep = keep && !c.s.shuttingDown.Load() && (bodyDone == nil || c.bodyRead.Load())
	bodyless := c.resp.bodyless(head)
	chunk := !bodyless && (c.resp.chunked || c.resp.length < 0)
	c.writeResponseHead(bodyless, chunk, keep)
	var err error
	switch {
	case bodyless:
	case c.resp.chunked:
		err = copyChunked(c.bw, bc.br)
	case c.resp.length >= 0:
		err = copyLength(c.bw, bc.br, c.resp.length)
	default:
		err = chunkUntilEOF(c.bw, bc.br)
		c.resp.close = true
	}
	if err != nil {
		return c.abort(bc, bodyDone, err, status, false)
	}
	// A keep-alive answer's end is sent as the next request is awaited
	// (awaitRequest).
	if !keep || bodyDone != nil {
		if err := c.bw.Flush(); err != nil {
			return c.abort(bc, bodyDone, err, status, false)
		}
	}
	if bodyDone != nil {
		// The backend may answer before it has read the whole body. Then
		// the rest is not read from the client either, and neither
		// connection is at a message boundary any more.
		if !c.bodyRead.Load() {
			setReadDeadline(c.nc, &c.readDeadline, time.Now(), 0)
		}
		bc.nc.SetWriteDeadline(time.Now().Add(time.Second))
		err = <-bodyDone
		if err != nil {
			return c.abort(bc, nil, err, status, false)
		}
	}
	if c.resp.close {
		bc.nc.Close()
	} else {
		// The read deadline stays: nothing reads an idle connection, and
		// the next request moves it if it must.
		if bodyDone != nil {
			bc.nc.SetWriteDeadline(time.Time{})
		}
		c.at.backend.pool.put(bc, c.start)
	}
	return status, keep
}

// writeResponseHead writes the response head in c.resp to the client:
// hop-by-hop headers dropped, framing as relayed. A body relayed as
// chunked (chunk) says so, and drops Content-Length; bodyless responses
// keep both as the backend sent them (HEAD and 304 describe another
// response's body).
func (c *fastConn) writeResponseHead(bodyless, chunk, keep bool) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(c.resp.statusText)
	w.WriteString("\r\n")
	for _, f := range c.resp.fields {
		if c.resp.hopByHop(f) {
			continue
		}
		if !bodyless && (is(f.name, "transfer-encoding") || (chunk && is(f.name, "content-length"))) {
			continue
		}
		w.Write(f.name)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
	if chunk {
		// The backend's codings as they were, chunked last; a body relayed
		// until the backend closed gets chunked added.
		w.WriteString("Transfer-Encoding: ")
		switch {
		case c.resp.chunked:
			w.Write(c.resp.codings)
		case len(c.resp.codings) > 0:
			w.Write(c.resp.codings)
			w.WriteString(", chunked")
		default:
			w.WriteString("chunked")
		}
		w.WriteString("\r\n")
	}
	if !keep && c.resp.status >= 200 {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
}

// abort ends a request whose response could not be relayed whole: both
// connections close. Before anything reached the client, it gets a 502
// or 504 page.
func (c *fastConn) abort(bc *backendConn, bodyDone chan error, err error, status int, answer bool) (int, bool) {
	bc.nc.Close()
	if bodyDone != nil {
		setReadDeadline(c.nc, &c.readDeadline, time.Now(), 0)
		<-bodyDone
	}
	if answer {
		return c.fail(&c.at, err, false)
	}
	if err != nil {
		c.r.log.Warn("response cut short", "service", c.at.service, "backend", c.at.backend.id, "err", err)
	}
	return status, false
}

// fail answers a request that got no response from its backend: 504 when
// its time ran out, 502 otherwise.
func (c *fastConn) fail(at *attempt, err error, keep bool) (int, bool) {
	p := pageBadGateway
	if isTimeout(err) {
		p = pageGatewayTimeout
		c.r.log.Error("request timed out", "service", at.service, "backend", at.backend.id, "host", at.host)
	} else {
		c.r.log.Error("proxy error", "service", at.service, "backend", at.backend.id, "err", err)
	}
	return p.status, c.writePage(p, keep)
}

// writePage answers with one of the router's pages.
func (c *fastConn) writePage(p page, keep bool) bool {
	keep = c.skipBody(keep)
	c.scratch = p.appendTo(c.scratch[:0], !keep, string(c.req.method) == "HEAD")
	c.bw.Write(c.scratch)
	return c.bw.Flush() == nil && keep
}

// skipBody drops the body of a request answered without its backend, and
// reports whether the connection can still take another request: a body
// nobody read would be taken for the next request, so one that has not
// all arrived ends the connection.
func (c *fastConn) skipBody(keep bool) bool {
	keep = keep && !c.s.shuttingDown.Load()
	if keep && (c.req.chunked || c.req.length > int64(c.br.Buffered())) {
		return false
	}
	if keep && c.req.length > 0 {
		c.br.Discard(int(c.req.length))
	}
	return keep
}

// headBuffered reports whether the whole request head has arrived, so
// that reading it cannot block and needs no deadline of its own.
func (c *fastConn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	b = bytes.TrimLeft(b, "\r\n") // empty lines before a head are skipped
	return bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// setReadDeadline sets nc's read deadline to t, unless the one in place
// (*cur) is within slack of it: moving a deadline is a timer update in the
// runtime, and a keep-alive connection would move it at every request.
func setReadDeadline(nc net.Conn, cur *time.Time, t time.Time, slack time.Duration) {
	if d := t.Sub(*cur); slack > 0 && !cur.IsZero() && d < slack && d > -slack {
		return
	}
	nc.SetReadDeadline(t)
	*cur = t
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
