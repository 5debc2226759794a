package router

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRouterVsDirect measures the router's overhead over loopback,
// through the Server as the daemon serves it (the HTTP/1.1 fast path).
func BenchmarkRouterVsDirect(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	r, front := newFront(b, Config{})
	r.log = slog.New(slog.DiscardHandler)
	r.SetRoute(Route{Host: "bench.localhost", Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})

	run := func(url string) func(b *testing.B) {
		return func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 256}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url, nil)
					req.Host = "bench.localhost"
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		}
	}
	b.Run("direct", run(be.URL))
	b.Run("router", run(front.URL))
}
