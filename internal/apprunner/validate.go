package apprunner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Validator is implemented by every generated shape type.
type Validator interface {
	Validate(path string) error
}

// Validate checks a whole request (or any shape) against the model's constraints and returns
// the first violation as a *ValidationError, or nil.
func Validate(v Validator) error { return v.Validate("") }

// ValidationError is one violated model constraint, reported the way App Runner words it.
// The API layer answers it with InvalidRequestException.
type ValidationError struct {
	Field      string // AWS path, e.g. "sourceConfiguration.codeRepository.repositoryUrl"
	Value      string // the offending value; not shown when Null or Sensitive
	Constraint string // e.g. "Member must not be null"
	Null       bool   // the value was missing
	Sensitive  bool   // the shape is @sensitive: never echo Value
}

// Error returns the AWS message, e.g. "1 validation error detected: Value 'ab' at
// 'serviceName' failed to satisfy constraint: Member must have length greater than or equal to 4".
func (e *ValidationError) Error() string {
	var value string
	switch {
	case e.Null:
		value = "Value null"
	case e.Sensitive:
		value = "Value"
	default:
		value = "Value '" + e.Value + "'"
	}
	return fmt.Sprintf("1 validation error detected: %s at '%s' failed to satisfy constraint: %s",
		value, e.Field, e.Constraint)
}

func joinPath(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// elemPath follows AWS's list paths: tags.1.member (1-based).
func elemPath(path string, i int) string {
	return path + "." + strconv.Itoa(i+1) + ".member"
}

func errMissing(path string) error {
	return &ValidationError{Field: path, Null: true, Constraint: "Member must not be null"}
}

func errLengthMin(path, v string, sensitive bool, min int64) error {
	return &ValidationError{Field: path, Value: v, Sensitive: sensitive,
		Constraint: fmt.Sprintf("Member must have length greater than or equal to %d", min)}
}

func errLengthMax(path, v string, sensitive bool, max int64) error {
	return &ValidationError{Field: path, Value: v, Sensitive: sensitive,
		Constraint: fmt.Sprintf("Member must have length less than or equal to %d", max)}
}

// errCountMin and errCountMax report list and map sizes; the value is not echoed.
func errCountMin(path string, min int64) error {
	return &ValidationError{Field: path, Sensitive: true,
		Constraint: fmt.Sprintf("Member must have length greater than or equal to %d", min)}
}

func errCountMax(path string, max int64) error {
	return &ValidationError{Field: path, Sensitive: true,
		Constraint: fmt.Sprintf("Member must have length less than or equal to %d", max)}
}

func errPattern(path, v string, sensitive bool, pattern string) error {
	return &ValidationError{Field: path, Value: v, Sensitive: sensitive,
		Constraint: "Member must satisfy regular expression pattern: " + pattern}
}

func errEnum(path, v string, values []string) error {
	return &ValidationError{Field: path, Value: v,
		Constraint: "Member must satisfy enum value set: [" + strings.Join(values, ", ") + "]"}
}

func errRangeMin(path string, v, min int64) error {
	return &ValidationError{Field: path, Value: strconv.FormatInt(v, 10),
		Constraint: fmt.Sprintf("Member must have value greater than or equal to %d", min)}
}

func errRangeMax(path string, v, max int64) error {
	return &ValidationError{Field: path, Value: strconv.FormatInt(v, 10),
		Constraint: fmt.Sprintf("Member must have value less than or equal to %d", max)}
}

// Hand-written checks that replace model patterns (see gen/overrides.go).

func validCPU(s string) bool {
	_, err := ParseCPU(s)
	return err == nil
}

func validMemory(s string) bool {
	_, err := ParseMemory(s)
	return err == nil
}

// validTagKey stands in for "^(?!aws:).+$"; @length already requires at least one rune.
func validTagKey(s string) bool { return !strings.HasPrefix(s, "aws:") }

// imageReferencePattern is the OCI image reference grammar (distribution/reference):
// [host[:port]/]path[:tag][@sha256:digest], with lowercase path components.
const imageReferencePattern = `^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?` +
	`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
	`(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`

var imageReferenceRE = regexp.MustCompile(imageReferencePattern)

// validImageIdentifier relaxes the model's ECR-only pattern to any OCI image reference.
func validImageIdentifier(s string) bool { return imageReferenceRE.MatchString(s) }
