package router

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestWildcardAliases: "*.apps.example.test" serves every name one label
// under apps.example.test that has no entry of its own, on the fast path
// (HTTP/1.1) and through net/http (HTTP/2 over TLS).
func TestWildcardAliases(t *testing.T) {
	r, f := newFront(t, Config{HTTPSPort: 8443})
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{newBackend(t, "svc")}})
	r.SetRoute(Route{Host: "other.localhost", Backends: []Backend{newBackend(t, "other")}})
	r.SetAlias("*.Apps.Example.Test", "svc.localhost", false)
	r.SetAlias("special.apps.example.test", "other.localhost", false)
	addr, tlsClient := tlsFront(t, r)

	tests := []struct {
		host     string
		wantCode int
		wantBody string
	}{
		{"a.apps.example.test", 200, "svc"},
		{"B-2.Apps.Example.Test.:8080", 200, "svc"},
		{"special.apps.example.test", 200, "other"}, // an exact alias wins
		{"svc.localhost", 200, "svc"},
		{"apps.example.test", 404, ""},      // the parent is not covered
		{"x.y.apps.example.test", 404, ""},  // nor two labels down
		{"a.other.example.test", 404, ""},   // nor a sibling
		{"*.apps.example.test", 200, "svc"}, // the literal name is the alias
		{"nothing.localhost", 404, ""},
	}
	for _, tt := range tests {
		code, body := get(t, f, http.MethodGet, tt.host, "")
		if code != tt.wantCode || tt.wantBody != "" && body != tt.wantBody {
			t.Errorf("HTTP/1.1 %s: %d %q, want %d %q", tt.host, code, body, tt.wantCode, tt.wantBody)
		}
		req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
		req.Host = tt.host
		resp, err := tlsClient.Do(req)
		if err != nil {
			t.Fatalf("HTTP/2 %s: %v", tt.host, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != tt.wantCode || tt.wantBody != "" && string(b) != tt.wantBody {
			t.Errorf("%s %s: %d %q, want HTTP/2 %d %q", resp.Proto, tt.host, resp.StatusCode, b, tt.wantCode, tt.wantBody)
		}
	}
	for host, want := range map[string]bool{"q.apps.example.test": true, "apps.example.test": false, "special.apps.example.test": true} {
		if got := r.Serves(host); got != want {
			t.Errorf("Serves(%q) = %v, want %v", host, got, want)
		}
	}

	// HTTPS only: a plain request is redirected to the name asked for, not
	// to the wildcard.
	r.SetAlias("*.apps.example.test", "svc.localhost", true)
	noRedirect := *f.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", f.URL+"/p?q=1", nil)
	req.Host = "a.apps.example.test"
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != "https://a.apps.example.test:8443/p?q=1" {
		t.Errorf("HTTPS only: %d to %q, want 308 to https://a.apps.example.test:8443/p?q=1", resp.StatusCode, loc)
	}
	if code, body := get(t, f, http.MethodGet, "special.apps.example.test", ""); code != 200 || body != "other" {
		t.Errorf("the exact alias under an HTTPS-only wildcard: %d %q, want it served over HTTP", code, body)
	}

	// The wildcard follows its route, and goes when removed.
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{newBackend(t, "svc2")}})
	r.SetAlias("*.apps.example.test", "svc.localhost", false)
	if code, body := get(t, f, http.MethodGet, "a.apps.example.test", ""); code != 200 || body != "svc2" {
		t.Errorf("after SetRoute: %d %q, want svc2", code, body)
	}
	// What a wildcard covers is a DNS label, nothing else.
	if code, _ := get(t, f, http.MethodGet, "x@evil.apps.example.test", ""); code != 404 {
		t.Errorf("a non-label under the wildcard: %d, want 404", code)
	}
	r.RemoveAlias("*.apps.example.test")
	if code, _ := get(t, f, http.MethodGet, "a.apps.example.test", ""); code != 404 {
		t.Errorf("wildcard removed: %d, want 404", code)
	}
	if r.wildcards.Load() != nil {
		t.Error("no wildcard alias left, yet lookups still try wildcards")
	}
	if code, body := get(t, f, http.MethodGet, "special.apps.example.test", ""); code != 200 || body != "other" {
		t.Errorf("the exact alias after the wildcard went: %d %q", code, body)
	}
}

// TestWildcardWakesIdleService: a request through a wildcard to a service
// scaled to zero wakes the service by its own host.
func TestWildcardWakesIdleService(t *testing.T) {
	var (
		mu    sync.Mutex
		woken []string
		r     *Router
	)
	be := newBackend(t, "fresh")
	r, f := newFront(t, Config{Wake: func(host string) {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, host)
		if len(woken) == 1 {
			go func() {
				time.Sleep(50 * time.Millisecond)
				r.SetRoute(Route{Host: "svc.test", Backends: []Backend{be}})
			}()
		}
	}})
	r.SetRoute(Route{Host: "svc.test", State: Idle})
	r.SetAlias("*.example.test", "svc.test", false)
	if code, body := get(t, f, http.MethodGet, "a.example.test", ""); code != 200 || body != "fresh" {
		t.Fatalf("request to an idle service through a wildcard: %d %q, want 200 fresh", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(woken) == 0 || woken[0] != "svc.test" {
		t.Errorf("Wake calls: %v, want svc.test", woken)
	}
}

// BenchmarkRouteKey: an exact lookup costs nothing more until a wildcard
// alias exists, and one map lookup more after.
func BenchmarkRouteKey(b *testing.B) {
	r := New(Config{}, nil)
	r.SetRoute(Route{Host: "svc.localhost", Backends: []Backend{{ID: "a", Addr: "127.0.0.1:1"}}})
	run := func(b *testing.B, host, want string) {
		for b.Loop() {
			if r.routeKey(host) != want {
				b.Fatal("wrong key")
			}
		}
	}
	b.Run("exact/no-wildcards", func(b *testing.B) { run(b, "svc.localhost", "svc.localhost") })
	r.SetAlias("*.example.test", "svc.localhost", false)
	b.Run("exact/wildcards", func(b *testing.B) { run(b, "svc.localhost", "svc.localhost") })
	b.Run("wildcard", func(b *testing.B) { run(b, "a.example.test", "*.example.test") })
}
