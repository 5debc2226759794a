package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testLog logs to the test output only when the test fails or -v is set.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// front is a Router served by a Server on loopback, as the daemon serves
// it.
type front struct {
	URL      string
	Listener net.Listener
	client   *http.Client
}

// Client returns a client for the front whose idle connections close with
// the test.
func (f *front) Client() *http.Client { return f.client }

// newFront starts a Router behind a Server on loopback.
func newFront(t testing.TB, cfg Config) (*Router, *front) {
	t.Helper()
	r := New(cfg, testLog(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(r)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tr := &http.Transport{}
	f := &front{URL: "http://" + ln.Addr().String(), Listener: ln, client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		r.Close()
	})
	return r, f
}

// newBackend starts a backend answering with its id.
func newBackend(t testing.TB, id string) Backend {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, id)
	}))
	t.Cleanup(srv.Close)
	return Backend{ID: id, Addr: srv.Listener.Addr().String()}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t testing.TB, front *front, method, host, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, front.URL+"/", rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, host, err)
	}
	return resp.StatusCode, string(b)
}

func TestCanonicalHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc.localhost", "abc.localhost"},
		{"ABC.LocalHost:8080", "abc.localhost"},
		{"abc.localhost.", "abc.localhost"},
		{"abc.localhost.:80", "abc.localhost"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := canonicalHost(tt.in); got != tt.want {
			t.Errorf("canonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHostMatching(t *testing.T) {
	r, front := newFront(t, Config{})
	r.SetRoute(Route{Host: "Abcdefghij.us-east-1.localhost", Service: "web", Backends: []Backend{newBackend(t, "a")}})
	tests := []struct {
		host       string
		wantStatus int
		wantBody   string
	}{
		{"abcdefghij.us-east-1.localhost:8080", 200, "a"},
		{"ABCDEFGHIJ.US-EAST-1.LOCALHOST", 200, "a"},
		{"abcdefghij.us-east-1.localhost", 200, "a"},
		{"other.us-east-1.localhost:8080", 404, "No service at this address"},
	}
	for _, tt := range tests {
		status, body := get(t, front, "GET", tt.host, "")
		if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
			t.Errorf("Host %q: got %d %q, want %d containing %q", tt.host, status, body, tt.wantStatus, tt.wantBody)
		}
	}
}

func TestRefusals(t *testing.T) {
	r, front := newFront(t, Config{})
	b := newBackend(t, "a")
	tests := []struct {
		name       string
		route      *Route
		wantStatus int
		wantBody   string
	}{
		{"unknown host", nil, 404, "No service at this address"},
		{"paused", &Route{Service: "my-app", State: Paused, Backends: []Backend{b}}, 503, `service "my-app" is paused`},
		{"unavailable", &Route{Service: "my-app", State: Unavailable, Backends: []Backend{b}}, 503, "no healthy instance"},
		{"no backends", &Route{Service: "my-app", State: Serving}, 503, "no healthy instance"},
		{"escaped name", &Route{Service: "<b>", State: Paused}, 503, "&lt;b&gt;"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := fmt.Sprintf("svc%d.localhost", i)
			if tt.route != nil {
				tt.route.Host = host
				r.SetRoute(*tt.route)
			}
			status, body := get(t, front, "GET", host, "")
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	r, front := newFront(t, Config{})
	r.SetRoute(Route{Host: "rr.localhost", Service: "rr", Backends: []Backend{
		newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c"),
	}})
	got := map[string]int{}
	for range 30 {
		status, body := get(t, front, "GET", "rr.localhost", "")
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		got[body]++
	}
	for _, id := range []string{"a", "b", "c"} {
		if got[id] != 10 {
			t.Errorf("backend %s got %d requests, want 10 (all: %v)", id, got[id], got)
		}
	}
}

// TestForwardedHeaders checks the headers apps see about the client, on
// the fast path (HTTP/1.1) and on net/http's (HTTP/1.0 is handed off): a
// client's own X-Forwarded-For and X-Real-IP reach the app only from a
// trusted proxy.
func TestForwardedHeaders(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		name             string
		trusted          []netip.Prefix
		proto            string
		wantXFF, wantXRI string
	}{
		{"untrusted, fast path", nil, "HTTP/1.1", "127.0.0.1", ""},
		{"untrusted, net/http", nil, "HTTP/1.0", "127.0.0.1", ""},
		{"other proxies trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "HTTP/1.1", "127.0.0.1", ""},
		{"trusted proxy, fast path", loopback, "HTTP/1.1", "203.0.113.7, 127.0.0.1", "203.0.113.7"},
		{"trusted proxy, net/http", loopback, "HTTP/1.0", "203.0.113.7, 127.0.0.1", "203.0.113.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, front := newFront(t, Config{TrustedProxies: tc.trusted})
			seen := make(chan *http.Request, 1)
			be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				seen <- req
			}))
			defer be.Close()
			r.SetRoute(Route{Host: "fw.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

			c := dialFront(t, front)
			c.send("GET /x?y=1 " + tc.proto + "\r\nHost: FW.localhost:8080\r\nX-Forwarded-For: 203.0.113.7\r\n" +
				"X-Real-IP: 203.0.113.7\r\nConnection: close\r\n\r\n")
			c.read("GET")
			got := <-seen
			checks := []struct{ name, got, want string }{
				{"Host", got.Host, "FW.localhost:8080"},
				{"X-Forwarded-For", strings.Join(got.Header.Values("X-Forwarded-For"), ", "), tc.wantXFF},
				{"X-Real-IP", got.Header.Get("X-Real-Ip"), tc.wantXRI},
				{"X-Forwarded-Proto", got.Header.Get("X-Forwarded-Proto"), "http"},
				{"X-Forwarded-Host", got.Header.Get("X-Forwarded-Host"), "FW.localhost:8080"},
				{"RequestURI", got.RequestURI, "/x?y=1"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestStreaming(t *testing.T) {
	r, front := newFront(t, Config{})
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-req.Context().Done():
		}
		io.WriteString(w, "second\n")
	}))
	defer be.Close()
	defer close(release)
	r.SetRoute(Route{Host: "stream.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	req, _ := http.NewRequest("GET", front.URL, nil)
	req.Host = "stream.localhost"
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	expectFirstChunk(t, resp, "first\n")
}

func TestRequestTimeout(t *testing.T) {
	r, front := newFront(t, Config{RequestTimeout: 100 * time.Millisecond})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "slow.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	start := time.Now()
	status, _ := get(t, front, "GET", "slow.localhost", "")
	if status != http.StatusGatewayTimeout {
		t.Errorf("status = %d, want 504", status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v, want about the 100ms timeout", d)
	}
}

func TestDialFailureRetry(t *testing.T) {
	r, front := newFront(t, Config{})
	dead := Backend{ID: "dead", Addr: deadAddr(t)}
	live := newBackend(t, "live")
	tests := []struct {
		name       string
		backends   []Backend
		method     string
		body       string
		wantStatus int
	}{
		{"GET retried", []Backend{dead, live}, "GET", "", 200},
		{"HEAD retried", []Backend{dead, live}, "HEAD", "", 200},
		{"POST without body retried", []Backend{dead, live}, "POST", "", 200},
		// The fast path dials before it sends anything, so even a
		// request with a body can go elsewhere.
		{"POST with body retried", []Backend{dead, live}, "POST", "data", 200},
		{"GET with body retried", []Backend{dead, live}, "GET", "data", 200},
		{"no other backend", []Backend{dead}, "GET", "", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh route starts its round robin at the first backend.
			r.SetRoute(Route{Host: "retry.localhost", Backends: tt.backends})
			status, _ := get(t, front, tt.method, "retry.localhost", tt.body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			// The client may see the end of the response a moment
			// before the handler returns.
			for _, b := range tt.backends {
				waitFor(t, func() bool { return r.InFlight(b.ID) == 0 })
			}
		})
	}
}

// TestUnreachableAvoided: after one failed dial to a backend, new requests
// go to the route's other backends without dialling it, on the fast path
// and on net/http's, until the mark ends; a route with no other backend
// still tries it.
func TestUnreachableAvoided(t *testing.T) {
	r, front := newFront(t, Config{})
	var mu sync.Mutex
	dials := map[string]int{}
	r.hostDialer.Control = func(_, addr string, _ syscall.RawConn) error {
		mu.Lock()
		dials[addr]++
		mu.Unlock()
		return nil
	}
	dialsTo := func(addr string) int {
		mu.Lock()
		defer mu.Unlock()
		return dials[addr]
	}
	dead := Backend{ID: "dead", Addr: deadAddr(t)}
	live := newBackend(t, "live")
	r.SetRoute(Route{Host: "mark.localhost", Backends: []Backend{dead, live}})
	for i := range 10 {
		if status, body := get(t, front, "GET", "mark.localhost", ""); status != 200 || body != "live" {
			t.Fatalf("fast path request %d: %d %q", i, status, body)
		}
	}
	if n := dialsTo(dead.Addr); n != 1 {
		t.Errorf("fast path: %d dials to the dead backend in 10 requests, want 1", n)
	}
	// net/http's path (ServeHTTP) marks too.
	dead2 := Backend{ID: "dead2", Addr: deadAddr(t)}
	r.SetRoute(Route{Host: "mark2.localhost", Backends: []Backend{dead2, live}})
	for i := range 10 {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://mark2.localhost/", nil)
		r.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.String() != "live" {
			t.Fatalf("net/http request %d: %d %q", i, w.Code, w.Body.String())
		}
	}
	if n := dialsTo(dead2.Addr); n != 1 {
		t.Errorf("net/http's path: %d dials to the dead backend in 10 requests, want 1", n)
	}
	// With nothing else to offer, the marked backend is tried (and fails).
	r.SetRoute(Route{Host: "mark.localhost", Backends: []Backend{dead}})
	if status, _ := get(t, front, "GET", "mark.localhost", ""); status != http.StatusBadGateway {
		t.Errorf("only the dead backend: status %d, want 502", status)
	}
	if n := dialsTo(dead.Addr); n != 2 {
		t.Errorf("only the dead backend: %d dials in all, want 2", n)
	}
}

func TestSetRouteReplacesBackends(t *testing.T) {
	r, front := newFront(t, Config{})
	r.SetRoute(Route{Host: "bg.localhost", Backends: []Backend{newBackend(t, "blue")}})
	if _, body := get(t, front, "GET", "bg.localhost", ""); body != "blue" {
		t.Fatalf("before switch got %q, want blue", body)
	}
	r.SetRoute(Route{Host: "bg.localhost", Backends: []Backend{newBackend(t, "green")}})
	for range 5 {
		if _, body := get(t, front, "GET", "bg.localhost", ""); body != "green" {
			t.Fatalf("after switch got %q, want green", body)
		}
	}
	routes := r.Routes()
	if len(routes) != 1 || len(routes[0].Backends) != 1 || routes[0].Backends[0].ID != "green" {
		t.Errorf("Routes() = %+v, want one route to green", routes)
	}
	r.RemoveRoute("BG.localhost:1")
	if status, _ := get(t, front, "GET", "bg.localhost", ""); status != 404 {
		t.Errorf("after RemoveRoute status = %d, want 404", status)
	}
	if got := r.Routes(); len(got) != 0 {
		t.Errorf("Routes() after RemoveRoute = %+v, want none", got)
	}
}

func TestInFlightAndDrain(t *testing.T) {
	r, front := newFront(t, Config{})
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		<-release
		io.WriteString(w, "done")
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "drain.localhost", Backends: []Backend{{ID: "old", Addr: be.Listener.Addr().String()}}})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if status, body := get(t, front, "GET", "drain.localhost", ""); status != 200 || body != "done" {
			t.Errorf("slow request got %d %q, want 200 done", status, body)
		}
	}()
	waitFor(t, func() bool { return r.InFlight("old") == 1 })

	// The request stays counted after the backend left the route.
	r.SetRoute(Route{Host: "drain.localhost", Backends: []Backend{newBackend(t, "new")}})
	if n := r.InFlight("old"); n != 1 {
		t.Fatalf("InFlight(old) after switch = %d, want 1", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Drain(ctx, "old", "new"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with a slow request = %v, want DeadlineExceeded", err)
	}

	drained := make(chan error, 1)
	go func() { drained <- r.Drain(context.Background(), "old") }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("Drain = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return after the request ended")
	}
	wg.Wait()
	if n := r.InFlight("old"); n != 0 {
		t.Errorf("InFlight(old) = %d, want 0", n)
	}
	if err := r.Drain(context.Background(), "never-seen"); err != nil {
		t.Errorf("Drain of an unknown ID = %v, want nil", err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// expectFirstChunk reads the first piece of resp's body and checks it is
// want, arriving while the backend still holds the rest back.
func expectFirstChunk(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	chunk := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		chunk <- string(buf[:n])
	}()
	select {
	case got := <-chunk:
		if got != want {
			t.Errorf("first chunk = %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first chunk not received while the backend was still writing")
	}
}
