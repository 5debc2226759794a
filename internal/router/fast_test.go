package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawClient is one client connection to the front, for requests written
// byte for byte.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialFront(t *testing.T, f *front) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", f.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response to a request of method, body included.
func (c *rawClient) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the front closed the connection: the read ends
// (EOF, or a reset when unread data was left behind) rather than times out.
func (c *rawClient) closed() bool {
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.br.ReadByte()
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// rawBackend serves each connection with fn, for backends that misbehave
// in ways net/http's server would not.
func rawBackend(t *testing.T, id string, fn func(nc net.Conn, br *bufio.Reader)) Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				fn(nc, bufio.NewReader(nc))
			}()
		}
	}()
	return Backend{ID: id, Addr: ln.Addr().String()}
}

func TestFastPathRelaysChunkedBothWays(t *testing.T) {
	r, f := newFront(t, Config{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "got "+string(body)+" trailer "+req.Trailer.Get("X-In"))
		w.(http.Flusher).Flush() // unknown length: chunked
		io.WriteString(w, "!")
		w.Header().Set("X-Sum", "42")
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "chunk.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	c := dialFront(t, f)
	for i := range 2 { // the connection stays usable after each
		c.send("POST / HTTP/1.1\r\nHost: chunk.localhost\r\nTransfer-Encoding: chunked\r\nTrailer: X-In\r\n\r\n" +
			"5\r\nhello\r\n6\r\n world\r\n0\r\nX-In: yes\r\n\r\n")
		resp, body := c.read("POST")
		if want := "got hello world trailer yes!"; body != want || resp.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("request %d: body %q trailer %v, want %q and X-Sum 42", i, body, resp.Trailer, want)
		}
	}
}

func TestFastPathLargeBodies(t *testing.T) {
	r, f := newFront(t, Config{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, req.Body)
		w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Len", fmt.Sprint(n))
		// Answer with the body doubled, of known length.
		w.Header().Set("Content-Length", fmt.Sprint(2*n))
		for range 2 {
			w.Write(bytes.Repeat([]byte{'b'}, int(n)))
		}
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "big.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	body := bytes.Repeat([]byte("0123456789abcdef"), 5<<16) // 5 MiB
	sum := sha256.Sum256(body)
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // unknown length: the client sends it chunked
		}
		req, _ := http.NewRequest("POST", f.URL+"/", rd)
		req.Host = "big.localhost"
		resp, err := f.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("X-Sum") != hex.EncodeToString(sum[:]) || len(got) != 2*len(body) {
			t.Fatalf("chunked %v: err %v, X-Sum %s X-Len %s, %d bytes back; want the body's sum and %d bytes",
				chunked, err, resp.Header.Get("X-Sum"), resp.Header.Get("X-Len"), len(got), 2*len(body))
		}
	}
}

func TestFastPathResponseWithoutLength(t *testing.T) {
	r, f := newFront(t, Config{})
	be := rawBackend(t, "eof", func(nc net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		// HTTP/1.0 style: the body ends with the connection.
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
	})
	r.SetRoute(Route{Host: "eof.localhost", Backends: []Backend{be}})
	c := dialFront(t, f)
	for range 2 {
		c.send("GET / HTTP/1.1\r\nHost: eof.localhost\r\n\r\n")
		resp, body := c.read("GET")
		if body != "until the end" || resp.TransferEncoding == nil || resp.Close {
			t.Fatalf("body %q, transfer encoding %v, close %v; want the body, chunked, kept alive", body, resp.TransferEncoding, resp.Close)
		}
	}
}

