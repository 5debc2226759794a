package autoscale

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tags on an auto scaling configuration that opt its services into scale to
// zero. They are tags so that App Runner's wire, whose MinSize is at least 1,
// stays as it is and Terraform can set them.
const (
	// TagMinSize set to "0" lets the services scale to zero.
	TagMinSize = "slipway:min-size"
	// TagIdleTimeout is how long without a request stops the last
	// instance, as a Go duration ("5m", "90s"); DefaultIdleTimeout if unset.
	TagIdleTimeout = "slipway:idle-timeout"
)

// MinIdleTimeout is the shortest idle timeout accepted: below it a service
// would stop between two requests of one page load.
const MinIdleTimeout = time.Second

// ErrInvalidTag is wrapped by ParseTags' errors, so the API can answer them
// as the caller's mistake.
var ErrInvalidTag = errors.New("invalid scale-to-zero tag")

type tagError struct{ msg string }

func (e *tagError) Error() string { return e.msg }
func (e *tagError) Unwrap() error { return ErrInvalidTag }

func tagErrorf(format string, args ...any) error {
	return &tagError{msg: fmt.Sprintf(format, args...)}
}

// ParseTags reads the scale-to-zero settings from an auto scaling
// configuration's tags: minZero is true for slipway:min-size=0, and idle is
// then the idle timeout to put in Config.IdleTimeout (with MinSize 0). Other
// tags are ignored. Errors say what to write instead.
func ParseTags(tags map[string]string) (minZero bool, idle time.Duration, err error) {
	minSize, hasMin := tags[TagMinSize]
	timeout, hasIdle := tags[TagIdleTimeout]
	if hasMin {
		if v := strings.TrimSpace(minSize); v != "0" {
			return false, 0, tagErrorf("%s %q can only be 0 (scale to zero); set MinSize in the auto scaling configuration for other sizes",
				TagMinSize, minSize)
		}
		minZero = true
	}
	if !hasIdle {
		if minZero {
			idle = DefaultIdleTimeout
		}
		return minZero, idle, nil
	}
	idle, err = time.ParseDuration(strings.TrimSpace(timeout))
	if err != nil {
		return false, 0, tagErrorf("%s %q is not a duration such as 5m or 90s", TagIdleTimeout, timeout)
	}
	if idle < MinIdleTimeout {
		return false, 0, tagErrorf("%s %q is too short: it must be at least %s", TagIdleTimeout, timeout, MinIdleTimeout)
	}
	if !minZero {
		return false, 0, tagErrorf("%s is set but %s is not; add %s=0 to scale to zero, or remove %s",
			TagIdleTimeout, TagMinSize, TagMinSize, TagIdleTimeout)
	}
	return true, idle, nil
}
