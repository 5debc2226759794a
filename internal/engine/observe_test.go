package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

// fakeObserver records what the engine tells it.
type fakeObserver struct {
	mu      sync.Mutex
	deploys []string // "service result"
	scaled  []string // "service from→to"
}

func (o *fakeObserver) Scaled(service string, from, to int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.scaled = append(o.scaled, service+" "+itoa(from)+"→"+itoa(to))
}

func (o *fakeObserver) Deployed(service, result string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d <= 0 || d > time.Minute {
		result += " (duration " + d.String() + ")"
	}
	o.deploys = append(o.deploys, service+" "+result)
}

func (o *fakeObserver) deployed() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.deploys)
}

func TestObserverAndScaleStatus(t *testing.T) {
	h := newHarness(t, true)
	obs := &fakeObserver{}
	h.eng.SetObserver(obs)
	h.run(t)
	out := h.createService(t, "my-app")
	if op := h.waitOperation(t, out.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("create %s: %s", op.Status, op.Reason)
	}
	waitUntil(t, func() bool { return len(obs.deployed()) == 1 })
	if got, want := obs.deployed(), []string{"my-app succeeded"}; !slices.Equal(got, want) {
		t.Errorf("deployments observed = %q, want %q", got, want)
	}
	got, err := h.eng.ScaleStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []ServiceScale{{Service: "my-app", Desired: 1, Ready: 1}}; !slices.Equal(got, want) {
		t.Errorf("ScaleStatus = %+v, want %+v", got, want)
	}

	// Scaling events reach the observer.
	svc, _ := h.service(t, out.Service.ServiceArn)
	h.eng.recordScaling(context.Background(), svc, 1, 3, 180, "test")
	h.eng.recordScaling(context.Background(), svc, 3, 2, 10, "test")
	obs.mu.Lock()
	if want := []string{"my-app 1→3", "my-app 3→2"}; !slices.Equal(obs.scaled, want) {
		t.Errorf("scaling observed = %q, want %q", obs.scaled, want)
	}
	obs.mu.Unlock()

	// Pausing is no deployment; a paused service wants no instance.
	p, err := h.ctl.PauseService(context.Background(), &ar.PauseServiceRequest{ServiceArn: out.Service.ServiceArn})
	if err != nil {
		t.Fatal(err)
	}
	if op := h.waitOperation(t, *p.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("pause %s: %s", op.Status, op.Reason)
	}
	got, err = h.eng.ScaleStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []ServiceScale{{Service: "my-app"}}; !slices.Equal(got, want) {
		t.Errorf("ScaleStatus after pause = %+v, want %+v", got, want)
	}
	if got := obs.deployed(); len(got) != 1 {
		t.Errorf("deployments observed after pause = %q, want only the create", got)
	}
}

func TestObserverFailedDeploy(t *testing.T) {
	h := newHarness(t, false) // instances exit at once
	obs := &fakeObserver{}
	h.eng.SetObserver(obs)
	h.run(t)
	out := h.createService(t, "crashy")
	if op := h.waitOperation(t, out.OperationId); op.Status != ar.OperationStatusFailed {
		t.Fatalf("create %s, want FAILED", op.Status)
	}
	waitUntil(t, func() bool { return len(obs.deployed()) == 1 })
	if got, want := obs.deployed(), []string{"crashy failed"}; !slices.Equal(got, want) {
		t.Errorf("deployments observed = %q, want %q", got, want)
	}
	got, err := h.eng.ScaleStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []ServiceScale{{Service: "crashy"}}; !slices.Equal(got, want) {
		t.Errorf("ScaleStatus = %+v, want %+v", got, want)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
