package autoscale

import (
	"strings"
	"testing"
	"time"
)

// load returns concurrency by second from (from-second, value) pairs: each
// value holds from its second until the next pair's.
func load(pairs ...float64) func(int) float64 {
	return func(s int) float64 {
		v := 0.0
		for i := 0; i+1 < len(pairs); i += 2 {
			if float64(s) >= pairs[i] {
				v = pairs[i+1]
			}
		}
		return v
	}
}

// check is what a scenario wants from the decision at one second. reason is
// matched whole, or as a substring when it starts with "…".
type check struct {
	at      int
	desired int
	panic   bool
	reason  string
}

// TestDecideOverTime runs each scenario one second at a time, as the engine
// does: record the concurrency, decide, and take the decision's instances as
// ready at once.
func TestDecideOverTime(t *testing.T) {
	zero := Config{MinSize: 0, IdleTimeout: 5 * time.Minute}
	tests := []struct {
		name   string
		cfg    Config
		ready  int
		load   func(int) float64
		until  int
		checks []check
	}{
		{name: "steady state", ready: 1, load: load(0, 50), until: 120, checks: []check{
			{at: 0, desired: 1, reason: "concurrency 50.0 over 1m0s needs 1 instance at 70 each (70% of 100): keep 1"},
			{at: 120, desired: 1, reason: "…: keep 1"},
		}},
		{name: "gradual rise follows the stable window without panic", ready: 1,
			load: func(s int) float64 { return float64(s) }, until: 300, checks: []check{
				{at: 99, desired: 1},
				{at: 100, desired: 2, reason: "concurrency 70.5 over 1m0s needs 2 instances at 70 each (70% of 100): scale out from 1 to 2"},
				{at: 169, desired: 2},
				{at: 170, desired: 3},
				{at: 300, desired: 4, reason: "concurrency 270.5 over 1m0s needs 4 instances at 70 each (70% of 100): keep 4"},
			}},
		{name: "burst panics and scales on the panic window", ready: 1, load: load(0, 0, 30, 400), until: 100, checks: []check{
			{at: 31, desired: 1},
			{at: 32, desired: 3, panic: true,
				reason: "concurrency 200.0 over 6s needs 3 instances at 70 each (70% of 100): 2.9× the ready capacity, panic: scale out from 1 to 3"},
			{at: 33, desired: 4, panic: true, reason: "…: panicking: scale out from 3 to 4"},
			{at: 35, desired: 6, panic: true},
			{at: 91, desired: 6, panic: true, reason: "…: panicking: keep 6"},
			{at: 92, desired: 6, reason: "concurrency 400.0 over 1m0s needs 6 instances at 70 each (70% of 100): keep 6"},
		}},
		{name: "panic holds until a stable window without a burst", ready: 1, load: load(0, 0, 30, 400, 41, 0), until: 120, checks: []check{
			{at: 35, desired: 6, panic: true},
			{at: 41, desired: 6, panic: true,
				reason: "panicking for 9s: hold 6 until 1m0s pass without a burst (concurrency 104.8 over 1m0s needs 2 instances at 70 each (70% of 100))"},
			{at: 91, desired: 6, panic: true, reason: "…panicking for 59s: hold 6 until 1m0s pass without a burst (concurrency 60.0 over 1m0s"},
			{at: 92, desired: 1, reason: "concurrency 53.3 over 1m0s needs 1 instance at 70 each (70% of 100): scale in from 6 to 1"},
		}},
		{name: "scale in as the stable window empties", ready: 3, load: load(0, 150, 120, 0), until: 200, checks: []check{
			{at: 119, desired: 3, reason: "concurrency 150.0 over 1m0s needs 3 instances at 70 each (70% of 100): keep 3"},
			{at: 122, desired: 3},
			{at: 123, desired: 2, reason: "concurrency 140.0 over 1m0s needs 2 instances at 70 each (70% of 100): scale in from 3 to 2"},
			{at: 150, desired: 2},
			{at: 151, desired: 1},
			{at: 200, desired: 1, reason: "concurrency 0.0 over 1m0s needs 0 instances at 70 each (70% of 100), at least 1: keep 1"},
		}},
		{name: "issue 10's load: MaxConcurrency 4, MaxSize 3, 12 requests, then none",
			cfg: Config{MaxConcurrency: 4, MinSize: 1, MaxSize: 3}, ready: 1, load: load(0, 12, 30, 0), until: 120, checks: []check{
				{at: 0, desired: 3, panic: true,
					reason: "concurrency 12.0 over 6s needs 5 instances at 2.8 each (70% of 4), capped at MaxSize 3: 4.3× the ready capacity, panic: scale out from 1 to 3"},
				{at: 29, desired: 3, panic: true},
				{at: 59, desired: 3, panic: true},
				{at: 60, desired: 3},
				{at: 61, desired: 2, reason: "concurrency 5.6 over 1m0s needs 2 instances at 2.8 each (70% of 4): scale in from 3 to 2"},
				{at: 74, desired: 2},
				{at: 75, desired: 1, reason: "concurrency 2.8 over 1m0s needs 1 instance at 2.8 each (70% of 4): scale in from 2 to 1"},
				{at: 90, desired: 1, reason: "…needs 0 instances at 2.8 each (70% of 4), MinSize 1: keep 1"},
				{at: 120, desired: 1},
			}},
		{name: "MaxSize caps a steady load", cfg: Config{MaxConcurrency: 4, MaxSize: 3}, ready: 3, load: load(0, 12), until: 60, checks: []check{
			{at: 60, desired: 3, reason: "concurrency 12.0 over 1m0s needs 5 instances at 2.8 each (70% of 4), capped at MaxSize 3: keep 3"},
		}},
		{name: "MinSize floor", cfg: Config{MinSize: 2}, ready: 1, load: load(0, 0), until: 60, checks: []check{
			{at: 0, desired: 2, reason: "concurrency 0.0 over 1m0s needs 0 instances at 70 each (70% of 100), MinSize 2: scale out from 1 to 2"},
			{at: 60, desired: 2},
		}},
		{name: "MaxConcurrency 1: three requests need five instances at 70%", cfg: Config{MaxConcurrency: 1}, ready: 5,
			load: load(0, 3), until: 60, checks: []check{
				{at: 60, desired: 5, reason: "concurrency 3.0 over 1m0s needs 5 instances at 0.7 each (70% of 1): keep 5"},
			}},
		{name: "MaxConcurrency 1: one request needs a second instance", cfg: Config{MaxConcurrency: 1}, ready: 1,
			load: load(0, 1), until: 10, checks: []check{
				{at: 0, desired: 2, reason: "…: scale out from 1 to 2"},
				{at: 10, desired: 2},
			}},
		{name: "scale to zero after the idle timeout", cfg: zero, ready: 1, load: load(0, 10, 10, 0), until: 400, checks: []check{
			{at: 9, desired: 1},
			{at: 308, desired: 1, reason: "concurrency 0.0 over 1m0s needs 0 instances at 70 each (70% of 100), at least 1 until idle for 5m0s: keep 1"},
			{at: 309, desired: 0, reason: "idle for 5m0s: scale to zero"},
			{at: 400, desired: 0, reason: "no request for 6m31s: stay at zero"},
		}},
		{name: "an idle timeout shorter than the stable window stays at zero", cfg: Config{IdleTimeout: 10 * time.Second}, ready: 1,
			load: load(0, 50, 5, 0), until: 120, checks: []check{
				{at: 13, desired: 1},
				{at: 14, desired: 0, reason: "idle for 10s: scale to zero"},
				{at: 20, desired: 0},
				{at: 120, desired: 0},
			}},
		{name: "wake from zero at the first request", cfg: zero, ready: 0, load: load(0, 0, 600, 1, 601, 0), until: 700, checks: []check{
			{at: 10, desired: 0, reason: "no request yet: stay at zero"},
			{at: 599, desired: 0},
			{at: 600, desired: 1, reason: "concurrency 0.017 over 1m0s needs 1 instance at 70 each (70% of 100): scale out from 0 to 1"},
			{at: 601, desired: 1},
			{at: 700, desired: 1},
		}},
		{name: "a burst at zero wakes at once and grows", cfg: zero, ready: 0, load: load(0, 0, 10, 500), until: 100, checks: []check{
			{at: 9, desired: 0},
			{at: 10, desired: 1, reason: "…: scale out from 0 to 1"},
			{at: 100, desired: 8},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[int]check{}
			for _, c := range tt.checks {
				want[c.at] = c
			}
			cfg := tt.cfg.WithDefaults()
			w := NewWindow(cfg.StableWindow)
			var st State
			ready := tt.ready
			for s := 0; s <= tt.until; s++ {
				c := tt.load(s)
				w.Record(sec(s), c)
				var d Decision
				d, st = Decide(tt.cfg, w, st, ready, sec(s))
				if d.Desired < 0 || d.Desired > cfg.MaxSize {
					t.Fatalf("at %ds: Desired %d is outside [0, MaxSize %d] (%s)", s, d.Desired, cfg.MaxSize, d.Reason)
				}
				if c > 0 && d.Desired < 1 {
					t.Fatalf("at %ds: concurrency %v but Desired %d (%s)", s, c, d.Desired, d.Reason)
				}
				ready = d.Desired
				wc, ok := want[s]
				if !ok {
					continue
				}
				if d.Desired != wc.desired || d.Panic != wc.panic {
					t.Errorf("at %ds: got %d instances, panic %v (%s); want %d, panic %v", s, d.Desired, d.Panic, d.Reason, wc.desired, wc.panic)
				}
				if !reasonMatches(d.Reason, wc.reason) {
					t.Errorf("at %ds: got reason %q, want %q", s, d.Reason, wc.reason)
				}
			}
		})
	}
}

