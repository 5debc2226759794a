package autoscale

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// State is what Decide remembers between calls. The caller keeps it (one per
// service) and passes back what Decide returned, so Decide itself stays a
// pure function. A zero State is a fresh start, as after a daemon restart.
type State struct {
	// Desired is the last decision and At when it was made. Scaling out or
	// in is judged against it rather than against the ready instances,
	// which lag behind while instances start or drain. A zero At means no
	// decision yet, and the ready instances stand in for it.
	Desired int
	At      time.Time
	// LastScaleUp is when Desired last rose; ScaleDownDelay counts from it.
	LastScaleUp time.Time
	// PanicSince is when the current panic began (zero when calm), and
	// PanicLast when the panic window last crossed the threshold: the
	// panic ends a StableWindow after that.
	PanicSince, PanicLast time.Time
	// PanicMax is the most instances wanted during this panic, never given
	// back while it lasts.
	PanicMax int
}

// calm ends a panic.
func (s *State) calm() { s.PanicSince, s.PanicLast, s.PanicMax = time.Time{}, time.Time{}, 0 }

// Decision is what the engine applies and what the console's Activity shows.
type Decision struct {
	// Desired is how many instances the service should have.
	Desired int
	// Reason says why, in a sentence a person reads in the Activity tab.
	Reason string
	// Panic says the decision was made in panic mode.
	Panic bool
	// Concurrency is the averaged concurrency the Reason names, the value
	// that drove the decision (0 when idle or without samples).
	Concurrency float64
}

// Decide returns how many instances a service configured by cfg should run,
// given its concurrency history, the State returned by the previous call,
// its ready instances and now. Like Knative's KPA it sizes the service for
// the stable window's average at cfg.TargetUtilization; when the panic
// window's average reaches cfg.PanicThreshold times the ready capacity it
// sizes for the burst at once and gives nothing back until a whole stable
// window passes without one. Scale-in waits for cfg.ScaleDownDelay after a
// scale-out, never goes under MinSize, and reaches zero only for an idle
// service that opted in; a request at zero wakes it at once.
func Decide(cfg Config, hist *Window, st State, ready int, now time.Time) (Decision, State) {
	cfg = cfg.WithDefaults()
	ready = max(ready, 0)
	current := ready
	if !st.At.IsZero() {
		current = st.Desired
	}
	d := decide(cfg, hist, &st, ready, current, now)
	if d.Desired > current {
		st.LastScaleUp = now
	}
	st.Desired, st.At = d.Desired, now
	d.Panic = !st.PanicSince.IsZero()
	return d, st
}

func decide(cfg Config, hist *Window, st *State, ready, current int, now time.Time) Decision {
	if cfg.zeroable() {
		if d, ok := idle(cfg, hist, current, now); ok {
			st.calm()
			return d
		}
	}
	stable, n := hist.Average(now, cfg.StableWindow)
	if n == 0 {
		want := clamp(current, cfg.floor(), cfg.MaxSize)
		return Decision{Desired: want, Reason: fmt.Sprintf("no concurrency samples in the last %s: %s",
			cfg.StableWindow, action(current, want))}
	}
	burst, _ := hist.Average(now, cfg.PanicWindow)
	needStable, needBurst := instancesFor(stable, cfg.target()), instancesFor(burst, cfg.target())

	// Capacity is that of the ready instances, not of those asked for: a
	// burst that outruns instances still starting keeps the panic going.
	capacity := float64(max(ready, 1)) * cfg.target()
	over := burst > 0 && burst >= cfg.PanicThreshold*capacity
	switch {
	case over:
		if st.PanicSince.IsZero() {
			st.PanicSince = now
		}
		st.PanicLast = now
	case !st.PanicSince.IsZero() && now.Sub(st.PanicLast) >= cfg.StableWindow:
		st.calm()
	}

	if !st.PanicSince.IsZero() {
		// The stable average may exceed the burst's as a burst fades;
		// provision for whichever is larger.
		avg, window, need := burst, cfg.PanicWindow, needBurst
		if needStable > needBurst {
			avg, window, need = stable, cfg.StableWindow, needStable
		}
		want := clamp(need, cfg.floor(), cfg.MaxSize)
		if hold := min(st.PanicMax, cfg.MaxSize); want < hold {
			return Decision{Desired: hold, Concurrency: stable, Reason: fmt.Sprintf(
				"panicking for %s: hold %d until %s pass without a burst (%s)",
				now.Sub(st.PanicSince).Round(time.Second), hold, cfg.StableWindow,
				cfg.needs(stable, cfg.StableWindow, needStable))}
		}
		st.PanicMax = want
		mode := "panicking"
		if over {
			mode = fmt.Sprintf("%.1f× the ready capacity, panic", burst/capacity)
		}
		return Decision{Desired: want, Concurrency: avg, Reason: fmt.Sprintf("%s: %s: %s",
			cfg.needs(avg, window, need), mode, action(current, want))}
	}

	want := clamp(needStable, cfg.floor(), cfg.MaxSize)
	reason := cfg.needs(stable, cfg.StableWindow, needStable)
	if want < current && cfg.ScaleDownDelay > 0 && !st.LastScaleUp.IsZero() {
		left := st.LastScaleUp.Add(cfg.ScaleDownDelay).Sub(now)
		if hold := min(current, cfg.MaxSize); left > 0 && hold > want {
			return Decision{Desired: hold, Concurrency: stable, Reason: fmt.Sprintf(
				"%s: hold %d for %s more, the scale-down delay after a scale-out",
				reason, hold, left.Round(time.Second))}
		}
	}
	return Decision{Desired: want, Concurrency: stable, Reason: reason + ": " + action(current, want)}
}

