package health

import (
	"errors"
	"time"
)

// Protocols of a Check, spelled as in App Runner's HealthCheckConfiguration.
const (
	TCP  = "TCP"
	HTTP = "HTTP"
)

// Check is App Runner's HealthCheckConfiguration.
type Check struct {
	// Protocol is TCP (the port accepts connections) or HTTP (Path answers
	// 2xx or 3xx).
	Protocol string
	// Path is requested by HTTP checks.
	Path string
	// Interval separates checks; Timeout bounds each one.
	Interval, Timeout time.Duration
	// HealthyThreshold consecutive successes make an instance healthy;
	// UnhealthyThreshold consecutive failures make it unhealthy.
	HealthyThreshold, UnhealthyThreshold int
}

// ErrUnhealthy is wrapped by WaitHealthy when the instance never passed.
var ErrUnhealthy = errors.New("instance unhealthy")

// Default returns App Runner's defaults: TCP, "/", 5s interval, 2s timeout,
// healthy after 1 success, unhealthy after 5 failures.
func Default() Check {
	return Check{
		Protocol:           TCP,
		Path:               "/",
		Interval:           5 * time.Second,
		Timeout:            2 * time.Second,
		HealthyThreshold:   1,
		UnhealthyThreshold: 5,
	}
}

// withDefaults fills zero fields from Default, so a partly set Check from a
// user's configuration behaves as App Runner would.
func (c Check) withDefaults() Check {
	d := Default()
	if c.Protocol == "" {
		c.Protocol = d.Protocol
	}
	if c.Path == "" {
		c.Path = d.Path
	}
	if c.Interval <= 0 {
		c.Interval = d.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.HealthyThreshold <= 0 {
		c.HealthyThreshold = d.HealthyThreshold
	}
	if c.UnhealthyThreshold <= 0 {
		c.UnhealthyThreshold = d.UnhealthyThreshold
	}
	return c
}
