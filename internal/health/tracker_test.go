package health

import (
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	want := Check{Protocol: "TCP", Path: "/", Interval: 5 * time.Second, Timeout: 2 * time.Second, HealthyThreshold: 1, UnhealthyThreshold: 5}
	if got := Default(); got != want {
		t.Errorf("Default() = %+v, want %+v", got, want)
	}
}

func TestTracker(t *testing.T) {
	const (
		U = Unknown
		H = Healthy
		X = Unhealthy
	)
	tests := []struct {
		name               string
		healthy, unhealthy int
		results            string // '+' success, '-' failure
		want               []Verdict
	}{
		{"defaults healthy at once", 0, 0, "+", []Verdict{H}},
		{"defaults unhealthy after five", 0, 0, "-----", []Verdict{U, U, U, U, X}},
		{"healthy threshold 3", 3, 2, "+++", []Verdict{U, U, H}},
		{"failure resets success streak", 3, 5, "++-+++", []Verdict{U, U, U, U, U, H}},
		{"success resets failure streak", 1, 3, "--+--", []Verdict{U, U, H, H, H}},
		{"healthy then unhealthy", 1, 2, "+--", []Verdict{H, H, X}},
		{"unhealthy then recovers", 2, 2, "--++", []Verdict{U, X, X, H}},
		{"flapping keeps verdict", 2, 2, "++-+-+-+", []Verdict{U, H, H, H, H, H, H, H}},
		{"flapping never decides", 2, 2, "+-+-+-", []Verdict{U, U, U, U, U, U}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(Check{HealthyThreshold: tt.healthy, UnhealthyThreshold: tt.unhealthy})
			for i, r := range tt.results {
				if got := tr.Observe(r == '+'); got != tt.want[i] {
					t.Fatalf("after %q: got %v, want %v", tt.results[:i+1], got, tt.want[i])
				}
			}
			if got := tr.Verdict(); got != tt.want[len(tt.want)-1] {
				t.Errorf("Verdict() = %v, want %v", got, tt.want[len(tt.want)-1])
			}
		})
	}
}