func TestFastPathBodylessResponses(t *testing.T) {
	r, f := newFront(t, Config{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Length", "10")
			if req.Method != "HEAD" {
				io.WriteString(w, "0123456789")
			}
		}
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "hd.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	c := dialFront(t, f)
	for _, tc := range []struct{ method, path, body string }{
		{"HEAD", "/", ""}, {"GET", "/304", ""}, {"GET", "/204", ""}, {"GET", "/", "0123456789"},
	} {
		c.send(tc.method + " " + tc.path + " HTTP/1.1\r\nHost: hd.localhost\r\n\r\n")
		resp, body := c.read(tc.method)
		if body != tc.body {
			t.Fatalf("%s %s: body %q, want %q", tc.method, tc.path, body, tc.body)
		}
		if tc.method == "HEAD" && resp.ContentLength != 10 {
			t.Errorf("HEAD: Content-Length %d, want the GET's 10", resp.ContentLength)
		}
	}
}

func TestFastPathHopByHopAndClose(t *testing.T) {
	r, f := newFront(t, Config{})
	seen := make(chan http.Header, 1)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		seen <- req.Header.Clone()
		w.Header().Set("Connection", "X-Internal")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "hop.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	c := dialFront(t, f)
	c.send("GET / HTTP/1.1\r\nHost: hop.localhost\r\nConnection: close, X-Mine\r\nX-Mine: 1\r\nKeep-Alive: 5\r\n" +
		"Proxy-Authorization: Basic x\r\nForwarded: for=1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Kept: yes\r\n\r\n")
	resp, body := c.read("GET")
	h := <-seen
	for _, k := range []string{"X-Mine", "Keep-Alive", "Proxy-Authorization", "Connection", "Forwarded"} {
		if v := h.Get(k); v != "" {
			t.Errorf("backend got %s: %q", k, v)
		}
	}
	if h.Get("X-Kept") != "yes" || h.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("backend got X-Kept %q, X-Forwarded-Proto %q; want yes, http", h.Get("X-Kept"), h.Get("X-Forwarded-Proto"))
	}
	if body != "ok" || resp.Header.Get("X-Internal") != "" || resp.Header.Get("Keep-Alive") != "" || !resp.Close {
		t.Errorf("client got body %q, header %v, close %v; want ok, no hop-by-hop headers, Connection: close", body, resp.Header, resp.Close)
	}
	if !c.closed() {
		t.Error("the connection stayed open after Connection: close")
	}
}

func TestFastPathPipelining(t *testing.T) {
	r, f := newFront(t, Config{})
	var n atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		fmt.Fprintf(w, "%d:%s:%s", n.Add(1), req.URL.Path, body)
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "pipe.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	c := dialFront(t, f)
	c.send("GET /a HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: pipe.localhost\r\nContent-Length: 3\r\n\r\nxyz" +
		"GET /c HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	for _, want := range []string{"1:/a:", "2:/b:xyz", "3:/c:"} {
		if _, body := c.read("GET"); body != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}
}

