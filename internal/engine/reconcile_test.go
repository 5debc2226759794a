package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/control"
	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// fakeBackend builds nothing and "starts" instances that are a listener
// the test owns, so TCP health checks pass; running says what Status reports.
type fakeBackend struct {
	addr string

	mu      sync.Mutex
	running bool
	builds  int
	started []string
	stopped []string
}

var _ runtime.Backend = (*fakeBackend)(nil)

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Build(_ context.Context, spec runtime.BuildSpec, log io.Writer) (runtime.Artifact, error) {
	b.mu.Lock()
	b.builds++
	b.mu.Unlock()
	fmt.Fprintln(log, "building", spec.Key)
	return runtime.Artifact{Backend: "fake", Key: spec.Key, Path: spec.SourceDir, Runtime: spec.Runtime}, nil
}

func (b *fakeBackend) Start(_ context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.started = append(b.started, spec.ID)
	return runtime.Instance{ID: spec.ID, Backend: "fake", Ref: spec.ID, Addr: b.addr, StartedAt: time.Now()}, nil
}

func (b *fakeBackend) Status(context.Context, runtime.Instance) (runtime.State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return runtime.State{Running: true}, nil
	}
	return runtime.State{ExitCode: 3, Reason: "exited with code 3"}, nil
}

func (b *fakeBackend) Stop(_ context.Context, inst runtime.Instance, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = append(b.stopped, inst.ID)
	return nil
}

func (b *fakeBackend) RemoveArtifact(context.Context, runtime.Artifact) error { return nil }

func (b *fakeBackend) counts() (builds, started, stopped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.builds, len(b.started), len(b.stopped)
}

// fakeRouter records the routes it is given.
type fakeRouter struct {
	mu      sync.Mutex
	routes  map[string]router.Route
	private map[string]string // private aliases
}

func (r *fakeRouter) SetRoute(rt router.Route) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		r.routes = map[string]router.Route{}
	}
	r.routes[rt.Host] = rt
}

func (r *fakeRouter) RemoveRoute(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.routes, host)
}

func (r *fakeRouter) Drain(context.Context, ...string) error { return nil }

func (r *fakeRouter) SetPrivateAlias(alias, host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.private == nil {
		r.private = map[string]string{}
	}
	r.private[alias] = host
}

func (r *fakeRouter) RemovePrivateAlias(alias string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.private, alias)
}

func (r *fakeRouter) Load(string) (int, int) { return 0, 0 }

func (r *fakeRouter) route(host string) (router.Route, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := r.routes[host]
	return rt, ok
}

// fakeGit serves one commit of every repository.
type fakeGit struct{}

const fakeCommit = "0123456789abcdef0123456789abcdef01234567"

func (fakeGit) Fetch(context.Context, string) error                  { return nil }
func (fakeGit) Head(context.Context, string, string) (string, error) { return fakeCommit, nil }
func (fakeGit) HasDir(context.Context, string, string, string) (bool, error) {
	return true, nil
}
func (fakeGit) ReadFile(context.Context, string, string, string) ([]byte, error) {
	return nil, os.ErrNotExist
}
func (fakeGit) Export(_ context.Context, _, _, dest string) error { return os.MkdirAll(dest, 0o755) }

type fakeSecrets struct{}

func (fakeSecrets) Resolve(_ context.Context, ref string) (string, error) {
	return "value-of-" + ref, nil
}

type harness struct {
	st      *store.Store
	ctl     *control.Control
	backend *fakeBackend
	router  *fakeRouter
	eng     *Engine
}

func newHarness(t *testing.T, running bool) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and drop: enough for a TCP health check
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &harness{st: st, backend: &fakeBackend{addr: ln.Addr().String(), running: running}, router: &fakeRouter{}}
	h.eng = New(Config{DataDir: dir, Tick: 20 * time.Millisecond, DeployTimeout: 20 * time.Second, DrainTimeout: time.Second},
		st, h.backend, h.router, fakeGit{}, fakeSecrets{}, log)
	h.ctl = control.New(control.Config{Region: "us-east-1", Account: "123456789012", Domain: "localhost", MaxServices: 10}, st, h.eng, log)
	if err := h.ctl.EnsureDefaultAutoScaling(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// run starts the engine and stops it (waiting for it) when the test ends.
func (h *harness) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("engine.Run did not return after its context ended")
		}
	})
}

