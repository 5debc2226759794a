package router

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/slipwayhq/slipway/internal/tracing"
)

func TestParseTraceparent(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		in      string
		ok      bool
		sampled bool
	}{
		{"00-" + tid + "-" + sid + "-01", true, true},
		{"00-" + tid + "-" + sid + "-00", true, false},
		{"00-" + tid + "-" + sid + "-09", true, true},                      // other flags ignored
		{"01-" + tid + "-" + sid + "-01-what-the-future-says", true, true}, // a later version, read as 00
		{"00-" + tid + "-" + sid + "-01-extra", false, false},              // 00 is exactly 55 characters
		{"ff-" + tid + "-" + sid + "-01", false, false},
		{"00-" + strings.ToUpper(tid) + "-" + sid + "-01", false, false},
		{"00-00000000000000000000000000000000-" + sid + "-01", false, false},
		{"00-" + tid + "-0000000000000000-01", false, false},
		{"00-" + tid + "-" + sid + "-0", false, false},
		{"00_" + tid + "-" + sid + "-01", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		sc, ok := parseTraceparent(tt.in)
		if ok != tt.ok {
			t.Errorf("parseTraceparent(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if sc.TraceID().String() != tid || sc.SpanID().String() != sid || sc.IsSampled() != tt.sampled || !sc.IsRemote() {
			t.Errorf("parseTraceparent(%q) = %s %s sampled %v remote %v, want %s %s sampled %v remote",
				tt.in, sc.TraceID(), sc.SpanID(), sc.IsSampled(), sc.IsRemote(), tid, sid, tt.sampled)
		}
		// What the router sends on is what it read, but for other flags.
		if got := string(appendTraceparent(nil, sc)); tt.in[:2] == "00" && tt.in[53:] != "09" && got != tt.in {
			t.Errorf("appendTraceparent(parseTraceparent(%q)) = %q", tt.in, got)
		}
	}
}

func TestParseAmznTraceID(t *testing.T) {
	tests := []struct {
		in, tid, sid string // sid "" for a root without a parent
		ok, sampled  bool
	}{
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true, true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true, false},
		{"Sampled=?; Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793; Lineage=a87bd80c:1|68fd508a:5",
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true, true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793", "", true, true},
		{"Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8", "", "", false, false},
		{"Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", "", "", false, false},
		{"Root=1-5759E988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", "", "", false, false},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f", "", "", false, false},
		{"Parent=53995c3f42cd8ad8;Sampled=1", "", "", false, false},
		{"Self=1-5759e988-bd862e3fe1be46a994272793", "", "", false, false},
	}
	for _, tt := range tests {
		sc, ok := parseAmznTraceID(tt.in)
		if ok != tt.ok {
			t.Errorf("parseAmznTraceID(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		sid := ""
		if sc.SpanID().IsValid() {
			sid = sc.SpanID().String()
		}
		if sc.TraceID().String() != tt.tid || sid != tt.sid || sc.IsSampled() != tt.sampled {
			t.Errorf("parseAmznTraceID(%q) = %s %q sampled %v, want %s %q sampled %v",
				tt.in, sc.TraceID(), sid, sc.IsSampled(), tt.tid, tt.sid, tt.sampled)
		}
	}
	sc, _ := parseTraceparent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
	if got, want := string(appendAmznTraceID(nil, sc)), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"; got != want {
		t.Errorf("appendAmznTraceID = %q, want %q", got, want)
	}
}

// headerBackend answers 200, or the status in the request's X-Status, and
// keeps the trace headers of each request it gets.
type headerBackend struct {
	mu   sync.Mutex
	seen []http.Header
}

func newHeaderBackend(t *testing.T) (*headerBackend, Backend) {
	hb := &headerBackend{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := http.Header{}
		for _, k := range []string{"Traceparent", "Tracestate", "X-Amzn-Trace-Id"} {
			if v, ok := req.Header[k]; ok {
				h[k] = v
			}
		}
		hb.mu.Lock()
		hb.seen = append(hb.seen, h)
		hb.mu.Unlock()
		if req.Header.Get("X-Status") == "500" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return hb, Backend{ID: "traced", Addr: srv.Listener.Addr().String()}
}

func (hb *headerBackend) last() http.Header {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if len(hb.seen) == 0 {
		return nil
	}
	return hb.seen[len(hb.seen)-1]
}

// waitSpans returns the spans exp has once it has n, or after a second:
// the router ends a span after the client has its answer.
func waitSpans(exp *tracetest.InMemoryExporter, n int) []sdktrace.ReadOnlySpan {
	deadline := time.Now().Add(time.Second)
	for len(exp.GetSpans()) < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return exp.GetSpans().Snapshots()
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTracePropagation sends requests with and without a trace context to
// a traced route, over the fast path (HTTP/1.1) and net/http's (HTTP/2),
// and checks the router's span and what the backend was sent; and that a
// route that is not traced makes no span and passes the headers as they
// came.
func TestTracePropagation(t *testing.T) {
	const (
		clientTID = "4bf92f3577b34da6a3ce929d0e0e4736"
		clientSID = "00f067aa0ba902b7"
		xrayTID   = "5759e988bd862e3fe1be46a994272793"
		xraySID   = "53995c3f42cd8ad8"
	)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(tracing.XRayIDGenerator()))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	r, front := newFront(t, Config{Tracer: tp.Tracer("test")})
	hb, be := newHeaderBackend(t)
	r.SetRoute(Route{Host: "traced.localhost", Service: "traced-svc", ServiceARN: "arn:aws:apprunner:us-east-1:000000000000:service/traced-svc/abc",
		Traced: true, Backends: []Backend{be}})
	r.SetRoute(Route{Host: "plain.localhost", Service: "plain-svc", Backends: []Backend{be}})

	clients := map[string]*http.Client{"fast path": front.Client(), "net/http (h2c)": h2cClient(t)}
	tests := []struct {
		name    string
		headers map[string]string
		// parentTID and parentSID are the span's parent; "" for a root
		// span (with wantTID its trace ID, or "" for a new one).
		parentTID, parentSID, wantTID string
		tracestate                    string // what the backend gets
		status                        int
	}{
		{name: "no context", status: 200},
		{name: "traceparent", headers: map[string]string{
			"Traceparent": "00-" + clientTID + "-" + clientSID + "-01", "Tracestate": "vendor=1",
			"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		}, parentTID: clientTID, parentSID: clientSID, tracestate: "vendor=1", status: 200},
		{name: "X-Amzn-Trace-Id", headers: map[string]string{
			"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "Tracestate": "stale=1",
		}, parentTID: xrayTID, parentSID: xraySID, status: 200},
		{name: "X-Amzn-Trace-Id root only", headers: map[string]string{
			"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
		}, wantTID: xrayTID, status: 200},
		{name: "invalid traceparent", headers: map[string]string{
			"Traceparent": "00-" + clientTID + "-" + clientSID + "-1", "Tracestate": "vendor=1",
		}, status: 200},
		{name: "server error", headers: map[string]string{"X-Status": "500"}, status: 500},
	}
	for pathName, client := range clients {
		for _, tt := range tests {
			t.Run(pathName+"/"+tt.name, func(t *testing.T) {
				exp.Reset()
				req, _ := http.NewRequest("GET", front.URL+"/p/q?x=1", nil)
				req.Host = "traced.localhost"
				for k, v := range tt.headers {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				spans := waitSpans(exp, 1)
				if len(spans) != 1 {
					t.Fatalf("%d spans, want 1", len(spans))
				}
				s := spans[0]
				sc := s.SpanContext()
				if s.SpanKind() != trace.SpanKindServer || s.Name() != "GET traced-svc" {
					t.Errorf("span %q kind %v, want \"GET traced-svc\" server", s.Name(), s.SpanKind())
				}
				for k, want := range map[string]string{"http.request.method": "GET", "url.path": "/p/q",
					"server.address": "traced.localhost", "slipway.service.name": "traced-svc",
					"slipway.service.arn": "arn:aws:apprunner:us-east-1:000000000000:service/traced-svc/abc"} {
					if got := spanAttr(s, k).Emit(); got != want {
						t.Errorf("span attribute %s = %q, want %q", k, got, want)
					}
				}
				if got := spanAttr(s, "http.response.status_code").AsInt64(); got != int64(tt.status) {
					t.Errorf("http.response.status_code = %d, want %d", got, tt.status)
				}
				if wantErr := tt.status >= 500; (s.Status().Code == codes.Error) != wantErr {
					t.Errorf("span status %v for %d", s.Status(), tt.status)
				}
				if tt.parentSID != "" {
					if sc.TraceID().String() != tt.parentTID || s.Parent().SpanID().String() != tt.parentSID || !s.Parent().IsRemote() {
						t.Errorf("span %s parent %s/%s, want in trace %s under %s", sc.TraceID(), s.Parent().TraceID(), s.Parent().SpanID(), tt.parentTID, tt.parentSID)
					}
				} else {
					if s.Parent().IsValid() {
						t.Errorf("span has parent %s, want a root span", s.Parent().SpanID())
					}
					if tt.wantTID != "" && sc.TraceID().String() != tt.wantTID {
						t.Errorf("trace ID %s, want %s", sc.TraceID(), tt.wantTID)
					}
				}
				got := hb.last()
				tid, sid := sc.TraceID().String(), sc.SpanID().String()
				want := http.Header{
					"Traceparent":     {"00-" + tid + "-" + sid + "-01"},
					"X-Amzn-Trace-Id": {"Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sid + ";Sampled=1"},
				}
				if tt.tracestate != "" {
					want["Tracestate"] = []string{tt.tracestate}
				}
				if len(got) != len(want) {
					t.Errorf("backend got trace headers %v, want %v", got, want)
				}
				for k, v := range want {
					if len(got[k]) != 1 || got[k][0] != v[0] {
						t.Errorf("backend got %s %q, want %q", k, got[k], v)
					}
				}
			})
		}
		t.Run(pathName+"/not traced", func(t *testing.T) {
			exp.Reset()
			req, _ := http.NewRequest("GET", front.URL+"/", nil)
			req.Host = "plain.localhost"
			tp := "00-" + clientTID + "-" + clientSID + "-01"
			req.Header.Set("Traceparent", tp)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The router ends a span once it has answered: a span would be
			// there by now.
			time.Sleep(50 * time.Millisecond)
			if n := len(exp.GetSpans()); n != 0 {
				t.Errorf("%d spans for a route that is not traced", n)
			}
			if got := hb.last(); got.Get("Traceparent") != tp || got.Get("X-Amzn-Trace-Id") != "" {
				t.Errorf("backend got %v, want the client's traceparent alone", got)
			}
		})
	}
}

// TestTraceRouterAnswers: a request the router answers itself (a paused
// service) has its span too, with the router's status.
func TestTraceRouterAnswers(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	r, front := newFront(t, Config{Tracer: tp.Tracer("test")})
	r.SetRoute(Route{Host: "gone.localhost", Service: "gone", Traced: true, State: Unavailable})
	if code, _ := get(t, front, "GET", "gone.localhost", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	spans := waitSpans(exp, 1)
	if len(spans) != 1 || spanAttr(spans[0], "http.response.status_code").AsInt64() != 503 || spans[0].Status().Code != codes.Error {
		t.Fatalf("spans %v, want one with status 503, an error", spans)
	}
}

// BenchmarkTracedFastPath is the fast path's cost of tracing a request
// (an SDK that records and drops spans), next to an untraced route.
func BenchmarkTracedFastPath(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	for _, traced := range []bool{false, true} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			r, front := newFront(b, Config{Tracer: tp.Tracer("bench")})
			r.log = testLog(b).With()
			r.SetRoute(Route{Host: "bench.localhost", Service: "bench", Traced: traced, Backends: []Backend{{ID: "a", Addr: be.Listener.Addr().String()}}})
			client := front.Client()
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("GET", front.URL+"/", nil)
				req.Host = "bench.localhost"
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
