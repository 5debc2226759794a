package router

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
)

// attempt is the proxying state of one request, shared by ServeHTTP, the
// Rewrite hook and the transport through the request context. They all run
// on the handler's goroutine, so it needs no lock.
type attempt struct {
	host      string
	service   string
	backend   *backendEntry
	gate      *gate
	retryable bool
	retried   bool
	// trustedPeer: the request came from a trusted proxy (Config.TrustedProxies).
	trustedPeer bool
}

type attemptKey struct{}

func attemptFrom(ctx context.Context) *attempt {
	at, _ := ctx.Value(attemptKey{}).(*attempt)
	return at
}

// retryable reports whether req may be sent again to another backend after
// the first one could not be dialled.
func retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return req.ContentLength == 0 && (req.Body == nil || req.Body == http.NoBody)
}

func rewrite(pr *httputil.ProxyRequest) {
	at := attemptFrom(pr.In.Context())
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = at.backend.urlHost
	// Rewrite starts without the client's X-Forwarded-For. A trusted
	// proxy's chain is restored so SetXForwarded appends the peer to it;
	// anyone else's, and their X-Real-IP, are not believed.
	if at.trustedPeer {
		if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
			pr.Out.Header["X-Forwarded-For"] = append([]string(nil), prior...)
		}
	} else {
		pr.Out.Header.Del("X-Real-Ip")
	}
	pr.SetXForwarded()
	// Apps see the public host name, as on App Runner.
	pr.Out.Host = pr.In.Host
}

// retryTransport sends a request to the backend chosen by ServeHTTP and,
// when that backend cannot even be dialled, once more to another backend of
// the same route. Nothing reached the first backend, so this is safe for
// requests without a body or whose body was not read; it is what keeps a
// blue/green switch free of failed requests when an old instance is stopped.
type retryTransport struct {
	r *Router
}

func (t *retryTransport) RoundTrip(out *http.Request) (*http.Response, error) {
	tr := t.r.backendTransport(out)
	at := attemptFrom(out.Context())
	if at == nil || !at.retryable || at.retried {
		return tr.RoundTrip(out)
	}
	var body *trackedBody
	if out.Body != nil && out.Body != http.NoBody {
		body = &trackedBody{rc: out.Body}
		out = out.Clone(out.Context())
		out.Body = body
	}
	resp, err := tr.RoundTrip(out)
	if err == nil || !isDialError(err) || out.Context().Err() != nil || (body != nil && body.read.Load()) {
		return resp, err
	}
	_, next, _ := t.r.acquire(at.host, at.backend.id)
	if next == nil {
		return nil, err
	}
	t.r.log.Warn("backend unreachable, retrying on another",
		"service", at.service, "backend", at.backend.id, "next", next.id, "err", err)
	t.r.release(at.gate, at.backend)
	at.backend = next
	at.retried = true
	retry := out.Clone(out.Context())
	retry.URL.Host = next.urlHost
	return tr.RoundTrip(retry)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// trackedBody records whether the transport started sending the body. Its
// Close does nothing: the server closes the real body when the handler ends,
// and a retry must be able to send it.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error { return nil }

// proxyError answers when the backend gave no response: 504 when the
// request timeout expired, 502 otherwise.
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	at := attemptFrom(req.Context())
	var service, backend string
	if at != nil {
		service, backend = at.service, at.backend.id
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(req.Context().Err(), context.DeadlineExceeded):
		r.log.Error("request timed out", "service", service, "backend", backend, "host", req.Host, "path", req.URL.Path)
		pageGatewayTimeout.write(w)
	case errors.Is(err, context.Canceled) && req.Context().Err() != nil:
		// The client went away; nobody is left to answer.
		r.log.Debug("client canceled request", "service", service, "backend", backend)
	default:
		r.log.Error("proxy error", "service", service, "backend", backend, "err", err)
		pageBadGateway.write(w)
	}
}

var _ http.RoundTripper = (*retryTransport)(nil)
