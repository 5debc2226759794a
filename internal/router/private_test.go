package router

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

// servePrivate serves r's private routes on a listener of their own.
func servePrivate(t *testing.T, r *Router) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewPrivateServer(r)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &front{URL: "http://" + ln.Addr().String(), Listener: ln}
}

// TestPrivateRoutes checks that a private service answers only on the
// private Server under its VPC ingress domain, and a public one only on
// the public Server, on the fast path and on net/http's (HTTP/1.0).
func TestPrivateRoutes(t *testing.T) {
	r, public := newFront(t, Config{})
	private := servePrivate(t, r)
	r.SetRoute(Route{Host: "priv.localhost", Service: "priv", State: Serving, Private: true, Backends: []Backend{newBackend(t, "p")}})
	r.SetRoute(Route{Host: "pub.localhost", Service: "pub", State: Serving, Backends: []Backend{newBackend(t, "q")}})
	r.SetPrivateAlias("ingress.example.test", "priv.localhost")
	r.SetAlias("pub.example.test", "pub.localhost", false)

	for _, tc := range []struct {
		name       string
		f          *front
		host       string
		wantCode   int
		wantInBody string
	}{
		{"private service by its ingress domain, privately", private, "ingress.example.test", 200, "p"},
		{"private service by its own name, privately", private, "priv.localhost", 404, ""},
		{"private service by its own name, publicly", public, "priv.localhost", 404, ""},
		{"private service by its ingress domain, publicly", public, "ingress.example.test", 404, ""},
		{"public service, publicly", public, "pub.localhost", 200, "q"},
		{"public service's custom domain, privately", private, "pub.example.test", 404, ""},
		{"public service, privately", private, "pub.localhost", 404, ""},
	} {
		for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
			t.Run(tc.name+" "+proto, func(t *testing.T) {
				c := dialFront(t, tc.f)
				c.send("GET / " + proto + "\r\nHost: " + tc.host + "\r\nConnection: close\r\n\r\n")
				resp, body := c.read("GET")
				if resp.StatusCode != tc.wantCode || !strings.Contains(body, tc.wantInBody) {
					t.Errorf("%d %q, want %d with %q", resp.StatusCode, body, tc.wantCode, tc.wantInBody)
				}
			})
		}
	}

	// A service made public again leaves the private Server.
	r.SetRoute(Route{Host: "priv.localhost", Service: "priv", State: Serving, Backends: []Backend{newBackend(t, "p2")}})
	c := dialFront(t, private)
	c.send("GET / HTTP/1.1\r\nHost: ingress.example.test\r\nConnection: close\r\n\r\n")
	if resp, _ := c.read("GET"); resp.StatusCode != 404 {
		t.Errorf("a public route answered %d on the private Server", resp.StatusCode)
	}
	r.RemovePrivateAlias("ingress.example.test")
}
