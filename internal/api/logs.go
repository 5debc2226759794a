package api

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/slipwayhq/slipway/internal/applog"
)

// LogReader reads a service's logs.
type LogReader interface {
	Logs(ctx context.Context, service, operation string, follow bool, fn func(applog.Entry)) error
}

// LogsPath is where Slipway serves logs, beside the App Runner API, which
// has no log operations of its own.
const LogsPath = "/slipway/v1/logs"

// LogsHandler serves GET LogsPath?service=NAME|ARN[&operation=ID][&follow=1]
// as text, one entry a line, SigV4-signed like the API.
func LogsHandler(auth *Authenticator, lr LogReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Verify(r.Context(), r, nil); err != nil {
			writeError(w, toWireError(err))
			return
		}
		q := r.URL.Query()
		follow, _ := strconv.ParseBool(q.Get("follow"))
		flusher, _ := w.(http.Flusher)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		started := false
		err := lr.Logs(r.Context(), q.Get("service"), q.Get("operation"), follow, func(e applog.Entry) {
			started = true
			io.WriteString(w, e.String()+"\n")
			if follow && flusher != nil {
				flusher.Flush()
			}
		})
		if err != nil && !started && r.Context().Err() == nil {
			writeError(w, toWireError(err))
		}
	})
}
