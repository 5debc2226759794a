package autoscale

import (
	"math"
	"time"
)

// sample is one observation of a service's concurrency.
type sample struct {
	at          time.Time
	concurrency float64
}

// Window keeps the concurrency samples of one service for a span of time, so
// that Decide can average them over its stable and panic windows. The caller
// records about once a second; a ring of samples keeps memory bounded by the
// span whatever the load. A Window is not safe for concurrent use: its owner
// records and decides in one loop.
type Window struct {
	span time.Duration
	// buf is a ring: n samples from buf[start], oldest first.
	buf      []sample
	start, n int
	// first and lastActive outlive the span, because an idle timeout is
	// usually longer than the stable window.
	first, lastActive time.Time
}

// NewWindow returns an empty Window that keeps samples for span; span should
// be at least the Config's StableWindow (0 means DefaultStableWindow).
func NewWindow(span time.Duration) *Window {
	if span <= 0 {
		span = DefaultStableWindow
	}
	return &Window{span: span}
}

// Record adds the concurrency (requests in flight plus queued, across the
// service's instances) observed at t. Samples are kept in time order, so one
// recorded a little late by a second caller (a request waking a service at
// zero) still counts; one older than the span before the newest is dropped.
// Negative or NaN values count as 0.
func (w *Window) Record(t time.Time, concurrency float64) {
	newest := t
	if w.n > 0 && w.at(w.n-1).at.After(t) {
		newest = w.at(w.n - 1).at
	}
	horizon := newest.Add(-w.span)
	if !t.After(horizon) {
		return
	}
	if concurrency < 0 || math.IsNaN(concurrency) {
		concurrency = 0
	}
	if w.first.IsZero() || t.Before(w.first) {
		w.first = t
	}
	if concurrency > 0 && t.After(w.lastActive) {
		w.lastActive = t
	}
	for w.n > 0 && !w.at(0).at.After(horizon) {
		w.start = (w.start + 1) % len(w.buf)
		w.n--
	}
	if w.n == len(w.buf) {
		w.grow()
	}
	// Shift newer samples up by one; in the usual case, t is the newest
	// and nothing moves.
	i := w.n
	for ; i > 0 && w.at(i-1).at.After(t); i-- {
		w.set(i, w.at(i-1))
	}
	w.set(i, sample{at: t, concurrency: concurrency})
	w.n++
}

// Average returns the mean concurrency of the samples in the d ending at now
// (after now-d, not after now) and how many there were. A window only partly
// covered by samples, such as just after a start, is averaged over the
// samples it has, as Knative does, so a first request counts in full.
func (w *Window) Average(now time.Time, d time.Duration) (avg float64, n int) {
	if w == nil {
		return 0, 0
	}
	horizon := now.Add(-d)
	sum := 0.0
	for i := w.n - 1; i >= 0; i-- {
		s := w.at(i)
		if !s.at.After(horizon) {
			break
		}
		if s.at.After(now) {
			continue
		}
		sum += s.concurrency
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// LastActive is when concurrency above 0 was last recorded, or the zero time
// if never: the idle timeout counts from it.
func (w *Window) LastActive() time.Time {
	if w == nil {
		return time.Time{}
	}
	return w.lastActive
}

// Since is when the first sample was recorded, or the zero time if none was:
// a service never active since then has been idle since then.
func (w *Window) Since() time.Time {
	if w == nil {
		return time.Time{}
	}
	return w.first
}

// at returns the i-th kept sample, oldest first.
func (w *Window) at(i int) sample { return w.buf[(w.start+i)%len(w.buf)] }

// set replaces the i-th sample, oldest first.
func (w *Window) set(i int, s sample) { w.buf[(w.start+i)%len(w.buf)] = s }

// grow doubles the ring, keeping the samples in order.
func (w *Window) grow() {
	buf := make([]sample, max(16, 2*len(w.buf)))
	for i := range w.n {
		buf[i] = w.at(i)
	}
	w.buf, w.start = buf, 0
}
