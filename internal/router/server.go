package router

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// Server serves a Router to clients. Each connection starts on the
// HTTP/1.1 fast path (fast.go). A request the fast path does not take
// (HTTP/2 by prior knowledge, upgrades to WebSocket or h2c, Expect, HTTP/1.0,
// anything malformed) hands its connection, from that request on, to
// net/http's server, which serves HTTP/1.1 and HTTP/2 cleartext (h2c) both
// by prior knowledge and by an Upgrade through Router.ServeHTTP. Its
// TLSConfig already offers h2 and http/1.1 by ALPN, so serving HTTPS with
// HTTP/2 takes only certificates.
type Server struct {
	r *Router
	// private Servers serve private routes only (see private.go).
	private bool
	// h1 is net/http's server, serving the connections handed to it
	// through handed.
	h1     *http.Server
	handed *handoffListener
	h1Once sync.Once

	shuttingDown atomic.Bool

	// mu guards listeners and conns.
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*fastConn]struct{}
	// wg counts the fast path's connection goroutines and h1's Serve.
	wg sync.WaitGroup
}

// NewServer returns a Server for r's public routes.
func NewServer(r *Router) *Server { return newServer(r, false) }

// NewPrivateServer returns a Server for r's private routes, reached by
// their private aliases (VPC ingress connections' domains).
func NewPrivateServer(r *Router) *Server { return newServer(r, true) }

func newServer(r *Router, private bool) *Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	var next http.Handler = r
	if private {
		next = privateHandler{r}
	}
	up := &h2cUpgrader{next: next, h2: &http2.Server{}}
	srv := &http.Server{Handler: up, Protocols: protocols, ReadHeaderTimeout: headTimeout, IdleTimeout: idleTimeout,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if rc, ok := c.(*replayConn); ok && rc.tls != nil {
				return context.WithValue(ctx, tlsStateKey{}, rc.tls)
			}
			return ctx
		},
	}
	up.srv = srv
	// x/net's HTTP/2 server serves every HTTP/2 connection, not only the
	// upgraded ones net/http's own cannot take over: one implementation
	// with one configuration, and Shutdown sends all of them GOAWAY.
	if err := http2.ConfigureServer(srv, up.h2); err != nil {
		// It fails only on a TLSConfig whose cipher suites HTTP/2 forbids.
		panic("router: configuring HTTP/2: " + err.Error())
	}
	return &Server{
		r:         r,
		private:   private,
		h1:        srv,
		handed:    newHandoffListener(),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*fastConn]struct{}),
	}
}

// Serve accepts plain HTTP connections on ln until Shutdown or Close, and
// returns http.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, nil)
}

// ServeTLS is Serve for HTTPS: each connection's handshake uses cfg
// (certificates by SNI). Connections that negotiate h2 by ALPN go to
// net/http's HTTP/2 server, the rest to the HTTP/1.1 fast path.
func (s *Server) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	if cfg == nil {
		return errors.New("router: ServeTLS without a TLS configuration")
	}
	return s.serve(ln, cfg)
}

