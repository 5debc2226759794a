package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"slices"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// instanceHealth is the steady-state health of one active instance.
type instanceHealth struct {
	check   health.Check
	tracker *health.Tracker
	verdict health.Verdict
	probing bool
	last    time.Time
}

func newInstanceHealth(c health.Check, healthy bool) *instanceHealth {
	h := &instanceHealth{check: c, tracker: health.NewTracker(c)}
	if healthy {
		// It just passed the deployment's checks.
		for range c.HealthyThreshold {
			h.verdict = h.tracker.Observe(true)
		}
	}
	return h
}

// backoff delays replacing instances of a service that keep failing.
type backoff struct {
	failures int
	next     time.Time
}

const maxBackoff = time.Minute

func (b backoff) after(now time.Time) backoff {
	d := time.Second << min(b.failures, 6)
	return backoff{failures: b.failures + 1, next: now.Add(min(d, maxBackoff))}
}

// reconcile is one level-triggered pass: it starts unfinished operations
// and brings every other service's instances to what its status asks for.
func (e *Engine) reconcile(ctx context.Context) error {
	var (
		ops   []store.Operation
		svcs  []store.Service
		insts []store.Instance
		conns []store.VpcIngressConnection
	)
	err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		if ops, err = tx.UnfinishedOperations(); err != nil {
			return err
		}
		if svcs, err = tx.Services(true); err != nil {
			return err
		}
		if conns, err = tx.VpcIngressConnections(""); err != nil {
			return err
		}
		insts, err = tx.Instances("")
		return err
	})
	if err != nil {
		return err
	}
	e.syncIngress(ingressAliases(svcs, conns))
	withOp := map[string]bool{}
	for _, op := range ops {
		if withOp[op.ServiceARN] {
			continue // one operation at a time per service, oldest first
		}
		withOp[op.ServiceARN] = true
		e.goBusy(ctx, op.ServiceARN, "operation "+op.ID, func(ctx context.Context) { e.runOperation(ctx, op.ID) })
	}
	byService := map[string][]store.Instance{}
	for _, in := range insts {
		byService[in.ServiceARN] = append(byService[in.ServiceARN], in)
	}
	for _, svc := range svcs {
		if withOp[svc.ARN] || e.isBusy(svc.ARN) {
			continue
		}
		e.supervise(ctx, svc, byService[svc.ARN])
	}
	return nil
}

// supervise checks a service's instances: dead or unhealthy ones are
// replaced (with backoff), leftovers of interrupted work are stopped, and
// the router is told which instances serve.
func (e *Engine) supervise(ctx context.Context, svc store.Service, insts []store.Instance) {
	now := e.now()
	var live, stale []store.Instance
	missing := 0
	p := e.policy(ctx, svc)
	if svc.Status == ar.ServiceStatusRunning && svc.Release != nil {
		for _, in := range insts {
			if in.Role != store.RoleActive {
				stale = append(stale, in)
				continue
			}
			st, err := e.status(ctx, in.Runtime)
			switch {
			case err != nil:
				e.log.Error("instance status", "instance", in.ID, "err", err)
				live = append(live, in)
			case !st.Running:
				e.log.Warn("instance ended; replacing it", "service", svc.Name, "instance", in.ID, "reason", st.Reason)
				stale = append(stale, in)
			case e.verdict(in.ID) == health.Unhealthy:
				e.log.Warn("instance unhealthy; replacing it", "service", svc.Name, "instance", in.ID)
				stale = append(stale, in)
			default:
				live = append(live, in)
				e.probeIfDue(ctx, in, healthCheck(svc.Config.HealthCheck), now)
			}
		}
		want := e.desiredCount(p, svc.ARN, len(live))
		missing = want - len(live)
		if missing < 0 {
			// Scale in: the surplus leaves the route first, then drains.
			gone := surplus(live, -missing)
			live = slices.DeleteFunc(live, func(in store.Instance) bool {
				return slices.ContainsFunc(gone, func(g store.Instance) bool { return g.ID == in.ID })
			})
			e.setRouteWith(svc, live, p)
			e.goBusy(ctx, svc.ARN, "scale in", func(ctx context.Context) { e.scaleIn(ctx, svc, gone) })
			return
		}
	} else {
		stale = insts
	}
	e.setRouteWith(svc, live, p)

	e.mu.Lock()
	bo := e.backoff[svc.ARN]
	e.mu.Unlock()
	if missing > 0 && now.Before(bo.next) {
		missing = 0
	}
	if len(stale) == 0 && missing <= 0 {
		return
	}
	e.goBusy(ctx, svc.ARN, "repair", func(ctx context.Context) {
		for _, in := range stale {
			e.stopInstance(ctx, in)
		}
		if missing > 0 {
			e.replace(ctx, svc, missing)
		}
	})
}

