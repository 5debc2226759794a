package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// markerFile, in a built SourceDir, records which build it holds.
const markerFile = ".slipway-build.json"

type marker struct {
	Key     string    `json:"key"`
	Runtime string    `json:"runtime,omitempty"`
	BuiltAt time.Time `json:"builtAt"`
}

// buildWaitDelay bounds how long a build command's background children may
// keep the log pipe open after the command itself ended.
const buildWaitDelay = 5 * time.Second

// Build runs spec.Commands in place in spec.SourceDir/spec.WorkDir. The
// artifact is the built tree itself.
func (b *Backend) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (runtime.Artifact, error) {
	art := runtime.Artifact{Backend: Name, Key: spec.Key, Path: spec.SourceDir, Runtime: spec.Runtime}
	if spec.SourceDir == "" || spec.Key == "" {
		return runtime.Artifact{}, errors.New("build: spec needs a source directory and a key")
	}
	if err := b.checkToolchain(spec.Runtime); err != nil {
		return runtime.Artifact{}, err
	}
	dir, err := runtime.WorkDir(spec.SourceDir, spec.WorkDir)
	if err != nil {
		return runtime.Artifact{}, err
	}
	if m, err := readMarker(spec.SourceDir); err == nil && m.Key == spec.Key {
		return art, nil
	}
	// Not os.Environ(): the daemon's AWS keys would reach build commands
	// and, through their output, the logs anyone with API access reads.
	env := hostBuildEnv(spec.Env)
	for i, c := range spec.Commands {
		if err := runBuildCommand(ctx, dir, env, c, log); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ctx.Err() == nil {
				return runtime.Artifact{}, fmt.Errorf("%w: build command %d (%q) exited with code %d", runtime.ErrBuildFailed, i+1, c, ee.ExitCode())
			}
			if ctx.Err() != nil {
				return runtime.Artifact{}, fmt.Errorf("build command %d (%q): %w", i+1, c, ctx.Err())
			}
			return runtime.Artifact{}, fmt.Errorf("%w: build command %d (%q): %w", runtime.ErrBuildFailed, i+1, c, err)
		}
	}
	if err := writeMarker(spec.SourceDir, marker{Key: spec.Key, Runtime: spec.Runtime, BuiltAt: time.Now().UTC()}); err != nil {
		return runtime.Artifact{}, err
	}
	b.log.Debug("built", "key", spec.Key, "dir", dir, "commands", len(spec.Commands))
	return art, nil
}

func runBuildCommand(ctx context.Context, dir string, env []string, command string, log io.Writer) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so cancelling kills what the command started
	// too, not only sh.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = buildWaitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The command succeeded; something it left behind held the log open.
		return nil
	}
	return err
}

// checkToolchain fails with runtime.ErrToolchainMissing when the host lacks
// the command runtime rt needs. An empty runtime needs nothing.
func (b *Backend) checkToolchain(rt string) error {
	if rt == "" {
		return nil
	}
	cmd, ok := b.cfg.Toolchains[rt]
	if !ok {
		return fmt.Errorf("%w: runtime %s is not supported by the process backend", runtime.ErrToolchainMissing, rt)
	}
	if _, err := exec.LookPath(cmd); err != nil {
		return fmt.Errorf("%w: runtime %s needs %q on the host PATH, but it was not found", runtime.ErrToolchainMissing, rt, cmd)
	}
	return nil
}

// appendEnv appends vars to env in sorted order; later entries win in exec.
func appendEnv(env []string, vars map[string]string) []string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}

func readMarker(dir string) (marker, error) {
	var m marker
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func writeMarker(dir string, m marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, markerFile), b); err != nil {
		return fmt.Errorf("record build: %w", err)
	}
	return nil
}

// writeFileAtomic writes b to path through a rename, so that readers never
// see half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ArtifactExists reports whether the built tree is still in place.
func (b *Backend) ArtifactExists(ctx context.Context, a runtime.Artifact) (bool, error) {
	if a.Path == "" {
		return false, nil
	}
	fi, err := os.Stat(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("artifact %s: %w", a.Key, err)
	}
	return fi.IsDir(), nil
}

var _ runtime.ArtifactChecker = (*Backend)(nil)

// RemoveArtifact deletes the built tree.
func (b *Backend) RemoveArtifact(ctx context.Context, a runtime.Artifact) error {
	p := filepath.Clean(a.Path)
	if a.Path == "" || p == "/" || p == "." {
		return fmt.Errorf("remove artifact: refusing to remove %q", a.Path)
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove artifact: %w", err)
	}
	return nil
}
