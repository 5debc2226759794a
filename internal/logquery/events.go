package logquery

import (
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// entryMessage is the message a log file's entry shows as: app output as
// the app printed it, build output and Slipway's own lines marked as App
// Runner marks its own ("[Build] ...", "[AppRunner] ...").
func entryMessage(e applog.Entry) string {
	switch {
	case e.Source == applog.SourceBuild:
		return "[Build] " + e.Text
	case e.Stream == applog.System:
		return "[AppRunner] " + e.Text
	}
	return e.Text
}

// fileEvents turns a log file's entries into a stream's events. Empty
// lines are dropped: CloudWatch has no empty events.
func fileEvents(stream string, es []applog.Entry) []Event {
	out := make([]Event, 0, len(es))
	for _, e := range es {
		if msg := entryMessage(e); msg != "" {
			out = append(out, Event{Stream: stream, Time: e.Time, Message: msg})
		}
	}
	return numbered(out)
}

// operationWhat names what an operation of each type does.
var operationWhat = map[string]string{
	ar.OperationTypeCreateService:   "Service creation",
	ar.OperationTypeStartDeployment: "Deployment",
	ar.OperationTypeUpdateService:   "Service update",
	ar.OperationTypePauseService:    "Pausing the service",
	ar.OperationTypeResumeService:   "Resuming the service",
	ar.OperationTypeDeleteService:   "Service deletion",
}

// operationEvents is the service's events stream: when each operation
// started and how it ended, with the reason of a failure.
func operationEvents(ops []store.Operation) []Event {
	var out []Event
	for _, op := range ops {
		what := operationWhat[op.Type]
		if what == "" {
			what = op.Type
		}
		if !op.StartedAt.IsZero() {
			msg := fmt.Sprintf("[AppRunner] %s started. Operation ID: %s", what, op.ID)
			if op.Trigger != "" {
				msg += ", triggered by " + op.Trigger
			}
			out = append(out, Event{Stream: EventsStream, Time: op.StartedAt, Message: msg + "."})
		}
		if !op.Done() {
			continue
		}
		end := op.EndedAt
		if end.IsZero() {
			end = op.UpdatedAt
		}
		var outcome string
		switch op.Status {
		case ar.OperationStatusSucceeded:
			outcome = "succeeded"
		case ar.OperationStatusFailed:
			outcome = "failed"
		case ar.OperationStatusRollbackSucceeded:
			outcome = "failed and was rolled back"
		case ar.OperationStatusRollbackFailed:
			outcome = "failed and could not be rolled back"
		}
		msg := fmt.Sprintf("[AppRunner] %s %s. Operation ID: %s.", what, outcome, op.ID)
		if r := strings.TrimSpace(op.Reason); r != "" {
			msg += " Reason: " + r
		}
		out = append(out, Event{Stream: EventsStream, Time: end, Message: msg})
	}
	return numbered(out)
}
