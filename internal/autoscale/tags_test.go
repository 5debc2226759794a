package autoscale

import (
	"errors"
	"testing"
	"time"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		name     string
		tags     map[string]string
		wantZero bool
		wantIdle time.Duration
		wantErr  string
	}{
		{name: "no tags"},
		{name: "other tags only", tags: map[string]string{"team": "api", "slipway:other": "x"}},
		{name: "min size 0 and idle timeout", tags: map[string]string{TagMinSize: "0", TagIdleTimeout: "5m"},
			wantZero: true, wantIdle: 5 * time.Minute},
		{name: "idle timeout in seconds, spaces trimmed", tags: map[string]string{TagMinSize: " 0", TagIdleTimeout: "90s "},
			wantZero: true, wantIdle: 90 * time.Second},
		{name: "min size 0 alone takes the default idle timeout", tags: map[string]string{TagMinSize: "0"},
			wantZero: true, wantIdle: DefaultIdleTimeout},
		{name: "min size other than 0", tags: map[string]string{TagMinSize: "1"},
			wantErr: `slipway:min-size "1" can only be 0 (scale to zero); set MinSize in the auto scaling configuration for other sizes`},
		{name: "not a duration", tags: map[string]string{TagMinSize: "0", TagIdleTimeout: "5 minutes"},
			wantErr: `slipway:idle-timeout "5 minutes" is not a duration such as 5m or 90s`},
		{name: "a number without unit", tags: map[string]string{TagMinSize: "0", TagIdleTimeout: "300"},
			wantErr: `slipway:idle-timeout "300" is not a duration such as 5m or 90s`},
		{name: "too short", tags: map[string]string{TagMinSize: "0", TagIdleTimeout: "500ms"},
			wantErr: `slipway:idle-timeout "500ms" is too short: it must be at least 1s`},
		{name: "negative", tags: map[string]string{TagMinSize: "0", TagIdleTimeout: "-5m"},
			wantErr: `slipway:idle-timeout "-5m" is too short: it must be at least 1s`},
		{name: "idle timeout without min size 0", tags: map[string]string{TagIdleTimeout: "5m"},
			wantErr: "slipway:idle-timeout is set but slipway:min-size is not; add slipway:min-size=0 to scale to zero, or remove slipway:idle-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zero, idle, err := ParseTags(tt.tags)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseTags(%v) error = %v, want %q", tt.tags, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidTag) {
					t.Errorf("ParseTags(%v) error %v does not wrap ErrInvalidTag", tt.tags, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTags(%v) error = %v, want none", tt.tags, err)
			}
			if zero != tt.wantZero || idle != tt.wantIdle {
				t.Errorf("ParseTags(%v) = %v, %s; want %v, %s", tt.tags, zero, idle, tt.wantZero, tt.wantIdle)
			}
		})
	}
}
