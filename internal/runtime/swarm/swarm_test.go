package swarm_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/swarm"
	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/swarmenv"
)

// TestBackend runs instances of a pulled image and of a Dockerfile build
// across a real two-node swarm: they spread over both nodes, answer at
// their node's address, survive a new Backend (re-adoption by List), and
// leave nothing behind once stopped.
func TestBackend(t *testing.T) {
	c := swarmenv.Start(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := swarm.Config{Host: c.A.Host, Registry: c.Registry, Labels: map[string]string{"slipway.daemon": "test"}}
	b, err := swarm.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	ctx := t.Context()

	ref := c.Registry + "/swarm-test/app:1"
	dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_HOST=0.0.0.0", "APP_VERSION=pulled"))
	art, err := b.Pull(ctx, ref, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(art.Path, "@sha256:") || art.Backend != swarm.Name {
		t.Fatalf("Pull = %+v, want a swarm artifact pinned by digest", art)
	}
	logDir := t.TempDir()
	start := func(id string, a runtime.Artifact) runtime.Instance {
		t.Helper()
		inst, err := b.Start(ctx, runtime.InstanceSpec{ID: id, Artifact: a, LogPath: filepath.Join(logDir, id+".log"),
			Labels: map[string]string{"slipway.service": "svc"}})
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	i1, i2 := start("inst-1", art), start("inst-2", art)
	host := func(addr string) string { return strings.Split(addr, ":")[0] }
	if host(i1.Addr) == host(i2.Addr) {
		t.Errorf("both instances on %s, want one on each node", host(i1.Addr))
	}
	for _, in := range []runtime.Instance{i1, i2} {
		body := waitBody(t, "http://"+in.Addr+"/")
		if !strings.Contains(body, "hello from testapp pulled") {
			t.Errorf("%s at %s answered %q", in.ID, in.Addr, body)
		}
		if st, err := b.Status(ctx, in); err != nil || !st.Running {
			t.Errorf("Status(%s) = %+v, %v; want running", in.ID, st, err)
		}
	}

	// A Dockerfile build is made on the manager and pushed to the cluster
	// registry; its instances run on any node.
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "app"), mustRead(t, dockerenv.TestApp(t)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "Dockerfile"), []byte("FROM scratch\nCOPY app /app\nENV APP_HOST=0.0.0.0 APP_VERSION=built\nCMD [\"/app\"]\n"), 0o644)
	built, err := b.Build(ctx, runtime.BuildSpec{Key: "swarm-test-build", SourceDir: src}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(built.Path, c.Registry+"/") {
		t.Fatalf("Build = %+v, want an image in %s", built, c.Registry)
	}
	if ok, err := b.ArtifactExists(ctx, built); err != nil || !ok {
		t.Fatalf("ArtifactExists(built) = %v, %v", ok, err)
	}
	i3 := start("inst-3", built)
	if body := waitBody(t, "http://"+i3.Addr+"/"); !strings.Contains(body, "hello from testapp built") {
		t.Errorf("built instance answered %q", body)
	}

	// A restarted daemon finds its instances.
	b.Close()
	if b, err = swarm.New(cfg, log); err != nil {
		t.Fatal(err)
	}
	listed, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range listed {
		got[in.ID] = in.Addr
	}
	for _, in := range []runtime.Instance{i1, i2, i3} {
		if got[in.ID] != in.Addr {
			t.Errorf("List has %s at %q, want %q", in.ID, got[in.ID], in.Addr)
		}
	}

	for _, in := range []runtime.Instance{i1, i2, i3} {
		t0 := time.Now()
		if err := b.Stop(ctx, in, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		// Stop returns once Swarm was told; the task's end is awaited
		// in the background (Swarm reports it about 3 s later).
		if d := time.Since(t0); d > time.Second {
			t.Errorf("stopping %s took %s, want under 1 s", in.ID, d)
		}
		t.Logf("stopped %s in %s", in.ID, time.Since(t0).Round(time.Millisecond))
		st, err := b.Status(ctx, in)
		if err != nil || st.Running {
			t.Errorf("Status(%s) after Stop = %+v, %v", in.ID, st, err)
		}
	}
	logText, _ := os.ReadFile(filepath.Join(logDir, "inst-1.log"))
	if !strings.Contains(string(logText), "testapp listening on") {
		t.Errorf("inst-1's log lacks the app's output:\n%s", logText)
	}
	// Nothing is left on either node.
	for _, n := range []*swarmenv.Node{c.A, c.B} {
		cli := n.Client(t)
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s still has %d container(s)", n.Name, len(res.Items))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestCrash reports how a task ended: its exit code, or an out-of-memory
// kill: for certain on the manager, whose engine Slipway reaches, and as
// the likely cause of a SIGKILL under a memory limit on another node.
func TestCrash(t *testing.T) {
	c := swarmenv.Start(t)
	b, err := swarm.New(swarm.Config{Host: c.A.Host, Registry: c.Registry}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	ref := c.Registry + "/swarm-test/exit:1"
	dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_MODE=exit"))
	art, err := b.Pull(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := b.Start(ctx, runtime.InstanceSpec{ID: "crash-1", Artifact: art})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := b.Status(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running {
			if st.ExitCode != 3 || st.Reason != "exited with code 3" {
				t.Errorf("Status = %+v, want exit code 3", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still running after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.Stop(context.WithoutCancel(ctx), inst, time.Second); err != nil {
		t.Fatal(err)
	}

	ref = c.Registry + "/swarm-test/oom:1"
	dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_MODE=oom"))
	if art, err = b.Pull(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	byNode := map[string]runtime.Instance{}
	for _, id := range []string{"oom-1", "oom-2"} {
		inst, err := b.Start(ctx, runtime.InstanceSpec{ID: id, Artifact: art, Memory: 32, Labels: map[string]string{"slipway.service": "oom"}})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Stop(context.WithoutCancel(ctx), inst, time.Second)
		byNode[strings.Split(inst.Addr, ":")[0]] = inst
	}
	for node, want := range map[string]string{c.A.Addr: "out of memory (limit 32 MiB)", c.B.Addr: "killed by signal 9, most likely for going over its memory limit (32 MiB)"} {
		inst, ok := byNode[node]
		if !ok {
			t.Fatalf("no instance on %s: %v", node, byNode)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			st, err := b.Status(ctx, inst)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Running {
				if !strings.HasPrefix(st.Reason, want) || st.OOMKilled != (node == c.A.Addr) {
					t.Errorf("on %s: Status = %+v, want %q", node, st, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("on %s: still running after 30 s", node)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func waitBody(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