func (h *harness) createService(t *testing.T, name string) *ar.CreateServiceResponse {
	t.Helper()
	out, err := h.ctl.CreateService(context.Background(), &ar.CreateServiceRequest{
		ServiceName: name,
		SourceConfiguration: &ar.SourceConfiguration{CodeRepository: &ar.CodeRepository{
			RepositoryUrl:     "https://example.com/" + name + ".git",
			SourceCodeVersion: &ar.SourceCodeVersion{Type: "BRANCH", Value: "main"},
			CodeConfiguration: &ar.CodeConfiguration{
				ConfigurationSource: ar.ConfigurationSourceApi,
				CodeConfigurationValues: &ar.CodeConfigurationValues{Runtime: "PYTHON_3", StartCommand: ptr("python app.py"),
					RuntimeEnvironmentSecrets: map[string]string{"TOKEN": "token-ref"}},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitOperation waits until the operation reaches a final status.
func (h *harness) waitOperation(t *testing.T, id string) store.Operation {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var op store.Operation
		err := h.st.View(context.Background(), func(tx *store.Tx) (err error) {
			op, err = tx.Operation(id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if op.Done() {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s", id, op.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) service(t *testing.T, arn string) (store.Service, []store.Instance) {
	t.Helper()
	var (
		svc   store.Service
		insts []store.Instance
	)
	err := h.st.View(context.Background(), func(tx *store.Tx) (err error) {
		if svc, err = tx.Service(arn); err != nil {
			return err
		}
		insts, err = tx.Instances(arn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, insts
}

// waitInstances waits until the service has n instances.
func (h *harness) waitInstances(t *testing.T, arn string, n int) []store.Instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, insts := h.service(t, arn)
		if len(insts) == n {
			return insts
		}
		if time.Now().After(deadline) {
			t.Fatalf("service has %d instances, want %d: %+v", len(insts), n, insts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEngineCreateService(t *testing.T) {
	h := newHarness(t, true)
	h.run(t)
	out := h.createService(t, "my-app")
	op := h.waitOperation(t, out.OperationId)
	if op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("operation %s: %s", op.Status, op.Reason)
	}
	if op.Revision != fakeCommit || op.Attempts != 1 || op.EndedAt.IsZero() {
		t.Errorf("operation = revision %q, attempts %d, ended %v; want %s, 1, set", op.Revision, op.Attempts, op.EndedAt, fakeCommit)
	}
	svc, insts := h.service(t, out.Service.ServiceArn)
	if svc.Status != ar.ServiceStatusRunning {
		t.Errorf("service status = %s, want RUNNING", svc.Status)
	}
	if svc.Release == nil || svc.Release.Revision != fakeCommit || svc.Release.Run.Command != "python app.py" {
		t.Fatalf("release = %+v, want commit %s running python app.py", svc.Release, fakeCommit)
	}
	if svc.Release.Run.CPU != 1.0 || svc.Release.Run.Memory != 2048 {
		t.Errorf("release size = %v vCPU / %d MiB, want 1 / 2048", svc.Release.Run.CPU, svc.Release.Run.Memory)
	}
	if len(insts) != 1 || insts[0].Role != store.RoleActive || insts[0].OperationID != out.OperationId {
		t.Errorf("instances = %+v, want one active instance of the operation", insts)
	}
	rt, ok := h.router.route(svc.Host)
	if !ok || rt.State != router.Serving || len(rt.Backends) != 1 || rt.Backends[0].Addr != h.backend.addr {
		t.Errorf("route = %+v (present %v), want Serving to %s", rt, ok, h.backend.addr)
	}
	if builds, started, _ := h.backend.counts(); builds != 1 || started != 1 {
		t.Errorf("backend builds/starts = %d/%d, want 1/1", builds, started)
	}

	// A redeploy of the same commit reuses the build and replaces the instance.
	dep, err := h.ctl.StartDeployment(context.Background(), &ar.StartDeploymentRequest{ServiceArn: svc.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if op := h.waitOperation(t, dep.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("redeploy %s: %s", op.Status, op.Reason)
	}
	// The operation succeeds when traffic moves; the old instance drains after.
	insts2 := h.waitInstances(t, svc.ARN, 1)
	if insts2[0].ID == insts[0].ID || insts2[0].Role != store.RoleActive {
		t.Errorf("instances after redeploy = %+v, want one new active instance", insts2)
	}
	if builds, started, stopped := h.backend.counts(); builds != 1 || started != 2 || stopped != 1 {
		t.Errorf("backend builds/starts/stops after redeploy = %d/%d/%d, want 1/2/1", builds, started, stopped)
	}

	// Pause stops the instance and shows the paused page.
	p, err := h.ctl.PauseService(context.Background(), &ar.PauseServiceRequest{ServiceArn: svc.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if op := h.waitOperation(t, *p.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("pause %s: %s", op.Status, op.Reason)
	}
	svc, insts = h.service(t, svc.ARN)
	if svc.Status != ar.ServiceStatusPaused || len(insts) != 0 {
		t.Errorf("after pause: status %s, %d instances; want PAUSED, 0", svc.Status, len(insts))
	}
	if rt, _ := h.router.route(svc.Host); rt.State != router.Paused {
		t.Errorf("route after pause = %s, want Paused", rt.State)
	}

	// Delete frees the host.
	d, err := h.ctl.DeleteService(context.Background(), &ar.DeleteServiceRequest{ServiceArn: svc.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if op := h.waitOperation(t, d.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("delete %s: %s", op.Status, op.Reason)
	}
	svc, _ = h.service(t, svc.ARN)
	if svc.Status != ar.ServiceStatusDeleted || svc.DeletedAt.IsZero() {
		t.Errorf("after delete: status %s, DeletedAt %v; want DELETED", svc.Status, svc.DeletedAt)
	}
	if rt, ok := h.router.route(svc.Host); ok {
		t.Errorf("route after delete = %+v, want none", rt)
	}
}

func TestEngineCreateServiceCrash(t *testing.T) {
	h := newHarness(t, false)
	h.run(t)
	out := h.createService(t, "crashy")
	op := h.waitOperation(t, out.OperationId)
	if op.Status != ar.OperationStatusFailed {
		t.Errorf("operation status = %s, want FAILED", op.Status)
	}
	if !strings.Contains(op.Reason, ErrCrash.Error()) || !strings.Contains(op.Reason, "exited with code 3") {
		t.Errorf("reason = %q, want it to say the instance crashed with code 3", op.Reason)
	}
	svc, insts := h.service(t, out.Service.ServiceArn)
	if svc.Status != ar.ServiceStatusCreateFailed {
		t.Errorf("service status = %s, want CREATE_FAILED", svc.Status)
	}
	if svc.Release != nil {
		t.Errorf("release = %+v, want none", svc.Release)
	}
	if len(insts) != 0 {
		t.Errorf("instances = %+v, want the candidate stopped and forgotten", insts)
	}
	if _, started, stopped := h.backend.counts(); started != 1 || stopped != 1 {
		t.Errorf("backend starts/stops = %d/%d, want 1/1", started, stopped)
	}
	// The operation log says why.
	b, err := os.ReadFile(filepath.Join(LogDir(h.eng.cfg.DataDir, svc.ID), "op-"+op.ID+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "FAILED") {
		t.Errorf("operation log does not record the failure:\n%s", b)
	}
	// Deadline for the route to settle: the reconciler publishes it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rt, ok := h.router.route(svc.Host)
		if ok && rt.State == router.Unavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route = %+v (present %v), want Unavailable", rt, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEngineFailsOperationAfterTooManyAttempts(t *testing.T) {
	h := newHarness(t, true)
	out := h.createService(t, "restarted")
	// As if three daemons died while running it.
	err := h.st.Update(context.Background(), func(tx *store.Tx) error {
		op, err := tx.Operation(out.OperationId)
		if err != nil {
			return err
		}
		op.Attempts, op.Status = 3, ar.OperationStatusInProgress
		return tx.PutOperation(op)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.run(t)
	op := h.waitOperation(t, out.OperationId)
	if op.Status != ar.OperationStatusFailed || !strings.Contains(op.Reason, ErrRestarts.Error()) {
		t.Errorf("operation = %s %q, want FAILED, interrupted by daemon restarts", op.Status, op.Reason)
	}
	if builds, _, _ := h.backend.counts(); builds != 0 {
		t.Errorf("builds = %d, want 0: the operation must not run again", builds)
	}
}

func TestEngineImageNeedsDocker(t *testing.T) {
	h := newHarness(t, true)
	h.run(t)
	out, err := h.ctl.CreateService(context.Background(), &ar.CreateServiceRequest{
		ServiceName: "image",
		SourceConfiguration: &ar.SourceConfiguration{ImageRepository: &ar.ImageRepository{
			ImageIdentifier: "public.ecr.aws/nginx/nginx:latest", ImageRepositoryType: ar.ImageRepositoryTypeEcrPublic}},
	})
	if err != nil {
		t.Fatal(err)
	}
	op := h.waitOperation(t, out.OperationId)
	if op.Status != ar.OperationStatusFailed || !strings.Contains(op.Reason, "image") {
		t.Errorf("operation = %s %q, want FAILED explaining images need docker", op.Status, op.Reason)
	}
}
