package health

import (
	"context"
	"fmt"
	"time"
)

// fastInterval spaces probes until the first success. Like Knative's
// aggressive probing, it declares a trivial app healthy within about this
// long of it listening, rather than a whole Interval later.
const fastInterval = 50 * time.Millisecond

// WaitHealthy waits for a starting instance at t to pass c, for deploys.
//
// It probes every 50ms until the first success, then every c.Interval, and
// returns nil after c.HealthyThreshold consecutive successes. A failure
// restarts the count and the fast probing. It gives up, with an error
// wrapping ErrUnhealthy and the last probe error, once
// c.UnhealthyThreshold whole Intervals passed without a success since the
// start (or since the last success). alive, if not nil, is called between
// probes; its error means the process died and is returned at once, wrapped.
//
// now (time.Now if nil) is the clock deciding when to probe and give up; it
// must advance with real time, since waits between probes use real timers.
func WaitHealthy(ctx context.Context, t Target, c Check, alive func() error, now func() time.Time) error {
	c = c.withDefaults()
	if now == nil {
		now = time.Now
	}
	giveUpAfter := time.Duration(c.UnhealthyThreshold) * c.Interval

	start := now()
	since := start     // start or last success; the give-up clock runs from here
	nextProbe := start // probe at once
	streak, failed := 0, 0
	var lastErr error
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C

	for {
		if alive != nil {
			if err := alive(); err != nil {
				return fmt.Errorf("instance exited before passing health checks: %w", err)
			}
		}
		if !now().Before(nextProbe) {
			err := Probe(ctx, t, c)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("waiting for a healthy instance: %w", ctxErr)
			}
			if err == nil {
				streak++
				if streak >= c.HealthyThreshold {
					return nil
				}
				since = now()
				nextProbe = since.Add(c.Interval)
			} else {
				streak, lastErr = 0, err
				failed++
				nextProbe = now().Add(fastInterval)
			}
		}
		if streak == 0 && now().Sub(since) >= giveUpAfter {
			return fmt.Errorf("%w: %d health checks failed in %s, last: %w",
				ErrUnhealthy, failed, now().Sub(start).Round(time.Millisecond), lastErr)
		}
		// Wake at least every fastInterval to call alive.
		timer.Reset(max(0, min(fastInterval, nextProbe.Sub(now()))))
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a healthy instance: %w", ctx.Err())
		case <-timer.C:
		}
	}
}
