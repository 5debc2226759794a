package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// probeClient does not follow redirects, because a 3xx is itself healthy,
// and keeps no idle connections, so every probe proves the port accepts.
var probeClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Probe performs one check of c against addr (host:port), bounded by
// c.Timeout. It returns nil when the instance passes.
func Probe(ctx context.Context, addr string, c Check) error {
	c = c.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	switch strings.ToUpper(c.Protocol) {
	case TCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("tcp check: %w", err)
		}
		return conn.Close()
	case HTTP:
		return probeHTTP(ctx, addr, c.Path)
	}
	return fmt.Errorf("health check protocol %q: want TCP or HTTP", c.Protocol)
}

func probeHTTP(ctx context.Context, addr, path string) error {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	req.Header.Set("User-Agent", "slipway-health-check")
	resp, err := probeClient.Do(req)
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
