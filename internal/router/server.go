package router

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// NewServer returns the http.Server that serves h (a Router) to clients:
// HTTP/1.1, and HTTP/2 cleartext (h2c) both by prior knowledge and by an
// Upgrade from HTTP/1.1. Its TLSConfig already offers h2 and http/1.1 by
// ALPN, so serving HTTPS with HTTP/2 takes only certificates and ServeTLS.
func NewServer(h http.Handler) *http.Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	up := &h2cUpgrader{next: h, h2: &http2.Server{}}
	srv := &http.Server{Handler: up, Protocols: protocols, ReadHeaderTimeout: 30 * time.Second}
	up.srv = srv
	// x/net's HTTP/2 server serves every HTTP/2 connection, not only the
	// upgraded ones net/http's own cannot take over: one implementation
	// with one configuration, and Shutdown sends all of them GOAWAY.
	if err := http2.ConfigureServer(srv, up.h2); err != nil {
		// It fails only on a TLSConfig whose cipher suites HTTP/2 forbids.
		panic("router: configuring HTTP/2: " + err.Error())
	}
	return srv
}

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
	if req.ProtoMajor != 1 || req.TLS != nil || req.ContentLength != 0 ||
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
