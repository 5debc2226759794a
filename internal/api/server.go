package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/logquery"
)

const (
	targetPrefix = "AppRunner."
	contentType  = "application/x-amz-json-1.0"
	// maxBody caps CreateService and UpdateService, whose configurations
	// (commands, environment variables of up to 51,200 characters each)
	// are the largest requests; smallBody caps every other operation.
	maxBody   = 1 << 20
	smallBody = 64 << 10
)

// bodyCap is the most an operation's request body may hold.
func bodyCap(op string) int64 {
	switch op {
	case "CreateService", "UpdateService":
		return maxBody
	}
	return smallBody
}

// readRequestBody reads a request body of at most limit bytes, refusing a larger
// one by its Content-Length before reading it.
func readRequestBody(r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &wireError{code: "RequestEntityTooLargeException", status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("the request body is larger than this operation's limit of %d bytes", limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, &wireError{code: "SerializationException", status: 400, msg: "could not read the request body"}
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// handler runs one operation on a raw JSON body.
type handler func(ctx context.Context, body []byte) (any, error)

// Server is the API's HTTP handler for POST /.
type Server struct {
	auth *Authenticator
	ops  map[string]handler
	log  *slog.Logger
}

// NewServer returns a server dispatching to c.
func NewServer(auth *Authenticator, c Controller, log *slog.Logger) *Server {
	return &Server{auth: auth, ops: operations(c), log: log}
}

type ctxKey struct{}

// AccessKey returns the access key ID that signed the request in ctx.
func AccessKey(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if r.Method != http.MethodPost {
		writeError(w, &wireError{code: "UnknownOperationException", status: http.StatusNotFound, msg: "App Runner API requests are POST /"})
		return
	}
	// Nothing is read before the headers show a known key's signature
	// with the operation signed, and then only what the operation needs.
	if err := s.auth.Precheck(r); err != nil {
		s.fail(w, r, "", err)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	body, err := readRequestBody(r, bodyCap(op))
	if err != nil {
		s.fail(w, r, op, err)
		return
	}
	key, err := s.auth.Verify(r.Context(), r, body)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, key)
	h := s.ops[op]
	if !ok || h == nil {
		s.fail(w, r, op, &wireError{code: "UnknownOperationException", status: 400,
			msg: fmt.Sprintf("unknown operation %q", r.Header.Get("X-Amz-Target"))})
		return
	}
	out, err := h(ctx, body)
	if err != nil {
		s.fail(w, r, op, modeledFor(op, err))
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.fail(w, r, op, fmt.Errorf("encode %s output: %w", op, err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
	s.log.Debug("api", "op", op, "request", reqID)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	we := toWireError(err)
	if we.status >= 500 {
		s.log.Error("api request failed", "op", op, "err", err)
	} else {
		s.log.Debug("api request rejected", "op", op, "code", we.code, "err", err)
	}
	writeError(w, we)
}

// modeledFor keeps an operation's errors to the types its model lists,
// which are all an SDK's callers expect from it: a modeled error the
// operation does not list (InvalidStateException from StartDeployment on a
// paused service) is sent as InvalidRequestException, with its message.
func modeledFor(op string, err error) error {
	var ape *apprunner.Error
	if !errors.As(err, &ape) || ape.Code == apprunner.CodeInvalidRequest || ape.Code == apprunner.CodeInternalServiceError {
		return err
	}
	o, ok := apprunner.LookupOperation(op)
	if !ok || slices.Contains(o.Errors, ape.Code) {
		return err
	}
	return &apprunner.Error{Code: apprunner.CodeInvalidRequest, Message: ape.Message, Err: err}
}

// wireError is an error as sent on the wire.
type wireError struct {
	code   string
	status int
	msg    string
}

func (e *wireError) Error() string { return e.code + ": " + e.msg }

// toWireError is the one place that maps errors to AWS error responses.
func toWireError(err error) *wireError {
	var (
		we  *wireError
		ae  *authError
		ve  *apprunner.ValidationError
		ape *apprunner.Error
		le  *logquery.Error
	)
	switch {
	case errors.As(err, &we):
		return we
	case errors.As(err, &ae):
		return &wireError{code: ae.code, status: http.StatusForbidden, msg: ae.msg}
	case errors.As(err, &ve):
		return &wireError{code: apprunner.CodeInvalidRequest, status: 400, msg: ve.Error()}
	case errors.As(err, &ape):
		status := 400
		switch ape.Code {
		case apprunner.CodeServiceQuotaExceeded:
			status = http.StatusPaymentRequired // as App Runner's model says
		case apprunner.CodeInternalServiceError:
			status = 500
		}
		return &wireError{code: ape.Code, status: status, msg: ape.Message}
	case errors.As(err, &le):
		return &wireError{code: le.Code, status: 400, msg: le.Message}
	}
	return &wireError{code: apprunner.CodeInternalServiceError, status: 500,
		msg: "An internal error occurred; the daemon's log has the details."}
}

func writeError(w http.ResponseWriter, e *wireError) { writeJSONError(w, contentType, e) }

// writeJSONError writes e as AWS JSON 1.0 and 1.1 write errors, which
// differ only in their content type ct.
func writeJSONError(w http.ResponseWriter, ct string, e *wireError) {
	msg := e.msg
	if len(msg) > 600 { // ErrorMessage's max length in the model
		msg = msg[:597] + "..."
	}
	b, _ := json.Marshal(map[string]string{"__type": e.code, "Message": msg, "message": msg})
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	w.Write(b)
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
