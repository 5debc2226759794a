package apprunner

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp on the wire: a JSON number of epoch seconds with millisecond fractions,
// e.g. 1700000000.123. The AWS SDKs reject timestamps sent as strings.
type Time struct{ time.Time }

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{t} }

// NewTimePtr wraps t and returns a pointer, for optional timestamp members.
func NewTimePtr(t time.Time) *Time { return &Time{t} }

// Std returns the standard library time.
func (t Time) Std() time.Time { return t.Time }

// MarshalJSON encodes t as epoch seconds, truncated to milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON decodes epoch seconds; null leaves t unchanged.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("apprunner: timestamp must be a JSON number of epoch seconds, got %s", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}