// idle decides for a service that may scale to zero, when it is or stays
// at zero; ok is false when the ordinary decision applies.
func idle(cfg Config, hist *Window, current int, now time.Time) (d Decision, ok bool) {
	last := hist.LastActive()
	if current == 0 {
		// A service found at zero with no request seen (a restart at zero)
		// stays there: only a request wakes it.
		if last.IsZero() {
			return Decision{Reason: "no request yet: stay at zero"}, true
		}
		if q := now.Sub(last); q >= cfg.IdleTimeout {
			return Decision{Reason: fmt.Sprintf("no request for %s: stay at zero", q.Round(time.Second))}, true
		}
		return Decision{}, false
	}
	quiet := last
	if quiet.IsZero() {
		quiet = hist.Since()
	}
	if quiet.IsZero() {
		return Decision{}, false
	}
	if q := now.Sub(quiet); q >= cfg.IdleTimeout {
		return Decision{Reason: fmt.Sprintf("idle for %s: scale to zero", q.Round(time.Second))}, true
	}
	return Decision{}, false
}

// instancesFor is how many instances carry avg at target each. The epsilon
// keeps float error from asking for one more when avg is an exact multiple.
func instancesFor(avg, target float64) int {
	if avg <= 0 {
		return 0
	}
	return int(min(math.Ceil(avg/target-1e-9), math.MaxInt32))
}

func clamp(n, lo, hi int) int { return min(max(n, lo), hi) }

// needs explains the instances a concurrency average calls for, and how the
// size limits changed that.
func (c Config) needs(avg float64, window time.Duration, need int) string {
	s := fmt.Sprintf("concurrency %s over %s needs %s at %s each (%.0f%% of %d)",
		concurrency(avg), window, instances(need), strconv.FormatFloat(c.target(), 'f', -1, 64),
		c.TargetUtilization*100, c.MaxConcurrency)
	switch floor := c.floor(); {
	case need > c.MaxSize:
		s += fmt.Sprintf(", capped at MaxSize %d", c.MaxSize)
	case need < floor && c.MinSize == floor:
		s += fmt.Sprintf(", MinSize %d", floor)
	case need < floor && c.zeroable():
		s += fmt.Sprintf(", at least %d until idle for %s", floor, c.IdleTimeout)
	case need < floor:
		s += fmt.Sprintf(", at least %d", floor)
	}
	return s
}

// concurrency prints an average with one decimal, or two significant digits
// when that would show a single request diluted over a window as 0.0.
func concurrency(v float64) string {
	if v > 0 && v < 0.1 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func action(from, to int) string {
	switch {
	case to > from:
		return fmt.Sprintf("scale out from %d to %d", from, to)
	case to < from:
		return fmt.Sprintf("scale in from %d to %d", from, to)
	}
	return fmt.Sprintf("keep %d", to)
}

func instances(n int) string {
	if n == 1 {
		return "1 instance"
	}
	return strconv.Itoa(n) + " instances"
}
