package router

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// Observer is told about every request for a routed host, for metrics. It
// is called on the request's goroutine when the request ends, so it must
// be cheap and safe for concurrent use.
type Observer interface {
	// Request is a request for service that ended after d. status is what
	// the client was answered (101 for an upgraded connection), or 0 when
	// the client went away before any answer.
	Request(service string, status int, d time.Duration)
}

// observe reports a request that began at start and wrote through w.
func (r *Router) observe(service string, w *statusWriter, start time.Time) {
	r.obs.Request(service, w.status, time.Since(start))
}

// statusWriter records the status of a response. It is used only when the
// router has an Observer. It implements http.Flusher and http.Hijacker
// itself, so that it sees a flush or a hijack (WebSockets) happen, and
// Unwrap, so that http.ResponseController (which httputil.ReverseProxy
// uses) reaches the rest of the underlying writer's features.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	// Informational answers (103 Early Hints) come before the real one.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker; it fails with http.ErrNotSupported
// where the underlying writer cannot hijack (HTTP/2).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var (
	_ http.Flusher  = (*statusWriter)(nil)
	_ http.Hijacker = (*statusWriter)(nil)
)
