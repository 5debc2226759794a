package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/autoscale"
	"github.com/slipwayhq/slipway/internal/store"
)

// TagStableWindow on an auto scaling configuration sets the autoscaler's
// stable window (default 60s, as Knative's): how long concurrency is
// averaged before scaling in. Shorter reacts faster and flaps more.
const TagStableWindow = "slipway:stable-window"

// scaleTick is how often the autoscaler samples each service's concurrency
// and decides.
const scaleTick = time.Second

// scaler is the autoscaler's memory of one service: its concurrency
// history, the decision state carried between decisions, and the count it
// last decided. It lives in memory: a restarted daemon starts from the
// instances it re-adopts.
type scaler struct {
	window  *autoscale.Window
	state   autoscale.State
	desired int // starts at the active instances found
}

// policy is a service's auto scaling configuration as the autoscaler and
// the router use it.
type policy struct {
	cfg autoscale.Config
}

// policyFor reads svc's auto scaling configuration and its tags (scale to
// zero is opted into with tags: see autoscale.ParseTags).
func policyFor(tx *store.Tx, svc store.Service) (policy, error) {
	cfg := defaultPolicy().cfg
	if arn := svc.Config.AutoScalingConfigurationArn; arn != "" {
		a, err := tx.AutoScalingConfiguration(arn)
		if err != nil {
			return policy{cfg: cfg}, err
		}
		cfg.MaxConcurrency, cfg.MinSize, cfg.MaxSize = int(a.MaxConcurrency), int(a.MinSize), int(a.MaxSize)
		tags, err := tx.Tags(arn)
		if err != nil {
			return policy{cfg: cfg}, err
		}
		m := map[string]string{}
		for _, t := range tags {
			m[t.Key] = t.Value
		}
		zero, idle, err := autoscale.ParseTags(m)
		if err != nil {
			return policy{cfg: cfg}, err
		}
		if zero {
			cfg.MinSize, cfg.IdleTimeout = 0, idle
		}
		if v, ok := m[TagStableWindow]; ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return policy{cfg: cfg}, fmt.Errorf("%s %q is not a duration of at least 1s, such as 60s", TagStableWindow, v)
			}
			cfg.StableWindow = d
		}
	}
	return policy{cfg: cfg}, nil
}

// defaultPolicy is App Runner's default auto scaling configuration.
func defaultPolicy() policy {
	return policy{cfg: autoscale.Config{
		MaxConcurrency: autoscale.DefaultMaxConcurrency, MinSize: autoscale.DefaultMinSize, MaxSize: autoscale.DefaultMaxSize,
	}}
}

// queueDepth bounds a service's queue: one more full set of its largest
// capacity may wait.
func (p policy) queueDepth() int {
	return max(10, p.cfg.MaxConcurrency*max(1, p.cfg.MaxSize))
}

// scaleLoop samples every running service's concurrency each scaleTick and
// lets the autoscaler decide; a changed count wakes the reconciler, which
// starts or drains instances.
func (e *Engine) scaleLoop(ctx context.Context) {
	t := time.NewTicker(scaleTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.scaleOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("autoscaler", "err", err)
		}
	}
}

