package autoscale

import "time"

// Defaults of a Config: App Runner's for the sizes and concurrency, Knative
// KPA's for the windows and thresholds.
const (
	DefaultMaxConcurrency    = 100
	DefaultMinSize           = 1
	DefaultMaxSize           = 25
	DefaultTargetUtilization = 0.7
	DefaultStableWindow      = 60 * time.Second
	DefaultPanicThreshold    = 2.0
	DefaultScaleDownDelay    = 30 * time.Second
	// DefaultIdleTimeout applies when a service opts into scale to zero
	// without saying after how long (see ParseTags).
	DefaultIdleTimeout = 5 * time.Minute
)

// Config is one service's auto scaling configuration as Decide reads it. Zero
// fields take the defaults above, so a Config built from an App Runner
// AutoScalingConfiguration needs only the fields App Runner has.
type Config struct {
	// MaxConcurrency is the most requests one instance receives at once.
	MaxConcurrency int
	// MinSize instances are always provisioned. 0 is allowed only with an
	// IdleTimeout (scale to zero); without one it means 1, App Runner's
	// minimum, so a zero Config never stops a service.
	MinSize int
	// MaxSize caps the instances, and wins over everything else.
	MaxSize int
	// TargetUtilization is the share of MaxConcurrency Decide aims for, so
	// that new instances start before the ready ones are full and requests
	// queue. In (0, 1]; larger values count as 1.
	TargetUtilization float64
	// StableWindow is averaged for ordinary decisions, and is how long a
	// panic lasts after the last burst.
	StableWindow time.Duration
	// PanicWindow is averaged to catch bursts; by default a tenth of
	// StableWindow (6s), but not under 1s, so it spans a sample.
	PanicWindow time.Duration
	// PanicThreshold starts a panic when the panic window's concurrency
	// reaches this multiple of the ready instances' target capacity.
	PanicThreshold float64
	// ScaleDownDelay holds instances for this long after a scale-out, so a
	// burst that ends just after it does not stop the instances it started
	// before they served; the stable window alone reacts late to rises but,
	// over a part-filled window, early to falls. 0 takes the default; a
	// negative value means no delay.
	ScaleDownDelay time.Duration
	// IdleTimeout, with MinSize 0, scales to zero once no request has been
	// in flight or queued for this long. 0 never scales to zero.
	IdleTimeout time.Duration
}

// WithDefaults returns c with every unset or out-of-range field replaced by
// its default, which is what Decide works with.
func (c Config) WithDefaults() Config {
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MinSize < 0 {
		c.MinSize = 0
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.TargetUtilization <= 0 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	c.TargetUtilization = min(c.TargetUtilization, 1)
	if c.StableWindow <= 0 {
		c.StableWindow = DefaultStableWindow
	}
	if c.PanicWindow <= 0 {
		c.PanicWindow = max(c.StableWindow/10, time.Second)
	}
	c.PanicWindow = min(c.PanicWindow, c.StableWindow)
	if c.PanicThreshold <= 0 {
		c.PanicThreshold = DefaultPanicThreshold
	}
	if c.ScaleDownDelay == 0 {
		// A negative delay stays negative, so WithDefaults can be applied
		// twice; Decide reads it as none.
		c.ScaleDownDelay = DefaultScaleDownDelay
	}
	if c.IdleTimeout < 0 {
		c.IdleTimeout = 0
	}
	return c
}

// target is the concurrency one instance is meant to carry.
func (c Config) target() float64 { return float64(c.MaxConcurrency) * c.TargetUtilization }

// zeroable says whether the service may scale to zero.
func (c Config) zeroable() bool { return c.MinSize == 0 && c.IdleTimeout > 0 }

// floor is the fewest instances while the service is not idle: MinSize, but
// at least 1, and never above MaxSize.
func (c Config) floor() int { return min(max(c.MinSize, 1), c.MaxSize) }
