package docker

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// TestManagedRuntimeOnDebianBaseImage builds an unmodified Python app on
// the PYTHON_3 base image Slipway makes from Debian packages (made once per
// engine: dockerenv.BaseImage builds it, or finds it, before the backend
// asks), runs it, and warns about versions Debian does not have.
func TestManagedRuntimeOnDebianBaseImage(t *testing.T) {
	img, _, _ := dockerenv.BaseImage(t, "PYTHON_3")
	label := uniqueLabel(t)
	cleanup(t, label)
	b := newBackend(t, label)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(testenv.PyApp), 0o644)
	// Unique content, so that the engine's build cache cannot answer.
	os.WriteFile(filepath.Join(dir, "version.txt"), []byte("debian-"+label+"\n"), 0o644)
	spec := runtime.BuildSpec{
		Key: "py-" + label, SourceDir: dir, Runtime: "PYTHON_3",
		// A virtual environment and pip, as build commands use them.
		Commands: []string{"python3 -m venv /tmp/venv && /tmp/venv/bin/pip --version && pip --version && echo built-with-$(python3 --version | tr ' ' -)"},
	}
	if w := b.ToolchainMismatch(t.Context(), spec); w != "" {
		t.Errorf("ToolchainMismatch(PYTHON_3) = %q, want none (Debian has Python 3.11)", w)
	}
	var log bytes.Buffer
	a, err := b.Build(t.Context(), spec, &log)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, log.String())
	}
	t.Cleanup(func() { b.RemoveArtifact(t.Context(), a) })
	for _, want := range []string{"building on the PYTHON_3 base image " + img.Ref, "built-with-Python-3.11"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("build log lacks %q:\n%s", want, log.String())
		}
	}
	inst := start(t, b, runtime.InstanceSpec{ID: "py", Artifact: a, Command: "python3 app.py",
		Env: map[string]string{"GREETING": "hi"}, LogPath: filepath.Join(t.TempDir(), "py.log")})
	waitFor(t, "the Python app to serve", func() bool {
		body, _ := get(inst.Addr, "/")
		return strings.HasPrefix(body, "app debian-"+label+" hi pid=")
	})

	for _, tc := range []struct{ rt, version, want string }{
		{"NODEJS_22", "", "runtime NODEJS_22 asks for Node.js 22, Slipway's Debian bookworm base image has Node.js 18"},
		{"PYTHON_3", "3.8.16", "asks for Python 3.8"},
		{"GO_1", "", ""},
	} {
		if got := b.ToolchainMismatch(t.Context(), runtime.BuildSpec{Runtime: tc.rt, RuntimeVersion: tc.version, SourceDir: dir}); !strings.Contains(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("ToolchainMismatch(%s, %q) = %q, want %q", tc.rt, tc.version, got, tc.want)
		}
	}
	// An image of the user's is the user's choice: no warning.
	cfg := testConfig(t, label)
	cfg.RuntimeImages = map[string]string{"NODEJS_22": "example.invalid/node:22"}
	ob, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if got := ob.ToolchainMismatch(t.Context(), runtime.BuildSpec{Runtime: "NODEJS_22", SourceDir: dir}); got != "" {
		t.Errorf("ToolchainMismatch with --runtime-image = %q, want none", got)
	}
}
