package autoscale

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func sec(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestWindowAverage(t *testing.T) {
	tests := []struct {
		name    string
		span    time.Duration
		samples map[int]float64 // second -> concurrency, recorded in order of seconds
		upTo    int             // record seconds 0..upTo that are in samples
		now     int
		d       time.Duration
		wantAvg float64
		wantN   int
	}{
		{name: "empty", span: time.Minute, now: 10, d: time.Minute},
		{name: "partial window averages what it has", span: time.Minute,
			samples: map[int]float64{0: 1, 1: 2, 2: 3}, upTo: 2, now: 2, d: time.Minute, wantAvg: 2, wantN: 3},
		{name: "window ends at now and starts after now-d", span: time.Minute,
			samples: ramp(10), upTo: 9, now: 9, d: 5 * time.Second, wantAvg: 7, wantN: 5},
		{name: "samples after now are left out", span: time.Minute,
			samples: ramp(10), upTo: 9, now: 4, d: time.Minute, wantAvg: 2, wantN: 5},
		{name: "samples older than the span are dropped", span: 10 * time.Second,
			samples: ramp(100), upTo: 99, now: 99, d: time.Minute, wantAvg: 94.5, wantN: 10},
		{name: "nothing in the window", span: time.Minute,
			samples: map[int]float64{0: 5}, upTo: 0, now: 30, d: 6 * time.Second},
		{name: "negative and NaN count as 0", span: time.Minute,
			samples: map[int]float64{0: -3, 1: math.NaN(), 2: 6}, upTo: 2, now: 2, d: time.Minute, wantAvg: 2, wantN: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWindow(tt.span)
			for s := 0; s <= tt.upTo; s++ {
				if v, ok := tt.samples[s]; ok {
					w.Record(sec(s), v)
				}
			}
			avg, n := w.Average(sec(tt.now), tt.d)
			if math.Abs(avg-tt.wantAvg) > 1e-9 || n != tt.wantN {
				t.Errorf("Average(%d, %s) = %v over %d samples, want %v over %d", tt.now, tt.d, avg, n, tt.wantAvg, tt.wantN)
			}
		})
	}
}

func ramp(n int) map[int]float64 {
	m := make(map[int]float64, n)
	for i := range n {
		m[i] = float64(i)
	}
	return m
}

func TestWindowStaysSmall(t *testing.T) {
	w := NewWindow(10 * time.Second)
	for s := range 10000 {
		w.Record(sec(s), 1)
	}
	if got := len(w.buf); got > 32 {
		t.Errorf("after 10000 samples over a 10s span the ring holds %d slots, want at most 32", got)
	}
	if _, n := w.Average(sec(9999), time.Minute); n != 10 {
		t.Errorf("kept %d samples, want 10", n)
	}
}

func TestWindowOrdersLateSamples(t *testing.T) {
	w := NewWindow(10 * time.Second)
	w.Record(sec(5), 10)
	w.Record(sec(3), 100) // late, but within the span: kept in order
	w.Record(sec(6), 0)
	if avg, n := w.Average(sec(5), 3*time.Second); avg != 55 || n != 2 {
		t.Errorf("Average over (2s, 5s] = %v over %d samples, want 55 over 2", avg, n)
	}
	if avg, n := w.Average(sec(6), time.Second); avg != 0 || n != 1 {
		t.Errorf("Average over (5s, 6s] = %v over %d samples, want 0 over 1", avg, n)
	}
	if got := w.LastActive(); !got.Equal(sec(5)) {
		t.Errorf("LastActive = %v, want %v: a late sample must not move it back", got, sec(5))
	}
	w.Record(sec(-10), 7) // older than the span before the newest: dropped
	if _, n := w.Average(sec(6), time.Minute); n != 3 {
		t.Errorf("after a sample older than the span, %d samples kept, want 3", n)
	}
	if got := w.Since(); !got.Equal(sec(3)) {
		t.Errorf("Since = %v, want %v", got, sec(3))
	}
}

func TestWindowLastActiveAndSince(t *testing.T) {
	w := NewWindow(10 * time.Second)
	if !w.LastActive().IsZero() || !w.Since().IsZero() {
		t.Fatalf("new window: LastActive %v, Since %v, want zero times", w.LastActive(), w.Since())
	}
	w.Record(sec(1), 0)
	w.Record(sec(2), 3)
	for s := 3; s < 100; s++ {
		w.Record(sec(s), 0)
	}
	if got := w.LastActive(); !got.Equal(sec(2)) {
		t.Errorf("LastActive = %v, want %v even after the span dropped it", got, sec(2))
	}
	if got := w.Since(); !got.Equal(sec(1)) {
		t.Errorf("Since = %v, want %v", got, sec(1))
	}
	var nilWindow *Window
	if avg, n := nilWindow.Average(sec(1), time.Minute); avg != 0 || n != 0 || !nilWindow.LastActive().IsZero() {
		t.Errorf("nil window: Average %v over %d, LastActive %v; want nothing", avg, n, nilWindow.LastActive())
	}
}
