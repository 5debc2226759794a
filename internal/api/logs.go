package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/store"
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
		if follow {
			// A stream outlives the listener's ReadTimeout, which is
			// for reading requests.
			http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
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

// DecisionLister lists a service's automatic-deployment decisions.
type DecisionLister interface {
	CommitDecisions(ctx context.Context, service string) ([]store.CommitDecision, error)
}

// DeploymentsPath is where Slipway serves the automatic-deployment
// decision log.
const DeploymentsPath = "/slipway/v1/deployments"

// Decision is one entry of the decision log as served.
type Decision struct {
	Commit      string    `json:"commit"`
	Author      string    `json:"author"`
	Message     string    `json:"message"`
	CommittedAt time.Time `json:"committedAt"`
	DecidedAt   time.Time `json:"decidedAt"`
	Decision    string    `json:"decision"`
	Reason      string    `json:"reason"`
	OperationID string    `json:"operationId,omitempty"`
	Trigger     string    `json:"trigger"`
}

// DeploymentsHandler serves GET DeploymentsPath?service=NAME|ARN as JSON,
// newest first, SigV4-signed like the API.
func DeploymentsHandler(auth *Authenticator, dl DecisionLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Verify(r.Context(), r, nil); err != nil {
			writeError(w, toWireError(err))
			return
		}
		ds, err := dl.CommitDecisions(r.Context(), r.URL.Query().Get("service"))
		if err != nil {
			writeError(w, toWireError(err))
			return
		}
		out := make([]Decision, 0, len(ds))
		for _, d := range ds {
			out = append(out, Decision{d.Commit, d.Author, d.Message, d.CommittedAt, d.DecidedAt, d.Decision, d.Reason, d.OperationID, d.Trigger})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}
