package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Target is where a probe connects.
type Target struct {
	// Addr is host:port as the instance sees it.
	Addr string
	// Dial connects to Addr; nil dials on the host's network. An instance in
	// a network namespace of its own is dialled inside it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (t Target) dial(ctx context.Context) (net.Conn, error) {
	if t.Dial != nil {
		return t.Dial(ctx, "tcp", t.Addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.Addr)
}

// client does not follow redirects, because a 3xx is itself healthy, and
// keeps no idle connections, so every probe proves the port accepts.
func (t Target) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return t.dial(ctx)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Probe performs one check of c against t, bounded by c.Timeout. It returns
// nil when the instance passes.
func Probe(ctx context.Context, t Target, c Check) error {
	c = c.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	switch strings.ToUpper(c.Protocol) {
	case TCP:
		conn, err := t.dial(ctx)
		if err != nil {
			return fmt.Errorf("tcp check: %w", err)
		}
		return conn.Close()
	case HTTP:
		return probeHTTP(ctx, t, c.Path)
	}
	return fmt.Errorf("health check protocol %q: want TCP or HTTP", c.Protocol)
}

func probeHTTP(ctx context.Context, t Target, path string) error {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr+path, nil)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	req.Header.Set("User-Agent", "slipway-health-check")
	resp, err := t.client().Do(req)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	// Read a little so small answers complete cleanly; never a whole body.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("http check: GET %s: status %d", path, resp.StatusCode)
	}
	return nil
}