// replace starts n instances of the live release of a running service.
func (e *Engine) replace(ctx context.Context, svc store.Service, n int) {
	var b [4]byte
	rand.Read(b[:])
	started, err := e.startInstances(ctx, svc, hex.EncodeToString(b[:]), *svc.Release, n, healthCheck(svc.Config.HealthCheck), nil)
	e.mu.Lock()
	if err != nil {
		e.backoff[svc.ARN] = e.backoff[svc.ARN].after(e.now())
	} else {
		delete(e.backoff, svc.ARN)
	}
	e.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("replacing instances failed; will retry with backoff", "service", svc.Name, "err", err)
		}
		return
	}
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		for _, in := range started {
			in.Role = store.RoleActive
			if err := tx.PutInstance(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Error("record replacement instances", "service", svc.Name, "err", err)
	}
	e.log.Info("replaced instances", "service", svc.Name, "count", len(started))
	e.syncRoute(ctx, svc.ARN)
}

func (e *Engine) verdict(id string) health.Verdict {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h := e.health[id]; h != nil {
		return h.verdict
	}
	return health.Unknown
}

// probeIfDue starts a health probe of an active instance when its interval
// has passed since the last one.
func (e *Engine) probeIfDue(ctx context.Context, in store.Instance, check health.Check, now time.Time) {
	e.mu.Lock()
	h := e.health[in.ID]
	if h == nil {
		h = newInstanceHealth(check, false)
		e.health[in.ID] = h
	}
	if h.probing || now.Sub(h.last) < h.check.Interval {
		e.mu.Unlock()
		return
	}
	h.probing, h.last = true, now
	e.mu.Unlock()

	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := health.Probe(ctx, probeTarget(in.Runtime), h.check)
		if ctx.Err() != nil {
			return
		}
		e.mu.Lock()
		v := h.tracker.Observe(err == nil)
		changed := v != h.verdict
		h.verdict, h.probing = v, false
		e.mu.Unlock()
		if changed {
			e.Wake()
		}
	}()
}

// syncRoute tells the router what a service serves now.
func (e *Engine) syncRoute(ctx context.Context, arn string) {
	var (
		svc   store.Service
		insts []store.Instance
	)
	err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		if svc, err = tx.Service(arn); err != nil {
			return err
		}
		insts, err = tx.Instances(arn)
		return err
	})
	if err != nil {
		e.log.Error("sync route", "service", arn, "err", err)
		return
	}
	e.setRoute(svc, insts)
}

func (e *Engine) setRoute(svc store.Service, insts []store.Instance) {
	e.setRouteWith(svc, insts, e.policy(e.life, svc))
}

// setRouteWith is setRoute for a caller that has read svc's policy.
func (e *Engine) setRouteWith(svc store.Service, insts []store.Instance, p policy) {
	traced := e.traced(e.life, svc.Config)
	e.mu.Lock()
	e.hosts[svc.Host] = svc.ARN
	route, ok := routeFor(svc, insts, func(id string) health.Verdict {
		if h := e.health[id]; h != nil {
			return h.verdict
		}
		return health.Unknown
	}, p)
	e.mu.Unlock()
	if !ok {
		e.router.RemoveRoute(svc.Host)
		return
	}
	route.Traced = traced
	e.router.SetRoute(route)
}

