package engine

import (
	"reflect"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/autoscale"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestRouteFor(t *testing.T) {
	inst := func(id, role string) store.Instance {
		return store.Instance{ID: id, Role: role, Runtime: runtime.Instance{ID: id, Addr: "127.0.0.1:" + id}}
	}
	verdicts := map[string]health.Verdict{"1": health.Healthy, "2": health.Unknown, "3": health.Unhealthy, "4": health.Healthy, "5": health.Healthy}
	verdict := func(id string) health.Verdict { return verdicts[id] }
	insts := []store.Instance{
		inst("1", store.RoleActive),    // healthy: serves
		inst("2", store.RoleActive),    // unknown: serves
		inst("3", store.RoleActive),    // unhealthy: left out
		inst("4", store.RoleCandidate), // not live yet
		inst("5", store.RoleDraining),  // leaving
	}
	served := []router.Backend{{ID: "1", Addr: "127.0.0.1:1"}, {ID: "2", Addr: "127.0.0.1:2"}}
	rel := &store.Release{Revision: "abc"}
	tests := []struct {
		name         string
		status       string
		release      *store.Release
		insts        []store.Instance
		wantOK       bool
		wantState    router.State
		wantBackends []router.Backend
		idle         bool
	}{
		{"running", ar.ServiceStatusRunning, rel, insts, true, router.Serving, served, false},
		{"running, no instances", ar.ServiceStatusRunning, rel, nil, true, router.Unavailable, nil, false},
		{"running, only unhealthy", ar.ServiceStatusRunning, rel, []store.Instance{inst("3", store.RoleActive)}, true, router.Unavailable, nil, false},
		{"running, only candidates and draining", ar.ServiceStatusRunning, rel, insts[3:], true, router.Unavailable, nil, false},
		{"running without a release", ar.ServiceStatusRunning, nil, insts, true, router.Unavailable, nil, false},
		{"operation in progress with a release", ar.ServiceStatusOperationInProgress, rel, insts, true, router.Serving, served, false},
		{"operation in progress, first deploy", ar.ServiceStatusOperationInProgress, nil, insts, true, router.Unavailable, nil, false},
		{"paused", ar.ServiceStatusPaused, rel, insts, true, router.Paused, nil, false},
		{"create failed", ar.ServiceStatusCreateFailed, nil, insts, true, router.Unavailable, nil, false},
		{"delete failed", ar.ServiceStatusDeleteFailed, rel, insts, true, router.Unavailable, nil, false},
		{"deleted", ar.ServiceStatusDeleted, rel, insts, false, router.Unavailable, nil, false},
		{"scaled to zero", ar.ServiceStatusRunning, rel, nil, true, router.Idle, nil, true},
		{"scaled to zero, waking", ar.ServiceStatusRunning, rel, insts, true, router.Serving, served, true},
		{"paused, at zero", ar.ServiceStatusPaused, rel, nil, true, router.Paused, nil, true},
		{"deploying at zero", ar.ServiceStatusOperationInProgress, rel, nil, true, router.Unavailable, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := store.Service{Name: "my-app", Host: "abc.us-east-1.localhost", Status: tt.status, Release: tt.release}
			p := policy{cfg: autoscale.Config{MaxConcurrency: 7, MinSize: 1, MaxSize: 3}}
			if tt.idle {
				p.cfg.MinSize = 0 // scale to zero
			}
			got, ok := routeFor(svc, tt.insts, verdict, p)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.Host != svc.Host || got.Service != svc.Name {
				t.Errorf("route host/service = %q/%q, want %q/%q", got.Host, got.Service, svc.Host, svc.Name)
			}
			if got.State != tt.wantState {
				t.Errorf("State = %s, want %s", got.State, tt.wantState)
			}
			if !reflect.DeepEqual(got.Backends, tt.wantBackends) {
				t.Errorf("Backends = %+v, want %+v", got.Backends, tt.wantBackends)
			}
			if got.MaxConcurrency != 7 || got.QueueDepth != 21 {
				t.Errorf("MaxConcurrency %d, QueueDepth %d; want 7 and 21 (one more set of the largest capacity)", got.MaxConcurrency, got.QueueDepth)
			}
		})
	}
}

func TestNewInstanceHealth(t *testing.T) {
	c := health.Default()
	c.HealthyThreshold = 3
	if v := newInstanceHealth(c, true).verdict; v != health.Healthy {
		t.Errorf("healthy instance verdict = %s, want Healthy", v)
	}
	if v := newInstanceHealth(c, false).verdict; v != health.Unknown {
		t.Errorf("new instance verdict = %s, want Unknown", v)
	}
}
