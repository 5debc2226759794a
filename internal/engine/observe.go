package engine

import (
	"context"
	"strings"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/store"
)

// Observer is told what the engine did, for metrics. Its methods are called
// off the request path but inside the engine's loops: they must return
// quickly.
type Observer interface {
	// Scaled is a scaling event: service's desired instance count changed.
	Scaled(service string, from, to int)
	// Deployed is a deployment (create, update or start-deployment) that
	// ended after d with result, its final operation status in lower case:
	// "succeeded", "failed", "rollback_succeeded" or "rollback_failed".
	Deployed(service, result string, d time.Duration)
}

// SetObserver gives the engine an observer; nil means none. Call it before
// Run.
func (e *Engine) SetObserver(o Observer) {
	e.obs = o
}

// ServiceScale is a service's instance counts as the autoscaler sees them.
type ServiceScale struct {
	Service string
	// Desired is how many instances the service should run now: the
	// autoscaler's count, 0 when the service is paused or has never run.
	Desired int
	// Ready is how many instances take traffic: active and not failing
	// their health check.
	Ready int
}

// ScaleStatus returns every service's instance counts, by creation order.
// It reads the store; it is meant for a metrics scrape, not a hot path.
func (e *Engine) ScaleStatus(ctx context.Context) ([]ServiceScale, error) {
	type svcState struct {
		svc   store.Service
		p     policy
		insts []store.Instance
	}
	var list []svcState
	err := e.store.View(ctx, func(tx *store.Tx) error {
		svcs, err := tx.Services(false)
		if err != nil {
			return err
		}
		insts, err := tx.Instances("")
		if err != nil {
			return err
		}
		byService := map[string][]store.Instance{}
		for _, in := range insts {
			byService[in.ServiceARN] = append(byService[in.ServiceARN], in)
		}
		for _, svc := range svcs {
			// An unreadable configuration counts as the defaults, as it
			// does for the autoscaler.
			p, _ := policyFor(tx, svc)
			list = append(list, svcState{svc, p, byService[svc.ARN]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ServiceScale, 0, len(list))
	for _, s := range list {
		sc := ServiceScale{Service: s.svc.Name}
		serving := s.svc.Release != nil &&
			(s.svc.Status == ar.ServiceStatusRunning || s.svc.Status == ar.ServiceStatusOperationInProgress)
		if serving {
			active := 0
			for _, in := range s.insts {
				if in.Role != store.RoleActive {
					continue
				}
				active++
				if e.verdict(in.ID) != health.Unhealthy {
					sc.Ready++
				}
			}
			sc.Desired = e.desiredCount(s.p, s.svc.ARN, active)
		}
		out = append(out, sc)
	}
	return out, nil
}

// observeOperation tells the observer how a deployment ended, from the
// operation's final record.
func (e *Engine) observeOperation(ctx context.Context, opID, service string) {
	if e.obs == nil {
		return
	}
	var op store.Operation
	if err := e.store.View(ctx, func(tx *store.Tx) (err error) { op, err = tx.Operation(opID); return err }); err != nil {
		return
	}
	switch op.Type {
	case ar.OperationTypeCreateService, ar.OperationTypeStartDeployment, ar.OperationTypeUpdateService:
	default:
		return
	}
	if !op.Done() || op.EndedAt.IsZero() {
		return
	}
	e.obs.Deployed(service, strings.ToLower(op.Status), op.EndedAt.Sub(op.StartedAt))
}
