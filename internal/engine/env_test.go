package engine

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestAppRunnerEnv(t *testing.T) {
	tests := []struct {
		region string
		want   map[string]string
	}{
		{"eu-west-1", map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}},
		{"", map[string]string{}},
	}
	for _, tt := range tests {
		if got := appRunnerEnv(tt.region); !maps.Equal(got, tt.want) {
			t.Errorf("appRunnerEnv(%q) = %v, want %v", tt.region, got, tt.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	e := &Engine{cfg: Config{Region: "eu-west-1"}, secrets: fakeSecrets{}}
	tests := []struct {
		name string
		run  store.RunPlan
		want map[string]string
	}{
		{
			name: "App Runner's variables only",
			want: map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"},
		},
		{
			name: "the configuration's variables and secrets come on top",
			run: store.RunPlan{
				Env:     map[string]string{"GREETING": "hi", "AWS_REGION": "us-west-2"},
				Secrets: map[string]string{"AWS_DEFAULT_REGION": "region-ref", "TOKEN": "token-ref"},
			},
			want: map[string]string{
				"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "value-of-region-ref",
				"GREETING": "hi", "TOKEN": "value-of-token-ref",
			},
		},
	}
	for _, tt := range tests {
		got, err := e.environment(context.Background(), tt.run)
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%s: environment = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// imageBackend is a fakeBackend whose artifacts are not files (as Docker's
// are image IDs): only ArtifactExists can say whether one is still there.
// It also records instance environments and says its toolchain differs.
type imageBackend struct {
	*fakeBackend

	mu      sync.Mutex
	present bool
	envs    []map[string]string
}

var (
	_ runtime.ArtifactChecker  = (*imageBackend)(nil)
	_ runtime.ToolchainChecker = (*imageBackend)(nil)
)

func (b *imageBackend) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (runtime.Artifact, error) {
	a, err := b.fakeBackend.Build(ctx, spec, log)
	a.Path = "sha256:0123456789abcdef"
	return a, err
}

func (b *imageBackend) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	b.mu.Lock()
	b.envs = append(b.envs, spec.Env)
	b.mu.Unlock()
	return b.fakeBackend.Start(ctx, spec)
}

func (b *imageBackend) ArtifactExists(_ context.Context, a runtime.Artifact) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.present && a.Path == "sha256:0123456789abcdef", nil
}

func (b *imageBackend) ToolchainMismatch(context.Context, runtime.BuildSpec) string {
	return "warning: runtime PYTHON_3 asks for Python 3, the host's python3 is 2.7.18; the build and instances use the host's"
}

func (b *imageBackend) setPresent(v bool) {
	b.mu.Lock()
	b.present = v
	b.mu.Unlock()
}

// TestEngineResumeAsksTheBackend resumes a service whose artifact is no
// file: the engine asks the backend whether it is still there instead of
// looking for a path. It also checks what instances get in their
// environment and that a toolchain mismatch is in the operation log.
func TestEngineResumeAsksTheBackend(t *testing.T) {
	h := newHarness(t, true)
	b := &imageBackend{fakeBackend: h.backend, present: true}
	h.eng.backend = b
	h.eng.cfg.Region = "eu-west-1"
	h.run(t)
	ctx := context.Background()

	out := h.createService(t, "img-app")
	if op := h.waitOperation(t, out.OperationId); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("create %s: %s", op.Status, op.Reason)
	}
	svc, _ := h.service(t, out.Service.ServiceArn)
	oplog, err := os.ReadFile(filepath.Join(LogDir(h.eng.cfg.DataDir, svc.ID), "op-"+out.OperationId+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(oplog), "warning: runtime PYTHON_3 asks for Python 3") {
		t.Errorf("operation log lacks the toolchain warning:\n%s", oplog)
	}

	pauseResume := func() store.Operation {
		t.Helper()
		p, err := h.ctl.PauseService(ctx, &ar.PauseServiceRequest{ServiceArn: svc.ARN})
		if err != nil {
			t.Fatal(err)
		}
		if op := h.waitOperation(t, *p.OperationId); op.Status != ar.OperationStatusSucceeded {
			t.Fatalf("pause %s: %s", op.Status, op.Reason)
		}
		r, err := h.ctl.ResumeService(ctx, &ar.ResumeServiceRequest{ServiceArn: svc.ARN})
		if err != nil {
			t.Fatal(err)
		}
		return h.waitOperation(t, *r.OperationId)
	}
	if op := pauseResume(); op.Status != ar.OperationStatusSucceeded {
		t.Fatalf("resume of a present artifact %s: %s", op.Status, op.Reason)
	}
	if builds, started, _ := h.backend.counts(); builds != 1 || started != 2 {
		t.Errorf("builds/starts after resume = %d/%d, want 1/2 (no rebuild)", builds, started)
	}
	b.mu.Lock()
	envs := b.envs
	b.mu.Unlock()
	for i, env := range envs {
		if env["AWS_REGION"] != "eu-west-1" || env["AWS_DEFAULT_REGION"] != "eu-west-1" || env["TOKEN"] != "value-of-token-ref" {
			t.Errorf("instance %d environment = %v, want the region in AWS_REGION and AWS_DEFAULT_REGION and the secret", i, env)
		}
	}

	b.setPresent(false)
	op := pauseResume()
	if op.Status == ar.OperationStatusSucceeded || !strings.Contains(op.Reason, "is gone") {
		t.Errorf("resume of a removed artifact = %s %q, want a failure saying the build is gone", op.Status, op.Reason)
	}
}
