package router

import (
	"html"
	"net/http"
)

// refuse answers a request that no backend will serve: e is host's route
// entry, nil when there is none.
func (r *Router) refuse(w http.ResponseWriter, req *http.Request, host string, e *routeEntry) {
	switch {
	case e == nil:
		r.log.Debug("no route", "host", host)
		writePage(w, http.StatusNotFound, "Not found", "No service at this address.")
	case e.route.State == Paused:
		r.log.Debug("service paused", "service", e.route.Service)
		writePage(w, http.StatusServiceUnavailable, "Service paused",
			`The service "`+html.EscapeString(e.route.Service)+`" is paused.`)
	default:
		r.log.Error("no healthy instance", "service", e.route.Service, "state", e.route.State)
		writePage(w, http.StatusServiceUnavailable, "Service unavailable",
			`The service "`+html.EscapeString(e.route.Service)+`" has no healthy instance.`)
	}
}

// writePage writes a minimal HTML page; msg must already be HTML-escaped.
func writePage(w http.ResponseWriter, status int, title, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<!doctype html>\n<html><head><title>" + title + "</title></head>" +
		"<body><h1>" + title + "</h1><p>" + msg + "</p></body></html>\n"))
}
