package apprunner

import "fmt"

// Error codes of the App Runner API that Slipway returns. The first five are
// modeled errors; the rest are the common AWS errors every service shares.
const (
	CodeInvalidRequest       = "InvalidRequestException"
	CodeInvalidState         = "InvalidStateException"
	CodeResourceNotFound     = "ResourceNotFoundException"
	CodeServiceQuotaExceeded = "ServiceQuotaExceededException"
	CodeInternalServiceError = "InternalServiceErrorException"
)

// Error is an API error with its AWS error code and a message safe to show.
// Err, when set, is the internal cause: kept for errors.Is and logs, never
// sent to clients.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// InvalidRequest returns an InvalidRequestException.
func InvalidRequest(format string, args ...any) error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// InvalidState returns an InvalidStateException.
func InvalidState(format string, args ...any) error {
	return &Error{Code: CodeInvalidState, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns a ResourceNotFoundException.
func NotFound(format string, args ...any) error {
	return &Error{Code: CodeResourceNotFound, Message: fmt.Sprintf(format, args...)}
}

// QuotaExceeded returns a ServiceQuotaExceededException.
func QuotaExceeded(format string, args ...any) error {
	return &Error{Code: CodeServiceQuotaExceeded, Message: fmt.Sprintf(format, args...)}
}