// routeFor decides what the router does for a service: serve its active
// instances that are not known to be unhealthy, each up to the policy's
// MaxConcurrency, hold requests while a service that may scale to zero has
// no instance (at zero, waking, or after a restart found none to adopt),
// show the paused page, or nothing (ok false: the host is freed).
func routeFor(svc store.Service, insts []store.Instance, verdict func(id string) health.Verdict, p policy) (router.Route, bool) {
	r := router.Route{Host: svc.Host, Service: svc.Name, ServiceARN: svc.ARN, State: router.Unavailable,
		MaxConcurrency: p.cfg.MaxConcurrency, QueueDepth: p.queueDepth(), Private: isPrivate(svc.Config)}
	switch {
	case svc.Status == ar.ServiceStatusDeleted:
		return r, false
	case svc.Status == ar.ServiceStatusPaused:
		r.State = router.Paused
	case svc.Release != nil && (svc.Status == ar.ServiceStatusRunning || svc.Status == ar.ServiceStatusOperationInProgress):
		for _, in := range insts {
			if in.Role == store.RoleActive && verdict(in.ID) != health.Unhealthy {
				r.Backends = append(r.Backends, router.Backend{ID: in.ID, Addr: in.Runtime.Addr, NetNS: in.Runtime.NetNS})
			}
		}
		switch {
		case len(r.Backends) > 0:
			r.State = router.Serving
		case p.cfg.MinSize == 0 && svc.Status == ar.ServiceStatusRunning:
			r.State = router.Idle
		}
	}
	return r, true
}

// adopt takes over the instances a previous daemon left running: they
// keep running and serve again at once, without a restart.
func (e *Engine) adopt(ctx context.Context) error {
	var (
		svcs  []store.Service
		insts []store.Instance
	)
	err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		if svcs, err = tx.Services(false); err != nil {
			return err
		}
		insts, err = tx.Instances("")
		return err
	})
	if err != nil {
		return err
	}
	adopted := 0
	byService := map[string][]store.Instance{}
	for _, in := range insts {
		byService[in.ServiceARN] = append(byService[in.ServiceARN], in)
		if in.Role != store.RoleActive {
			continue
		}
		if st, err := e.status(ctx, in.Runtime); err == nil && st.Running {
			adopted++
		}
	}
	for _, svc := range svcs {
		e.setRoute(svc, byService[svc.ARN])
	}
	e.log.Info("re-adopted running instances", "count", adopted, "services", len(svcs))
	e.stopOrphans(ctx, insts)
	return nil
}

// stopOrphans stops instances the backend runs but the store does not
// know: a daemon that died between starting an instance and recording it
// leaves one behind.
func (e *Engine) stopOrphans(ctx context.Context, known []store.Instance) {
	ids := make(map[string]bool, len(known))
	for _, in := range known {
		ids[in.ID] = true
	}
	for _, b := range e.backends() {
		l, ok := b.(runtime.Lister)
		if !ok {
			continue
		}
		running, err := l.List(ctx)
		if err != nil {
			e.log.Error("list instances", "backend", b.Name(), "err", err)
			continue
		}
		for _, in := range running {
			if ids[in.ID] {
				continue
			}
			e.log.Warn("stopping an instance no service owns", "instance", in.ID, "backend", b.Name())
			if err := b.Stop(ctx, in, e.cfg.StopGrace); err != nil {
				e.log.Error("stop orphan instance", "instance", in.ID, "err", err)
			}
		}
	}
}

// probeTarget is where health checks reach inst: inside its own network
// namespace when it has one.
func probeTarget(inst runtime.Instance) health.Target {
	t := health.Target{Addr: inst.Addr}
	if ns := inst.NetNS; ns != "" {
		t.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return netns.DialPath(ctx, ns, network, addr)
		}
	}
	return t
}
