package api

import (
	"net/http"
	"strings"
)

// Endpoint serves POST / for every AWS service Slipway speaks on its one
// listener, as AWS serves each at its own host: App Runner (AWS JSON 1.0,
// "AppRunner." targets), CloudWatch Logs (AWS JSON 1.1, "Logs_20140328."
// targets) and STS (the Query protocol: a form-encoded Action). Clients pick
// the service by the endpoint override they are given (AWS_ENDPOINT_URL_*),
// which all point here, so the request itself must say which it is.
type Endpoint struct {
	AppRunner http.Handler
	Logs      http.Handler // nil: Logs targets are unknown operations
	STS       http.Handler // nil: form posts go to App Runner's error path
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, logsTargetPrefix) && e.Logs != nil:
		e.Logs.ServeHTTP(w, r)
	case target == "" && e.STS != nil && isFormPost(r):
		e.STS.ServeHTTP(w, r)
	default:
		e.AppRunner.ServeHTTP(w, r)
	}
}

// logsTargetPrefix starts CloudWatch Logs' X-Amz-Target values.
const logsTargetPrefix = "Logs_20140328."

func isFormPost(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// ForService returns a copy of a that accepts signatures scoped to the
// signing name service ("logs", "sts") instead of a.Service.
func (a *Authenticator) ForService(service string) *Authenticator {
	c := *a
	c.Service = service
	return &c
}