// TestFastPathPipelinedDuringAnswer: a request pipelined while the one
// before it is still at the backend arrives unread, and its readiness is
// spent before the router writes the answer it waited for. The router
// must still serve it, within awaitCheck, not at the idle timeout.
func TestFastPathPipelinedDuringAnswer(t *testing.T) {
	r, f := newFront(t, Config{})
	arrived, release := make(chan string, 4), make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- req.URL.Path
		if req.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, req.URL.Path)
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "pipe.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	c := dialFront(t, f)
	// Two plain requests first: the connection waits without reading, as
	// keep-alive clients that do not pipeline are served.
	for _, p := range []string{"/1", "/2"} {
		c.send("GET " + p + " HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
		<-arrived
		if _, body := c.read("GET"); body != p {
			t.Fatalf("body %q, want %q", body, p)
		}
	}
	c.send("GET /slow HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	<-arrived
	c.send("GET /next HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the runtime sees it readable
	close(release)
	if _, body := c.read("GET"); body != "/slow" {
		t.Fatalf("body %q, want /slow", body)
	}
	start := time.Now()
	if _, body := c.read("GET"); body != "/next" {
		t.Fatalf("body %q, want /next", body)
	}
	if d := time.Since(start); d > awaitCheck+time.Second {
		t.Errorf("the pipelined request was answered after %v, want within %v", d, awaitCheck)
	}
	// The connection reads as usual now, and keeps serving.
	c.send("GET /after HTTP/1.1\r\nHost: pipe.localhost\r\n\r\n")
	if _, body := c.read("GET"); body != "/after" {
		t.Fatalf("body %q, want /after", body)
	}
}

// TestFastPathStaleConnectionRetried: backends close idle keep-alive
// connections; a request sent into one that just closed goes again on a
// new connection instead of failing.
func TestFastPathStaleConnectionRetried(t *testing.T) {
	r, f := newFront(t, Config{})
	var conns atomic.Int64
	be := rawBackend(t, "stale", func(nc net.Conn, br *bufio.Reader) {
		conns.Add(1)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		// Keep-alive by the look of it, but closed right after.
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	r.SetRoute(Route{Host: "stale.localhost", Backends: []Backend{be}})
	c := dialFront(t, f)
	for i, req := range []string{
		"GET / HTTP/1.1\r\nHost: stale.localhost\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: stale.localhost\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: stale.localhost\r\nContent-Length: 4\r\n\r\ndata",
	} {
		time.Sleep(50 * time.Millisecond) // the backend's close arrives
		c.send(req)
		if resp, body := c.read("GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 ok", i, resp.StatusCode, body)
		}
	}
	if got := conns.Load(); got < 3 {
		t.Errorf("backend saw %d connections, want one per request", got)
	}
}

// TestFastPathEarlyAnswer: a backend that refuses a large upload without
// reading it gets its answer through, and nothing hangs.
func TestFastPathEarlyAnswer(t *testing.T) {
	r, f := newFront(t, Config{})
	be := rawBackend(t, "early", func(nc net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(nc, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		time.Sleep(100 * time.Millisecond)
	})
	r.SetRoute(Route{Host: "early.localhost", Backends: []Backend{be}})
	c := dialFront(t, f)
	c.send("POST / HTTP/1.1\r\nHost: early.localhost\r\nContent-Length: 100000000\r\n\r\n" + strings.Repeat("x", 64<<10))
	resp, body := c.read("POST")
	if resp.StatusCode != 413 || body != "big" || !resp.Close {
		t.Fatalf("%d %q close %v, want 413 big with Connection: close", resp.StatusCode, body, resp.Close)
	}
	if !c.closed() {
		t.Error("the connection stayed open with the rest of the body unread")
	}
	waitFor(t, func() bool { return r.InFlight("early") == 0 })
}

// TestFastPathHandsOff: what the fast path does not take is answered by
// net/http, on the same connection, from the request on.
func TestFastPathHandsOff(t *testing.T) {
	r, f := newFront(t, Config{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		fmt.Fprintf(w, "%s %s %d", req.Proto, body, len(req.Header.Get("Cookie")))
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "ho.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	t.Run("HTTP/1.0 after fast requests", func(t *testing.T) {
		c := dialFront(t, f)
		c.send("GET / HTTP/1.1\r\nHost: ho.localhost\r\n\r\nGET / HTTP/1.0\r\nHost: ho.localhost\r\n\r\n")
		if _, body := c.read("GET"); body != "HTTP/1.1  0" {
			t.Fatalf("first: %q", body)
		}
		if _, body := c.read("GET"); body != "HTTP/1.1  0" {
			t.Fatalf("second: %q", body)
		}
	})
	t.Run("Expect: 100-continue", func(t *testing.T) {
		c := dialFront(t, f)
		c.send("PUT / HTTP/1.1\r\nHost: ho.localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
		line, _ := c.br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("got %q, want 100 Continue", line)
		}
		c.br.ReadString('\n')
		c.send("data")
		if _, body := c.read("PUT"); body != "HTTP/1.1 data 0" {
			t.Fatalf("got %q", body)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		c := dialFront(t, f)
		c.send("GET / HTTP/1.1\r\nHost: ho.localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
		if resp, _ := c.read("GET"); resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("head over 2 MiB", func(t *testing.T) {
		c := dialFront(t, f)
		go io.WriteString(c.nc, "GET / HTTP/1.1\r\nHost: ho.localhost\r\nCookie: "+strings.Repeat("c", 2<<20)+"\r\n\r\n")
		// net/http answers and closes while the rest is still coming.
		if line, _ := c.br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 431 ") {
			t.Fatalf("got %q, want 431", line)
		}
	})
	t.Run("long header stays fast", func(t *testing.T) {
		c := dialFront(t, f)
		c.send("GET / HTTP/1.1\r\nHost: ho.localhost\r\nCookie: " + strings.Repeat("c", 40000) + "\r\n\r\n")
		if _, body := c.read("GET"); body != "HTTP/1.1  40000" {
			t.Fatalf("got %q", body)
		}
	})
}

// TestServerShutdown: idle connections close at once, a request in flight
// finishes whole, and Serve returns.
func TestServerShutdown(t *testing.T) {
	r := New(Config{}, testLog(t))
	defer r.Close()
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "done")
	}))
	defer be.Close()
	r.SetRoute(Route{Host: "sd.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(r)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	f := &front{Listener: ln}

	idle := dialFront(t, f)
	idle.send("GET / HTTP/1.1\r\nHost: sd.localhost\r\n\r\n")
	idle.read("GET")
	busy := dialFront(t, f)
	busy.send("GET /slow HTTP/1.1\r\nHost: sd.localhost\r\n\r\n")
	waitFor(t, func() bool { return r.InFlight("a") == 1 })

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Error("an idle connection stayed open")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	resp, body := busy.read("GET")
	if body != "done" || !resp.Close {
		t.Errorf("in-flight request: %q, close %v; want done, Connection: close", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve: %v, want ErrServerClosed", err)
	}
}

// TestFastPathFramingSurvivesConnectionTokens: a Connection header naming
// a framing header changes nothing about how a message is framed, in
// either direction (else one client could smuggle a request into another's
// pooled backend connection).
func TestFastPathFramingSurvivesConnectionTokens(t *testing.T) {
	r, f := newFront(t, Config{})
	var paths []string
	var mu sync.Mutex
	be := rawBackend(t, "frame", func(nc net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			mu.Lock()
			paths = append(paths, req.URL.Path)
			mu.Unlock()
			answer := fmt.Sprintf("path=%s body=%d", req.URL.Path, len(body))
			fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
		}
	})
	r.SetRoute(Route{Host: "frame.localhost", Backends: []Backend{be}})
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: frame.localhost\r\n\r\n"
	a := dialFront(t, f)
	a.send(fmt.Sprintf("POST /first HTTP/1.1\r\nHost: frame.localhost\r\nConnection: Content-Length\r\nContent-Length: %d\r\n\r\n%s", len(smuggled), smuggled))
	if _, body := a.read("POST"); body != fmt.Sprintf("path=/first body=%d", len(smuggled)) {
		t.Fatalf("first: %q", body)
	}
	b := dialFront(t, f)
	b.send("GET /victim HTTP/1.1\r\nHost: frame.localhost\r\n\r\n")
	if _, body := b.read("GET"); body != "path=/victim body=0" {
		t.Fatalf("another client got %q, want its own answer", body)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if p == "/smuggled" {
			t.Errorf("the backend saw a smuggled request: %v", paths)
		}
	}
}

// TestFastPathHEADPages: the router's own pages answer HEAD without a body.
func TestFastPathHEADPages(t *testing.T) {
	_, f := newFront(t, Config{})
	c := dialFront(t, f)
	c.send("HEAD / HTTP/1.1\r\nHost: nowhere.localhost\r\n\r\nGET / HTTP/1.1\r\nHost: nowhere.localhost\r\n\r\n")
	if resp, body := c.read("HEAD"); resp.StatusCode != 404 || body != "" || resp.ContentLength <= 0 {
		t.Fatalf("HEAD: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, body := c.read("GET"); resp.StatusCode != 404 || !strings.Contains(body, "Not found") {
		t.Fatalf("GET after HEAD: %d %q", resp.StatusCode, body)
	}
}

// TestFastPathPOSTNotSentTwice: a backend that takes a POST on a reused
// connection and closes without answering gets it once; the client gets
// 502. A GET in the same plight is sent again.
func TestFastPathPOSTNotSentTwice(t *testing.T) {
	r, f := newFront(t, Config{})
	var mu sync.Mutex
	seen := map[string]int{}
	be := rawBackend(t, "dies", func(nc net.Conn, br *bufio.Reader) {
		for n := 0; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			mu.Lock()
			seen[req.Method+" "+req.URL.Path]++
			mu.Unlock()
			if n == 1 {
				return // the second request on a connection: taken, never answered
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	r.SetRoute(Route{Host: "dies.localhost", Backends: []Backend{be}})
	c := dialFront(t, f)
	c.send("GET /warm HTTP/1.1\r\nHost: dies.localhost\r\n\r\n")
	c.read("GET")
	c.send("POST /pay HTTP/1.1\r\nHost: dies.localhost\r\nContent-Length: 1\r\n\r\nx")
	if resp, _ := c.read("POST"); resp.StatusCode != 502 {
		t.Errorf("POST: %d, want 502", resp.StatusCode)
	}
	c.send("GET /warm2 HTTP/1.1\r\nHost: dies.localhost\r\n\r\n")
	c.read("GET")
	c.send("GET /again HTTP/1.1\r\nHost: dies.localhost\r\n\r\n")
	if resp, _ := c.read("GET"); resp.StatusCode != 200 {
		t.Errorf("GET: %d, want 200 from a second try", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["POST /pay"] != 1 || seen["GET /again"] != 2 {
		t.Errorf("backend saw %v; want the POST once and the GET twice", seen)
	}
}

// TestFastPathKeepsTransferCodings: a coding before chunked is part of
// the body the client gets, so the header keeps it.
func TestFastPathKeepsTransferCodings(t *testing.T) {
	r, f := newFront(t, Config{})
	be := rawBackend(t, "gz", func(nc net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n")
	})
	r.SetRoute(Route{Host: "gz.localhost", Backends: []Backend{be}})
	c := dialFront(t, f)
	c.send("GET / HTTP/1.1\r\nHost: gz.localhost\r\n\r\n")
	head, err := readHead(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(head), "\r\nTransfer-Encoding: gzip, chunked\r\n") {
		t.Errorf("head %q, want Transfer-Encoding: gzip, chunked", head)
	}
}