func (e *Engine) scaleOnce(ctx context.Context) error {
	type svcPolicy struct {
		svc    store.Service
		p      policy
		active int
	}
	var list []svcPolicy
	err := e.store.View(ctx, func(tx *store.Tx) error {
		svcs, err := tx.Services(false)
		if err != nil {
			return err
		}
		for _, svc := range svcs {
			if svc.Status != ar.ServiceStatusRunning || svc.Release == nil {
				continue
			}
			p, err := policyFor(tx, svc)
			if err != nil {
				e.log.Warn("auto scaling configuration", "service", svc.Name, "err", err)
			}
			insts, err := tx.Instances(svc.ARN)
			if err != nil {
				return err
			}
			active := 0
			for _, in := range insts {
				if in.Role == store.RoleActive {
					active++
				}
			}
			list = append(list, svcPolicy{svc, p, active})
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := e.now()
	changed := false
	for _, sp := range list {
		inFlight, queued := e.router.Load(sp.svc.Host)
		e.mu.Lock()
		sc := e.scalerLocked(sp.svc.ARN, sp.active)
		sc.window.Record(now, float64(inFlight+queued))
		dec, st := autoscale.Decide(sp.p.cfg, sc.window, sc.state, sp.active, now)
		sc.state = st
		from := sc.desired
		if dec.Desired != from {
			sc.desired = dec.Desired
			changed = true
		}
		e.mu.Unlock()
		if dec.Desired != from {
			e.recordScaling(ctx, sp.svc, from, dec.Desired, dec.Concurrency, dec.Reason)
		}
	}
	if changed {
		e.Wake()
	}
	return nil
}

// scalerLocked returns svc's scaler, making one that starts from the
// active instances it finds (after a restart, the re-adopted ones).
func (e *Engine) scalerLocked(arn string, active int) *scaler {
	sc := e.scalers[arn]
	if sc == nil {
		sc = &scaler{window: autoscale.NewWindow(2 * autoscale.DefaultStableWindow), desired: active}
		e.scalers[arn] = sc
	}
	return sc
}

// desiredCount is how many instances svc should run now: the autoscaler's
// count, or before its first decision the configuration's MinSize (at
// least the active ones, so that a restart scales nothing in).
func (e *Engine) desiredCount(p policy, arn string, active int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if sc := e.scalers[arn]; sc != nil && sc.desired >= 0 {
		return min(max(sc.desired, p.cfg.MinSize), max(p.cfg.MaxSize, 1))
	}
	return max(p.cfg.MinSize, active)
}

// WakeHost is the router's call when a request arrives at a service that
// scaled to zero: the service wants an instance now, without waiting for
// the autoscaler's next tick.
func (e *Engine) WakeHost(host string) {
	e.mu.Lock()
	arn, ok := e.hosts[host]
	var sc *scaler
	if ok {
		sc = e.scalerLocked(arn, 0)
	}
	woke := ok && sc.desired < 1
	if woke {
		sc.desired = 1
		sc.window.Record(e.now(), 1)
	}
	e.mu.Unlock()
	if !woke {
		return
	}
	go func() {
		// Recorded off the request path; the reconciler starts the instance.
		var svc store.Service
		if err := e.store.View(e.life, func(tx *store.Tx) (err error) { svc, err = tx.Service(arn); return err }); err == nil {
			e.recordScaling(e.life, svc, 0, 1, 1, "a request arrived while scaled to zero: wake")
		}
	}()
	e.Wake()
}

// recordScaling logs a scaling decision and keeps it for the console.
func (e *Engine) recordScaling(ctx context.Context, svc store.Service, from, to int, concurrency float64, reason string) {
	if e.obs != nil {
		e.obs.Scaled(svc.Name, from, to)
	}
	e.log.Info("scaling", "service", svc.Name, "from", from, "to", to,
		"concurrency", fmt.Sprintf("%.1f", concurrency), "reason", reason)
	ev := store.ScalingEvent{ServiceARN: svc.ARN, At: e.now(), From: from, To: to, Concurrency: concurrency, Reason: reason}
	if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.PutScalingEvent(ev) }); err != nil {
		e.log.Error("record scaling event", "service", svc.Name, "err", err)
	}
}

// surplus picks the n instances to scale in: the newest, so that the
// longest-running (warm) ones stay.
func surplus(live []store.Instance, n int) []store.Instance {
	s := slices.Clone(live)
	slices.SortFunc(s, func(a, b store.Instance) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return s[:min(n, len(s))]
}

// policy is svc's scaling policy; a configuration that cannot be read
// counts as App Runner's defaults, said in the log.
func (e *Engine) policy(ctx context.Context, svc store.Service) policy {
	p := defaultPolicy()
	err := e.store.View(ctx, func(tx *store.Tx) (err error) { p, err = policyFor(tx, svc); return err })
	if err != nil && ctx.Err() == nil {
		e.log.Warn("auto scaling configuration", "service", svc.Name, "err", err)
	}
	return p
}

// deployCount is how many instances a deployment of svc with configuration
// cfg starts: as many as run now (App Runner doubles the provisioned
// instances during a deployment, so capacity never drops at the switch),
// at least MinSize, and at least one even for a service at zero.
func (e *Engine) deployCount(ctx context.Context, svc store.Service, cfg store.Config) (int, error) {
	p := defaultPolicy()
	active := 0
	err := e.store.View(ctx, func(tx *store.Tx) error {
		s := svc
		s.Config = cfg
		var err error
		if p, err = policyFor(tx, s); err != nil {
			return err
		}
		insts, err := tx.Instances(svc.ARN)
		for _, in := range insts {
			if in.Role == store.RoleActive {
				active++
			}
		}
		return err
	})
	return max(1, p.cfg.MinSize, min(active, max(1, p.cfg.MaxSize))), err
}

// scaleIn drains and stops instances the autoscaler no longer wants; the
// router has stopped sending them requests.
func (e *Engine) scaleIn(ctx context.Context, svc store.Service, gone []store.Instance) {
	ids := make([]string, len(gone))
	for i, in := range gone {
		ids[i] = in.ID
	}
	dctx, cancel := context.WithTimeout(ctx, e.cfg.DrainTimeout)
	defer cancel()
	if err := e.router.Drain(dctx, ids...); err != nil {
		e.log.Warn("scale in: drain timed out; stopping anyway", "service", svc.Name, "instances", ids)
	}
	for _, in := range gone {
		e.stopInstance(ctx, in)
	}
	e.log.Info("scaled in", "service", svc.Name, "stopped", len(gone))
}
