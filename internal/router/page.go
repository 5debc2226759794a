package router

import (
	"html"
	"net/http"
	"strconv"
)

// page is one of the router's own answers: a minimal HTML page. Both the
// net/http path and the HTTP/1.1 fast path send it, from the same bytes.
type page struct {
	status int
	title  string
	msg    string // already HTML-escaped
	// retryAfter adds "Retry-After: 1" (over capacity).
	retryAfter bool
}

func (p page) body() string {
	return "<!doctype html>\n<html><head><title>" + p.title + "</title></head>" +
		"<body><h1>" + p.title + "</h1><p>" + p.msg + "</p></body></html>\n"
}

// appendTo appends p as a complete HTTP/1.1 response; close adds
// "Connection: close", and head leaves the body out (an answer to HEAD).
func (p page) appendTo(b []byte, close, head bool) []byte {
	body := p.body()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(p.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(p.status)...)
	b = append(b, "\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"...)
	if p.retryAfter {
		b = append(b, "Retry-After: 1\r\n"...)
	}
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	if head {
		return b
	}
	return append(b, body...)
}

// write sends p through w.
func (p page) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.retryAfter {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(p.status)
	_, _ = w.Write([]byte(p.body()))
}

var (
	pageNotFound       = page{status: http.StatusNotFound, title: "Not found", msg: "No service at this address."}
	pageBadGateway     = page{status: http.StatusBadGateway, title: "Bad gateway", msg: "The service could not be reached."}
	pageGatewayTimeout = page{status: http.StatusGatewayTimeout, title: "Gateway timeout", msg: "The service did not answer in time."}
)

// refusal is the page for a request that no backend will serve: e is the
// host's route entry, nil when there is none.
func (r *Router) refusal(host string, e *routeEntry) page {
	switch {
	case e == nil:
		r.log.Debug("no route", "host", host)
		return pageNotFound
	case e.route.State == Paused:
		r.log.Debug("service paused", "service", e.route.Service)
		return page{status: http.StatusServiceUnavailable, title: "Service paused",
			msg: `The service "` + html.EscapeString(e.route.Service) + `" is paused.`}
	default:
		r.log.Error("no healthy instance", "service", e.route.Service, "state", e.route.State)
		return page{status: http.StatusServiceUnavailable, title: "Service unavailable",
			msg: `The service "` + html.EscapeString(e.route.Service) + `" has no healthy instance.`}
	}
}

// overCapacity is the page for a request that found no capacity in time:
// 429, as App Runner answers a service over capacity.
func (r *Router) overCapacity(e *routeEntry, status int) page {
	r.log.Debug("over capacity", "service", e.route.Service, "status", status)
	return page{status: status, title: "Too many requests", retryAfter: true,
		msg: `The service "` + html.EscapeString(e.route.Service) + `" is at capacity; try again shortly.`}
}