func (s *Server) serve(ln net.Listener, tlsConfig *tls.Config) error {
	s.mu.Lock()
	if s.shuttingDown.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	s.h1Once.Do(func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.h1.Serve(s.handed)
		}()
	})
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shuttingDown.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like, as net/http.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.r.log.Warn("accept failed; retrying", "err", err, "in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if tlsConfig != nil {
			nc = tls.Server(nc, tlsConfig)
		}
		c := newFastConn(s, nc)
		s.mu.Lock()
		if s.shuttingDown.Load() {
			s.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c *fastConn) {
	defer s.wg.Done()
	serve, handedOff := true, false
	if tc, ok := c.nc.(*tls.Conn); ok {
		serve, handedOff = s.handshake(c, tc)
	}
	if serve {
		handedOff = c.serve()
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if !handedOff {
		c.nc.Close()
	}
}

// handshake runs a TLS connection's handshake. A connection that chose
// HTTP/2 goes to net/http's server (handedOff); one that answered an ACME
// TLS-ALPN-01 challenge, or failed, ends (neither); the rest is served by
// the fast path (serve).
func (s *Server) handshake(c *fastConn, tc *tls.Conn) (serve, handedOff bool) {
	tc.SetDeadline(time.Now().Add(headTimeout))
	if err := tc.Handshake(); err != nil {
		s.r.log.Debug("TLS handshake failed", "remote", tc.RemoteAddr().String(), "err", err)
		return false, false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	switch st.NegotiatedProtocol {
	case "h2":
		s.handed.push(tc)
		return false, true
	case "acme-tls/1":
		return false, false
	}
	c.tls = &st
	return true, false
}

// handoff gives net/http the connection nc, whose next bytes are read from
// r (what the fast path read of it, then the rest).
func (s *Server) handoff(nc net.Conn, r io.Reader, st *tls.ConnectionState) {
	s.handed.push(&replayConn{Conn: nc, r: r, tls: st})
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish their request, or for ctx to end. Requests already
// queued for capacity are answered. Like http.Server's, it does not wait
// for hijacked (WebSocket) connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.wakeIfIdle()
		}
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
	err := s.h1.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.beginShutdown()
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	err := s.h1.Close()
	s.handed.Close()
	s.wg.Wait()
	return err
}

func (s *Server) beginShutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shuttingDown.Store(true)
	for ln := range s.listeners {
		ln.Close()
		delete(s.listeners, ln)
	}
}

// handoffListener is the net.Listener net/http's server accepts the
// fast path's handed over connections from.
type handoffListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closer sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "handoff" }
func (handoffAddr) String() string  { return "handoff" }

// replayConn is a handed over connection: the bytes the fast path already
// read come first.
type replayConn struct {
	net.Conn
	r io.Reader
	// tls is the state of the TLS connection under Conn, if any: net/http
	// sees only replayConn, and learns of it through the request context.
	tls *tls.ConnectionState
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// h2cUpgrader takes over an HTTP/1.1 connection whose request asks to
// upgrade to h2c (RFC 7540 section 3.2): it answers 101 and serves the
// connection as HTTP/2, the request itself as stream 1. Other requests go
// to next as they are.
type h2cUpgrader struct {
	next http.Handler
	h2   *http2.Server
	srv  *http.Server
}

func (u *h2cUpgrader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	settings, ok := h2cUpgrade(req)
	if !ok {
		u.next.ServeHTTP(w, req)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Answering over HTTP/1.1 is what a server ignoring Upgrade does.
		u.next.ServeHTTP(w, req)
		return
	}
	defer conn.Close()
	// Deadlines the HTTP/1.1 server set are not HTTP/2's.
	conn.SetDeadline(time.Time{})
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	if brw.Reader.Buffered() > 0 {
		conn = &bufferedConn{Conn: conn, r: brw.Reader}
	}
	// These were for this hop, and the app must not try to upgrade again.
	for _, k := range []string{"Upgrade", "Connection", "HTTP2-Settings"} {
		req.Header.Del(k)
	}
	u.h2.ServeConn(conn, &http2.ServeConnOpts{
		Context:        req.Context(),
		BaseConfig:     u.srv,
		Handler:        u.next,
		UpgradeRequest: req,
		Settings:       settings,
	})
}

// h2cUpgrade reports whether req asks to upgrade to h2c, and returns its
// HTTP2-Settings. A request with a body is answered over HTTP/1.1 instead,
// as a server may: upgrading it would mean reading all of it first.
func h2cUpgrade(req *http.Request) ([]byte, bool) {
	_, handedTLS := req.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
	// h2c is HTTP/2 without TLS: over TLS, h2 is chosen by ALPN only.
	if req.ProtoMajor != 1 || req.TLS != nil || handedTLS || req.ContentLength != 0 ||
		!isUpgrade(req) || !headerHasToken(req.Header, "Upgrade", "h2c") ||
		!headerHasToken(req.Header, "Connection", "HTTP2-Settings") {
		return nil, false
	}
	vals := req.Header.Values("HTTP2-Settings")
	if len(vals) != 1 {
		return nil, false
	}
	settings, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(vals[0], "="))
	if err != nil {
		return nil, false
	}
	return settings, true
}

// bufferedConn is a hijacked connection whose first bytes, already read
// into the HTTP/1.1 server's buffer, are read from there.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}

var _ http.Handler = (*h2cUpgrader)(nil)