func reasonMatches(got, want string) bool {
	if want == "" {
		return true
	}
	if sub, ok := strings.CutPrefix(want, "…"); ok {
		return strings.Contains(got, sub)
	}
	return got == want
}

// TestDecideOnce covers decisions that depend on the State or the history
// handed in rather than on a run of seconds.
func TestDecideOnce(t *testing.T) {
	now := sec(1000)
	// steady fills the last n seconds up to now with concurrency c.
	steady := func(n int, c float64) *Window {
		w := NewWindow(time.Minute)
		for s := 1000 - n + 1; s <= 1000; s++ {
			w.Record(sec(s), c)
		}
		return w
	}
	stale := NewWindow(time.Minute)
	stale.Record(sec(900), 500)
	recently := func(ago int) time.Time { return now.Add(-time.Duration(ago) * time.Second) }

	tests := []struct {
		name     string
		cfg      Config
		hist     *Window
		st       State
		ready    int
		desired  int
		reason   string
		conc     float64
		panic    bool
		scaledUp bool
	}{
		{name: "empty history keeps the ready instances", hist: NewWindow(0), ready: 2, desired: 2,
			reason: "no concurrency samples in the last 1m0s: keep 2"},
		{name: "empty history still honours MinSize", hist: NewWindow(0), ready: 0, desired: 1,
			reason: "no concurrency samples in the last 1m0s: scale out from 0 to 1", scaledUp: true},
		{name: "nil history is empty", hist: nil, ready: 3, desired: 3, reason: "no concurrency samples in the last 1m0s: keep 3"},
		{name: "samples older than the stable window are no history", hist: stale, ready: 2, desired: 2,
			reason: "no concurrency samples in the last 1m0s: keep 2"},
		{name: "empty history at zero stays at zero", cfg: Config{IdleTimeout: time.Minute}, hist: NewWindow(0), ready: 0,
			desired: 0, reason: "no request yet: stay at zero"},
		{name: "the last decision, not the ready instances, is the current size", hist: steady(60, 280),
			st: State{Desired: 4, At: recently(1)}, ready: 3, desired: 4, conc: 280,
			reason: "concurrency 280.0 over 1m0s needs 4 instances at 70 each (70% of 100): keep 4"},
		{name: "capacity is the ready instances': a burst outrunning starting ones panics", hist: steady(60, 280),
			st: State{Desired: 4, At: recently(1)}, ready: 2, desired: 4, conc: 280, panic: true,
			reason: "concurrency 280.0 over 6s needs 4 instances at 70 each (70% of 100): 2.0× the ready capacity, panic: keep 4"},
		{name: "scale-down delay holds after a scale-out", hist: steady(60, 0),
			st: State{Desired: 3, At: recently(1), LastScaleUp: recently(10)}, ready: 3, desired: 3,
			reason: "concurrency 0.0 over 1m0s needs 0 instances at 70 each (70% of 100), at least 1: hold 3 for 20s more, the scale-down delay after a scale-out"},
		{name: "scale-down delay over", hist: steady(60, 0),
			st: State{Desired: 3, At: recently(1), LastScaleUp: recently(30)}, ready: 3, desired: 1,
			reason: "…: scale in from 3 to 1"},
		{name: "a negative scale-down delay is none", cfg: Config{ScaleDownDelay: -1}, hist: steady(60, 0),
			st: State{Desired: 3, At: recently(1), LastScaleUp: recently(1)}, ready: 3, desired: 1},
		{name: "the scale-down delay never holds more than a lowered MaxSize", cfg: Config{MaxSize: 3}, hist: steady(60, 500),
			st: State{Desired: 5, At: recently(1), LastScaleUp: recently(5)}, ready: 5, desired: 3, conc: 500,
			reason: "concurrency 500.0 over 1m0s needs 8 instances at 70 each (70% of 100), capped at MaxSize 3: scale in from 5 to 3"},
		{name: "a panic hold never exceeds a lowered MaxSize", cfg: Config{MaxSize: 2}, hist: steady(60, 0),
			st: State{Desired: 6, At: recently(1), PanicSince: recently(20), PanicLast: recently(20), PanicMax: 6}, ready: 6, desired: 2, panic: true,
			reason: "…panicking for 20s: hold 2 until 1m0s pass without a burst"},
		{name: "MinSize 0 without an idle timeout never reaches zero", cfg: Config{MinSize: 0}, hist: steady(60, 0),
			ready: 1, desired: 1, reason: "concurrency 0.0 over 1m0s needs 0 instances at 70 each (70% of 100), at least 1: keep 1"},
		{name: "a new window counts quiet from its first sample", cfg: Config{IdleTimeout: 29 * time.Second}, hist: steady(30, 0),
			ready: 1, desired: 0, reason: "idle for 29s: scale to zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, st := Decide(tt.cfg, tt.hist, tt.st, tt.ready, now)
			if d.Desired != tt.desired || d.Panic != tt.panic {
				t.Errorf("got %d instances, panic %v (%s); want %d, panic %v", d.Desired, d.Panic, d.Reason, tt.desired, tt.panic)
			}
			if !reasonMatches(d.Reason, tt.reason) {
				t.Errorf("got reason %q, want %q", d.Reason, tt.reason)
			}
			if d.Concurrency != tt.conc {
				t.Errorf("got concurrency %v, want %v", d.Concurrency, tt.conc)
			}
			if st.Desired != d.Desired || !st.At.Equal(now) {
				t.Errorf("returned State records %d at %v, want %d at %v", st.Desired, st.At, d.Desired, now)
			}
			if up := st.LastScaleUp.Equal(now); up != tt.scaledUp {
				t.Errorf("LastScaleUp set to now: %v, want %v", up, tt.scaledUp)
			}
		})
	}
}

func TestConfigWithDefaults(t *testing.T) {
	got := Config{}.WithDefaults()
	want := Config{MaxConcurrency: 100, MinSize: 0, MaxSize: 25, TargetUtilization: 0.7, StableWindow: time.Minute,
		PanicWindow: 6 * time.Second, PanicThreshold: 2, ScaleDownDelay: 30 * time.Second}
	if got != want {
		t.Errorf("Config{}.WithDefaults() = %+v, want %+v", got, want)
	}
	short := Config{StableWindow: 5 * time.Second, TargetUtilization: 1.5, ScaleDownDelay: -1}.WithDefaults()
	if short.PanicWindow != time.Second || short.TargetUtilization != 1 {
		t.Errorf("5s stable window: PanicWindow %s, TargetUtilization %v; want 1s, 1", short.PanicWindow, short.TargetUtilization)
	}
	if again := short.WithDefaults(); again != short {
		t.Errorf("WithDefaults twice = %+v, want %+v", again, short)
	}
}
