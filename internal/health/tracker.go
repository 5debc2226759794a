package health

// Verdict is what a Tracker concludes from the probe results so far.
type Verdict int

const (
	// Unknown means no threshold has been reached yet.
	Unknown Verdict = iota
	Healthy
	Unhealthy
)

func (v Verdict) String() string {
	switch v {
	case Healthy:
		return "Healthy"
	case Unhealthy:
		return "Unhealthy"
	}
	return "Unknown"
}

// Tracker turns a sequence of probe results into a verdict. It does no I/O
// and reads no clock, so callers decide when to probe. It is not safe for
// concurrent use.
type Tracker struct {
	healthyThreshold, unhealthyThreshold int
	successes, failures                  int // consecutive, one is always 0
	verdict                              Verdict
}

// NewTracker returns a Tracker with c's thresholds and an Unknown verdict.
func NewTracker(c Check) *Tracker {
	c = c.withDefaults()
	return &Tracker{healthyThreshold: c.HealthyThreshold, unhealthyThreshold: c.UnhealthyThreshold}
}

// Observe records one probe result and returns the verdict: Healthy after
// HealthyThreshold consecutive successes, Unhealthy after UnhealthyThreshold
// consecutive failures, otherwise the previous verdict.
func (t *Tracker) Observe(ok bool) Verdict {
	if ok {
		t.successes++
		t.failures = 0
		if t.successes >= t.healthyThreshold {
			t.verdict = Healthy
		}
	} else {
		t.failures++
		t.successes = 0
		if t.failures >= t.unhealthyThreshold {
			t.verdict = Unhealthy
		}
	}
	return t.verdict
}

// Verdict returns the current verdict.
func (t *Tracker) Verdict() Verdict { return t.verdict }
