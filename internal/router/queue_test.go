package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowBackend holds each request until release is closed and records the
// most requests it ever had at once.
type slowBackend struct {
	Backend
	now, peak atomic.Int64
	release   chan struct{}
}

func newSlowBackend(t *testing.T, id string) *slowBackend {
	t.Helper()
	b := &slowBackend{release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := b.now.Add(1)
		for {
			p := b.peak.Load()
			if n <= p || b.peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-b.release
		b.now.Add(-1)
		io.WriteString(w, id)
	}))
	t.Cleanup(srv.Close)
	b.Backend = Backend{ID: id, Addr: srv.Listener.Addr().String()}
	return b
}

// fire sends n concurrent GETs to host and returns a channel of statuses.
func fire(t *testing.T, front *front, host string, n int) <-chan int {
	out := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, front.URL, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out <- resp.StatusCode
		}()
	}
	return out
}

func TestMaxConcurrencyQueues(t *testing.T) {
	r, front := newFront(t, Config{})
	a, b := newSlowBackend(t, "a"), newSlowBackend(t, "b")
	r.SetRoute(Route{Host: "svc.test", Backends: []Backend{a.Backend, b.Backend}, MaxConcurrency: 2})
	statuses := fire(t, front, "svc.test", 10)
	waitFor(t, func() bool {
		in, q := r.Load("svc.test")
		return in == 4 && q == 6
	})
	if a.now.Load() != 2 || b.now.Load() != 2 {
		t.Fatalf("backends hold %d and %d requests, want 2 each", a.now.Load(), b.now.Load())
	}
	close(a.release)
	close(b.release)
	for range 10 {
		if s := <-statuses; s != 200 {
			t.Fatalf("a queued request answered %d, want 200", s)
		}
	}
	if a.peak.Load() > 2 || b.peak.Load() > 2 {
		t.Fatalf("peak concurrency %d and %d, want at most 2", a.peak.Load(), b.peak.Load())
	}
	// The handler releases its backend just after the client has the
	// response.
	waitFor(t, func() bool { in, q := r.Load("svc.test"); return in == 0 && q == 0 })
}

func TestQueueOverflowAndTimeout(t *testing.T) {
	r, front := newFront(t, Config{QueueTimeout: 300 * time.Millisecond})
	a := newSlowBackend(t, "a")
	defer close(a.release)
	r.SetRoute(Route{Host: "svc.test", Backends: []Backend{a.Backend}, MaxConcurrency: 1, QueueDepth: 2})
	statuses := fire(t, front, "svc.test", 1)
	waitFor(t, func() bool { in, _ := r.Load("svc.test"); return in == 1 })
	queued := fire(t, front, "svc.test", 2)
	waitFor(t, func() bool { _, q := r.Load("svc.test"); return q == 2 })
	// The queue is full: one more is refused at once.
	if s := <-fire(t, front, "svc.test", 1); s != http.StatusTooManyRequests {
		t.Fatalf("over the queue: %d, want 429", s)
	}
	// The queued ones time out.
	for range 2 {
		if s := <-queued; s != http.StatusTooManyRequests {
			t.Fatalf("a request queued past the timeout: %d, want 429", s)
		}
	}
	select {
	case s := <-statuses:
		t.Fatalf("the request in flight ended early with %d", s)
	default:
	}
}

func TestIdleWakes(t *testing.T) {
	var mu sync.Mutex
	var woken []string
	var r *Router
	be := newBackend(t, "fresh")
	r, front := newFront(t, Config{Wake: func(host string) {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, host)
		if len(woken) == 1 {
			// An instance starts and passes its health check a little later.
			go func() {
				time.Sleep(100 * time.Millisecond)
				r.SetRoute(Route{Host: "svc.test", Backends: []Backend{be}})
			}()
		}
	}})
	r.SetRoute(Route{Host: "svc.test", State: Idle})
	begin := time.Now()
	code, body := get(t, front, http.MethodGet, "svc.test", "")
	if code != 200 || body != "fresh" {
		t.Fatalf("request to an idle service: %d %q, want 200 fresh", code, body)
	}
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Fatalf("answered in %s, before the instance existed", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(woken) == 0 || woken[0] != "svc.test" {
		t.Fatalf("Wake calls: %v", woken)
	}
}

func TestQueuedRequestsRefusedWhenPaused(t *testing.T) {
	r, front := newFront(t, Config{})
	a := newSlowBackend(t, "a")
	defer close(a.release)
	r.SetRoute(Route{Host: "svc.test", Backends: []Backend{a.Backend}, MaxConcurrency: 1})
	fire(t, front, "svc.test", 1)
	waitFor(t, func() bool { in, _ := r.Load("svc.test"); return in == 1 })
	queued := fire(t, front, "svc.test", 1)
	waitFor(t, func() bool { _, q := r.Load("svc.test"); return q == 1 })
	r.SetRoute(Route{Host: "svc.test", State: Paused})
	if s := <-queued; s != http.StatusServiceUnavailable {
		t.Fatalf("queued request after pause: %d, want 503", s)
	}
}
