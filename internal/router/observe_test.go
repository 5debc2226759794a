package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seen []observed
}

type observed struct {
	service string
	status  int
}

func (r *recorder) Request(service string, status int, d time.Duration) {
	if d <= 0 {
		status = -status // a request takes time; make the check fail
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, observed{service, status})
}

func (r *recorder) get() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

func TestObserverStatuses(t *testing.T) {
	rec := &recorder{}
	r, front := newFront(t, Config{Observer: rec})
	teapot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational: not the answer
		w.WriteHeader(http.StatusTeapot)
	}))
	defer teapot.Close()
	r.SetRoute(Route{Host: "ok.localhost", Service: "ok", Backends: []Backend{newBackend(t, "a")}})
	r.SetRoute(Route{Host: "tea.localhost", Service: "tea", Backends: []Backend{{ID: "t", Addr: teapot.Listener.Addr().String()}}})
	r.SetRoute(Route{Host: "paused.localhost", Service: "paused", State: Paused})
	r.SetRoute(Route{Host: "dead.localhost", Service: "dead", Backends: []Backend{{ID: "d", Addr: deadAddr(t)}}})

	for _, tc := range []struct {
		host string
		want int
	}{
		{"ok.localhost", 200},
		{"tea.localhost", 418},
		{"paused.localhost", 503},
		{"dead.localhost", 502},
		{"nowhere.localhost", 404},
	} {
		if code, _ := get(t, front, "GET", tc.host, ""); code != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.host, code, tc.want)
		}
	}
	// A host with no route has no service to count it under.
	want := []observed{{"ok", 200}, {"tea", 418}, {"paused", 503}, {"dead", 502}}
	if got := rec.get(); !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

// TestObserverKeepsStreaming checks that the status-recording writer
// passes flushes through: the first chunk arrives while the backend is
// still writing.
func TestObserverKeepsStreaming(t *testing.T) {
	rec := &recorder{}
	r, front := newFront(t, Config{Observer: rec})
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
	r.SetRoute(Route{Host: "stream.localhost", Service: "stream", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	req, _ := http.NewRequest("GET", front.URL, nil)
	req.Host = "stream.localhost"
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	expectFirstChunk(t, resp, "first\n")
	if got := rec.get(); len(got) != 0 {
		t.Errorf("observed %v before the response ended", got)
	}
	close(release)
	io.Copy(io.Discard, resp.Body)
	waitFor(t, func() bool { return len(rec.get()) == 1 })
	if got, want := rec.get()[0], (observed{"stream", 200}); got != want {
		t.Errorf("observed %v, want %v", got, want)
	}
}

// TestObserverKeepsWebSockets checks that the writer lets the proxy hijack
// the connection, and that the upgrade is observed as 101 when it closes.
func TestObserverKeepsWebSockets(t *testing.T) {
	rec := &recorder{}
	r, front := newFront(t, Config{Observer: rec})
	be := echoWS(t)
	defer be.Close()
	r.SetRoute(Route{Host: "ws.localhost", Service: "ws", Backends: []Backend{{ID: "ws", Addr: be.Listener.Addr().String()}}})

	conn, br, _, _ := wsHandshake(t, front, "ws.localhost")
	if err := writeFrame(conn, []byte("hello"), []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if got, err := readFrame(br); err != nil || string(got) != "hello" {
		t.Fatalf("echo = %q, %v; want hello", got, err)
	}
	conn.Close()
	waitFor(t, func() bool { return len(rec.get()) == 1 })
	if got, want := rec.get()[0], (observed{"ws", 101}); got != want {
		t.Errorf("observed %v, want %v", got, want)
	}
}

type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}

// BenchmarkObserver is the router's cost of an observer: the same
// request through ServeHTTP, without and with one.
func BenchmarkObserver(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	for _, c := range []struct {
		name string
		obs  Observer
	}{{"none", nil}, {"observer", nopObserver{}}} {
		b.Run(c.name, func(b *testing.B) {
			r := New(Config{Observer: c.obs}, nil)
			defer r.Close()
			r.SetRoute(Route{Host: "bench.localhost", Service: "bench", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
			req := httptest.NewRequest("GET", "http://bench.localhost/", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
