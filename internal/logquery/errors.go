package logquery

import "fmt"

// Error codes CloudWatch Logs answers with.
const (
	CodeResourceNotFound = "ResourceNotFoundException"
	CodeInvalidParameter = "InvalidParameterException"
)

// Error is a request CloudWatch Logs would refuse, with its error code and
// a message safe to show.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameter, Message: fmt.Sprintf(format, args...)}
}

var (
	errGroupNotFound  = &Error{Code: CodeResourceNotFound, Message: "The specified log group does not exist."}
	errStreamNotFound = &Error{Code: CodeResourceNotFound, Message: "The specified log stream does not exist."}
	errBadToken       = invalid("The specified nextToken is invalid.")
)
