package router

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tlsFront serves r over HTTPS with httptest's certificate (valid for
// example.com), and returns the address and a client trusting it.
func tlsFront(t *testing.T, r *Router) (string, *http.Client) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert, pool := ts.TLS.Certificates[0], x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(r)
	done := make(chan error, 1)
	go func() {
		done <- srv.ServeTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}, ForceAttemptHTTP2: true}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	return ln.Addr().String(), &http.Client{Transport: tr}
}

// tlsProtoBackend answers with the protocol the router spoke to it and the
// X-Forwarded-Proto it set.
func tlsProtoBackend(t *testing.T) Backend {
	t.Helper()
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, req.Proto+" "+req.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(be.Close)
	return Backend{ID: "p", Addr: be.Listener.Addr().String()}
}

func TestHTTPS(t *testing.T) {
	r := New(Config{}, testLog(t))
	t.Cleanup(r.Close)
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{tlsProtoBackend(t)}})
	addr, client := tlsFront(t, r)

	for _, tc := range []struct {
		name        string
		h2          bool
		clientProto string
	}{
		{"HTTP/1.1 on the fast path", false, "HTTP/1.1"},
		{"HTTP/2 by ALPN", true, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client
			if !tc.h2 {
				tr := client.Transport.(*http.Transport).Clone()
				tr.ForceAttemptHTTP2 = false
				tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
				c = &http.Client{Transport: tr}
			}
			req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
			req.Host = "svc.localhost"
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Proto != tc.clientProto || string(body) != "HTTP/1.1 https" {
				t.Errorf("client spoke %s and got %q; want %s and the app over HTTP/1.1 told https", resp.Proto, body, tc.clientProto)
			}
		})
	}

	t.Run("handed over to net/http", func(t *testing.T) {
		// HTTP/1.0 is not the fast path's: net/http must still know it is
		// HTTPS.
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: client.Transport.(*http.Transport).TLSClientConfig.RootCAs,
			ServerName: "example.com", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET / HTTP/1.0\r\nHost: svc.localhost\r\n\r\n")
		b, _ := io.ReadAll(conn)
		if !strings.HasSuffix(string(b), "HTTP/1.1 https") {
			t.Errorf("got %q, want the app told https", b)
		}
	})
}

// TestWebSocketOverTLS: an upgrade is handed to net/http after the fast
// path's handshake, and still works.
func TestWebSocketOverTLS(t *testing.T) {
	r := New(Config{}, testLog(t))
	t.Cleanup(r.Close)
	be := echoWS(t)
	defer be.Close()
	r.SetRoute(Route{Host: "ws.localhost", Backends: []Backend{{ID: "ws", Addr: be.Listener.Addr().String()}}})
	addr, client := tlsFront(t, r)
	tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: client.Transport.(*http.Transport).TLSClientConfig.RootCAs,
		ServerName: "example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	conn, br, _, _ := wsHandshakeOn(t, tc, "ws.localhost")
	if err := writeFrame(conn, []byte("over tls"), []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if got, err := readFrame(br); err != nil || string(got) != "over tls" {
		t.Fatalf("echo = %q, %v; want over tls", got, err)
	}
}

func TestAliasesAndRedirects(t *testing.T) {
	var challenged []string
	r, f := newFront(t, Config{HTTPSPort: 8443, Challenge: func(w http.ResponseWriter, req *http.Request) bool {
		challenged = append(challenged, req.Host+req.URL.Path)
		io.WriteString(w, "key-authorization")
		return true
	}})
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{newBackend(t, "svc")}})

	noRedirect := f.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(host, path string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", f.URL+path, nil)
		req.Host = host
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Location")
	}

	if code, _, _ := do("app.example.test", "/"); code != 404 {
		t.Fatalf("before the alias: %d, want 404", code)
	}
	r.SetAlias("App.Example.Test", "svc.localhost", false)
	if code, body, _ := do("app.example.test", "/"); code != 200 || body != "svc" {
		t.Fatalf("alias: %d %q, want the service", code, body)
	}
	// The alias follows its route when the route changes.
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{newBackend(t, "svc2")}})
	if _, body, _ := do("app.example.test", "/"); body != "svc2" {
		t.Fatalf("after SetRoute: %q, want svc2", body)
	}
	if n := len(r.Routes()); n != 1 {
		t.Errorf("Routes() lists %d routes, want 1 (aliases are not routes)", n)
	}

	r.SetAlias("app.example.test", "svc.localhost", true)
	if code, _, loc := do("app.example.test", "/p?q=1"); code != 308 || loc != "https://app.example.test:8443/p?q=1" {
		t.Fatalf("HTTPS only: %d to %q, want 308 to https://app.example.test:8443/p?q=1", code, loc)
	}
	if code, body, _ := do("app.example.test", "/.well-known/acme-challenge/tok"); code != 200 || body != "key-authorization" {
		t.Fatalf("challenge: %d %q, want the challenge answered, not redirected", code, body)
	}
	if len(challenged) != 1 || challenged[0] != "app.example.test/.well-known/acme-challenge/tok" {
		t.Errorf("challenge handler saw %v", challenged)
	}
	if code, body, _ := do("svc.localhost", "/"); code != 200 || body != "svc2" {
		t.Errorf("the service's own host: %d %q, want it served over HTTP", code, body)
	}

	r.RemoveRoute("svc.localhost")
	if code, _, _ := do("app.example.test", "/"); code != 308 {
		t.Errorf("route removed: %d, want the redirect still (the alias stays)", code)
	}
	r.RemoveAlias("app.example.test")
	if code, _, _ := do("app.example.test", "/"); code != 404 {
		t.Errorf("alias removed: %d, want 404", code)
	}
}
