package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/source/image"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// newBackend connects to the test engine with a label of this test's own,
// so that List sees only this test's containers, and removes them at the end.
func newBackend(t *testing.T, label string) *Backend {
	t.Helper()
	b, err := New(testConfig(t, label), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testConfig gives the test's containers a label and names of their own.
func testConfig(t *testing.T, label string) Config {
	return Config{Host: dockerenv.Docker(t), Labels: map[string]string{"slipway.test": label}, NamePrefix: "slipway-" + label + "-"}
}

func uniqueLabel(t *testing.T) string {
	var r [4]byte
	rand.Read(r[:])
	return strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name())) + "-" + hex.EncodeToString(r[:])
}

// cleanup removes every container with the test's label, whatever Backend
// value started it.
func cleanup(t *testing.T, label string) {
	cfg := testConfig(t, label)
	t.Cleanup(func() {
		// t.Context() has ended by now.
		ctx := context.Background()
		b, err := New(cfg, nil)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer b.Close()
		insts, err := b.List(ctx)
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, in := range insts {
			if err := b.Stop(ctx, in, 0); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}

// pushApp pushes the test app image to the test registry under repo and
// returns the reference pinned to its digest.
func pushApp(t *testing.T, repo string, img dockerenv.Image) string {
	t.Helper()
	ref := dockerenv.Registry(t) + "/slipway-test/" + repo + ":latest"
	dockerenv.Push(t, ref, img)
	pinned, err := image.Resolve(t.Context(), ref, image.Public)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return pinned
}

func pull(t *testing.T, b *Backend, ref string) runtime.Artifact {
	t.Helper()
	var log bytes.Buffer
	a, err := b.Pull(t.Context(), ref, &log)
	if err != nil {
		t.Fatalf("Pull(%s): %v\n%s", ref, err, log.String())
	}
	return a
}

func start(t *testing.T, b *Backend, spec runtime.InstanceSpec) runtime.Instance {
	t.Helper()
	inst, err := b.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return inst
}

func get(addr, path string) (string, error) {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(t *testing.T, b *Backend, inst runtime.Instance) runtime.State {
	t.Helper()
	st, err := b.Status(t.Context(), inst)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

func waitEnded(t *testing.T, b *Backend, inst runtime.Instance) runtime.State {
	t.Helper()
	var st runtime.State
	waitFor(t, "instance to end", func() bool { st = status(t, b, inst); return !st.Running })
	return st
}

// entries returns the log file's entries as "stream text" strings.
func entries(t *testing.T, path string) []string {
	t.Helper()
	es, err := applog.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Stream+" "+e.Text)
	}
	return out
}

func count(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}

func inspect(t *testing.T, b *Backend, id string) client.ContainerInspectResult {
	t.Helper()
	res, err := b.Client().ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return res
}

// TestImageLifecycle is the image source path end to end: push, resolve,
// pull, run on the host network with limits, logs, re-adoption by a new
// Backend, stop.
func TestImageLifecycle(t *testing.T) {
	label := uniqueLabel(t)
	cleanup(t, label)
	b := newBackend(t, label)
	ref := pushApp(t, "lifecycle", dockerenv.AppImage(t, "APP_VERSION=image"))

	a := pull(t, b, ref)
	if a.Backend != Name || a.Key != ref || !strings.HasPrefix(a.Path, "sha256:") {
		t.Fatalf("Pull = %+v", a)
	}
	// Pinned and present: no second pull.
	var log bytes.Buffer
	if again, err := b.Pull(t.Context(), ref, &log); err != nil || again != a || log.Len() != 0 {
		t.Fatalf("second Pull = %+v, %v, log %q; want %+v and no pull", again, err, log.String(), a)
	}

	logPath := filepath.Join(t.TempDir(), "logs", "i-1.log")
	inst := start(t, b, runtime.InstanceSpec{
		ID: "i-1", Artifact: a, LogPath: logPath,
		Env:    map[string]string{"APP_VERSION": "from-env", "PORT": "1"},
		CPU:    0.5,
		Memory: 64,
	})
	if inst.Backend != Name || inst.Ref == "" || !strings.HasPrefix(inst.Addr, "127.0.0.1:") {
		t.Fatalf("Start = %+v", inst)
	}
	waitFor(t, "app to serve", func() bool {
		body, _ := get(inst.Addr, "/")
		return body == "hello from testapp from-env\n"
	})
	if st := status(t, b, inst); !st.Running {
		t.Fatalf("Status = %+v, want running", st)
	}

	hc := inspect(t, b, inst.Ref).Container.HostConfig
	if hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 || hc.NetworkMode != "host" || hc.RestartPolicy.Name != "no" {
		t.Fatalf("HostConfig: Memory %d, NanoCPUs %d, NetworkMode %q, RestartPolicy %q", hc.Memory, hc.NanoCPUs, hc.NetworkMode, hc.RestartPolicy.Name)
	}

	if _, err := get(inst.Addr, "/log?msg=before-adoption"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "output in the log file", func() bool {
		es := entries(t, logPath)
		return count(es, "stdout before-adoption") == 1 && count(es, "stderr testapp stderr line") == 1
	})

	list, err := b.List(t.Context())
	if err != nil || len(list) != 1 || list[0].Ref != inst.Ref || list[0].ID != "i-1" || list[0].Addr != inst.Addr {
		t.Fatalf("List = %+v, %v; want the one instance %+v", list, err, inst)
	}

	// The daemon goes away and a new one starts; the app keeps serving
	// and the new Backend knows it from the stored Instance alone.
	b.Close()
	if _, err := get(inst.Addr, "/log?msg=while-no-daemon"); err != nil {
		t.Fatalf("app stopped serving with its Backend: %v", err)
	}
	nb := newBackend(t, label)
	if st := status(t, nb, inst); !st.Running {
		t.Fatalf("re-adopted Status = %+v", st)
	}
	if _, err := get(inst.Addr, "/log?msg=after-adoption"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "logs copied after re-adoption", func() bool {
		es := entries(t, logPath)
		return count(es, "stdout while-no-daemon") == 1 && count(es, "stdout after-adoption") == 1
	})
	if es := entries(t, logPath); count(es, "stdout before-adoption") != 1 || count(es, "stderr testapp stderr line") != 1 {
		t.Fatalf("lines repeated after re-adoption:\n%s", strings.Join(es, "\n"))
	}

	if err := nb.Stop(t.Context(), inst, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st := status(t, nb, inst); st.Running || st.Reason != "exited with code 0" {
		t.Fatalf("Status after Stop = %+v", st)
	}
	if _, err := nb.Client().ContainerInspect(t.Context(), inst.Ref, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("container still exists after Stop: %v", err)
	}
	es := entries(t, logPath)
	if count(es, "stdout testapp shutting down") != 1 || es[len(es)-1] != "system exited with code 0" {
		t.Fatalf("log after Stop:\n%s", strings.Join(es, "\n"))
	}
	if err := nb.Stop(t.Context(), inst, time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if list, err := nb.List(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("List after Stop = %+v, %v", list, err)
	}
	if err := nb.RemoveArtifact(t.Context(), a); err != nil {
		t.Fatalf("RemoveArtifact: %v", err)
	}
	// Start pulls a removed image again by its pinned reference.
	inst2 := start(t, nb, runtime.InstanceSpec{ID: "i-2", Artifact: a, LogPath: filepath.Join(t.TempDir(), "i-2.log")})
	waitFor(t, "re-pulled app to serve", func() bool { body, _ := get(inst2.Addr, "/"); return body == "hello from testapp image\n" })
}

func TestCrashAndOOM(t *testing.T) {
	label := uniqueLabel(t)
	cleanup(t, label)
	b := newBackend(t, label)
	a := pull(t, b, pushApp(t, "crash", dockerenv.AppImage(t)))

	t.Run("exits at once", func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "crash.log")
		inst := start(t, b, runtime.InstanceSpec{ID: "crash", Artifact: a, LogPath: logPath, Env: map[string]string{"APP_MODE": "exit"}})
		st := waitEnded(t, b, inst)
		if st.ExitCode != 3 || st.Reason != "exited with code 3" || st.OOMKilled {
			t.Fatalf("Status = %+v", st)
		}
		// Status waited for the last lines: they are there at once.
		es := entries(t, logPath)
		if count(es, "stderr testapp exiting with code 3") != 1 || es[len(es)-1] != "system exited with code 3" {
			t.Fatalf("log:\n%s", strings.Join(es, "\n"))
		}
	})
	t.Run("out of memory", func(t *testing.T) {
		inst := start(t, b, runtime.InstanceSpec{ID: "oom", Artifact: a, LogPath: filepath.Join(t.TempDir(), "oom.log"), Memory: 32, Env: map[string]string{"APP_MODE": "oom"}})
		st := waitEnded(t, b, inst)
		want := runtime.State{ExitCode: -1, Reason: "out of memory (limit 32 MiB)", OOMKilled: true}
		if st != want {
			t.Fatalf("Status = %+v, want %+v", st, want)
		}
	})
	t.Run("killed after grace", func(t *testing.T) {
		inst := start(t, b, runtime.InstanceSpec{ID: "kill", Artifact: a, LogPath: filepath.Join(t.TempDir(), "kill.log"), Env: map[string]string{"APP_IGNORE_TERM": "1"}})
		waitFor(t, "app to serve", func() bool { _, err := get(inst.Addr, "/"); return err == nil })
		if err := b.Stop(t.Context(), inst, time.Second); err != nil {
			t.Fatal(err)
		}
		if st := status(t, b, inst); st.Running || st.Reason != "killed by signal 9" {
			t.Fatalf("Status = %+v", st)
		}
	})
}

func TestStartCommand(t *testing.T) {
	label := uniqueLabel(t)
	cleanup(t, label)
	b := newBackend(t, label)

	entry := dockerenv.AppImage(t)
	entry.Entrypoint, entry.Cmd = []string{"/app", "-mode", "exit"}, nil
	scratch := pull(t, b, pushApp(t, "entrypoint", entry))
	withShell := pull(t, b, pushApp(t, "shell", dockerenv.ShellImage(t)))

	t.Run("plain command replaces the entrypoint", func(t *testing.T) {
		inst := start(t, b, runtime.InstanceSpec{ID: "plain", Artifact: scratch, Command: "/app -version plain", LogPath: filepath.Join(t.TempDir(), "plain.log")})
		waitFor(t, "app to serve", func() bool { body, _ := get(inst.Addr, "/"); return body == "hello from testapp plain\n" })
	})
	t.Run("shell command without a shell", func(t *testing.T) {
		_, err := b.Start(t.Context(), runtime.InstanceSpec{ID: "noshell", Artifact: scratch, Command: "/app -version $HOME"})
		if err == nil || !strings.Contains(err.Error(), "needs a shell") {
			t.Fatalf("Start err = %v, want one about the missing shell", err)
		}
		if list, _ := b.List(t.Context()); len(list) != 1 || list[0].ID != "plain" { // nothing left of noshell
			t.Fatalf("List = %+v", list)
		}
	})
	t.Run("pre-run and shell command", func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "sh.log")
		inst := start(t, b, runtime.InstanceSpec{
			ID: "sh", Artifact: withShell, LogPath: logPath,
			PreRun:  []string{"echo pre-run says $GREETING"},
			Command: "/app -version \"$GREETING\"",
			Env:     map[string]string{"GREETING": "hi"},
		})
		waitFor(t, "app to serve", func() bool { body, _ := get(inst.Addr, "/"); return body == "hello from testapp hi\n" })
		waitFor(t, "pre-run output", func() bool { return count(entries(t, logPath), "stdout pre-run says hi") == 1 })
	})
	t.Run("image command", func(t *testing.T) {
		inst := start(t, b, runtime.InstanceSpec{ID: "default", Artifact: scratch, LogPath: filepath.Join(t.TempDir(), "d.log")})
		if st := waitEnded(t, b, inst); st.ExitCode != 3 {
			t.Fatalf("Status = %+v, want the entrypoint's exit code 3", st)
		}
		// The same ID again replaces the ended container.
		inst2 := start(t, b, runtime.InstanceSpec{ID: "default", Artifact: scratch, Command: "/app", LogPath: filepath.Join(t.TempDir(), "d.log")})
		if inst2.Ref == inst.Ref {
			t.Fatal("restart reused the container")
		}
		waitFor(t, "app to serve", func() bool { _, err := get(inst2.Addr, "/"); return err == nil })
	})
}

func TestBuild(t *testing.T) {
	label := uniqueLabel(t)
	cleanup(t, label)
	b := newBackend(t, label)
	app, err := os.ReadFile(dockerenv.TestApp(t))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Dockerfile in a monorepo directory", func(t *testing.T) {
		repo := t.TempDir()
		dir := filepath.Join(repo, "services", "api")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dockerfile := "FROM scratch\nARG VERSION=none\nENV APP_VERSION=$VERSION\nCOPY app /app\nCMD [\"/app\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app"), app, 0o755); err != nil {
			t.Fatal(err)
		}
		spec := runtime.BuildSpec{Key: "monorepo/" + label, SourceDir: repo, WorkDir: "services/api", Env: map[string]string{"VERSION": "built"}}
		var log bytes.Buffer
		a, err := b.Build(t.Context(), spec, &log)
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, log.String())
		}
		t.Cleanup(func() { b.RemoveArtifact(t.Context(), a) })
		if !strings.Contains(log.String(), "COPY app /app") {
			t.Errorf("build log lacks the steps:\n%s", log.String())
		}
		log.Reset()
		if again, err := b.Build(t.Context(), spec, &log); err != nil || again != a || log.Len() != 0 {
			t.Fatalf("second Build = %+v, %v, log %q; want %+v without building", again, err, log.String(), a)
		}
		inst := start(t, b, runtime.InstanceSpec{ID: "built", Artifact: a, LogPath: filepath.Join(t.TempDir(), "b.log")})
		waitFor(t, "built app to serve", func() bool { body, _ := get(inst.Addr, "/"); return body == "hello from testapp built\n" })
	})
	t.Run("failing Dockerfile", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY missing /missing\n"), 0o644)
		_, err := b.Build(t.Context(), runtime.BuildSpec{Key: "fail-" + label, SourceDir: dir}, io.Discard)
		if !errors.Is(err, runtime.ErrBuildFailed) {
			t.Fatalf("Build err = %v, want ErrBuildFailed", err)
		}
	})
	t.Run("managed runtime on a base image", func(t *testing.T) {
		// A base image with a shell and nothing in /app.
		img := dockerenv.ShellImage(t)
		img.Files = img.Files[1:]
		base := pushApp(t, "base", img)
		cfg := testConfig(t, label)
		cfg.RuntimeImages = map[string]string{"TEST_1": base}
		rb, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rb.Close()
		dir := t.TempDir()
		// Unique content, so that the engine's build cache cannot answer.
		os.WriteFile(filepath.Join(dir, "hello.txt"), []byte(label+"\n"), 0o644)
		var log bytes.Buffer
		a, err := rb.Build(t.Context(), runtime.BuildSpec{
			Key: "rt-" + label, SourceDir: dir, Runtime: "TEST_1",
			Commands: []string{"echo greeting=$GREETING", "test -f hello.txt && echo found-source"},
			Env:      map[string]string{"GREETING": "hi"},
		}, &log)
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, log.String())
		}
		t.Cleanup(func() { rb.RemoveArtifact(t.Context(), a) })
		for _, want := range []string{"greeting=hi", "found-source"} {
			if !strings.Contains(log.String(), want) {
				t.Errorf("build log lacks %q:\n%s", want, log.String())
			}
		}
		_, err = rb.Build(t.Context(), runtime.BuildSpec{Key: "rt2-" + label, SourceDir: dir, Runtime: "NO_SUCH_RUNTIME"}, io.Discard)
		if !errors.Is(err, runtime.ErrToolchainMissing) {
			t.Fatalf("Build with unknown runtime: err = %v, want ErrToolchainMissing", err)
		}
	})
}

func TestStatusOfUnknownContainer(t *testing.T) {
	b := newBackend(t, uniqueLabel(t))
	inst := runtime.Instance{ID: "gone", Backend: Name, Ref: strings.Repeat("0", 64)}
	st, err := b.Status(t.Context(), inst)
	if err != nil || st.Running || st.ExitCode != -1 {
		t.Fatalf("Status = %+v, %v; want not running", st, err)
	}
	if err := b.Stop(t.Context(), inst, time.Second); err != nil {
		t.Fatalf("Stop of unknown container: %v", err)
	}
}

func TestNewWithoutEngine(t *testing.T) {
	_, err := New(Config{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock")}, nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("New err = %v, want ErrUnavailable", err)
	}
}
