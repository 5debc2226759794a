package api

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// modelPatterns are the model's string patterns, anchored as the model
// means them.
var modelPatterns = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, p := range []string{logGroupNameChars, logGroupPatternChars, logGroupIdentifierChars, logStreamNameChars} {
		m[p] = regexp.MustCompile(`^(?:` + p + `)$`)
	}
	return m
}()

// validation collects a CloudWatch Logs request's violations of the
// model's constraints, to report them as CloudWatch does: "2 validation
// errors detected: Value '0' at 'limit' failed to satisfy constraint:
// Member must have value greater than or equal to 1; ...".
type validation struct {
	errs []string
	// param is a rule between parameters that the request breaks.
	param string
}

func (v *validation) add(name string, value any, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value '%v' at '%s' failed to satisfy constraint: Member must %s", value, name, constraint))
}

func (v *validation) str(name string, s *string, min, max int, pattern string) {
	if s == nil {
		return
	}
	switch n := utf8.RuneCountInString(*s); {
	case n < min:
		v.add(name, *s, fmt.Sprintf("have length greater than or equal to %d", min))
	case max > 0 && n > max:
		v.add(name, *s, fmt.Sprintf("have length less than or equal to %d", max))
	case pattern != "" && !modelPatterns[pattern].MatchString(*s):
		v.add(name, *s, "satisfy regular expression pattern: "+pattern)
	}
}

func (v *validation) num(name string, n *int, min, max int) {
	switch {
	case n == nil:
	case *n < min:
		v.add(name, *n, fmt.Sprintf("have value greater than or equal to %d", min))
	case *n > max:
		v.add(name, *n, fmt.Sprintf("have value less than or equal to %d", max))
	}
}

func (v *validation) time(name string, ms *int64) {
	if ms != nil && *ms < 0 {
		v.add(name, *ms, "have value greater than or equal to 0")
	}
}

func (v *validation) enum(name string, s *string, values ...string) {
	if s == nil {
		return
	}
	for _, ok := range values {
		if *s == ok {
			return
		}
	}
	v.add(name, *s, "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func (v *validation) count(name string, list []string, min, max int) {
	switch {
	case list == nil:
	case len(list) < min:
		v.add(name, fmt.Sprint(list), fmt.Sprintf("have length greater than or equal to %d", min))
	case len(list) > max:
		v.add(name, fmt.Sprint(list), fmt.Sprintf("have length less than or equal to %d", max))
	}
}

func (v *validation) required(name string, s *string) {
	if s == nil {
		v.add(name, "null", "not be null")
	}
}

// group checks that a request names its log group one way: by name or by
// identifier (a name or an ARN).
func (v *validation) group(name, identifier *string) {
	v.str("logGroupName", name, 1, 512, logGroupNameChars)
	v.str("logGroupIdentifier", identifier, 1, 2048, logGroupIdentifierChars)
	switch {
	case name != nil && identifier != nil:
		v.param = "LogGroup name and LogGroup ARN are mutually exclusive parameters."
	case name == nil && identifier == nil:
		v.param = "Either logGroupName or logGroupIdentifier must be specified."
	}
}

func (v *validation) err() error {
	switch {
	case len(v.errs) == 1:
		return &wireError{code: "InvalidParameterException", status: 400, msg: "1 validation error detected: " + v.errs[0]}
	case len(v.errs) > 1:
		return &wireError{code: "InvalidParameterException", status: 400,
			msg: fmt.Sprintf("%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))}
	case v.param != "":
		return &wireError{code: "InvalidParameterException", status: 400, msg: v.param}
	}
	return nil
}
