package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// hostEnvVars are the only daemon variables an instance inherits: enough to
// find toolchains and behave like a login, and none of Slipway's own secrets.
var hostEnvVars = []string{"PATH", "HOME", "LANG", "TMPDIR", "USER"}

const (
	defaultPortEnv = "PORT"
	// pollInterval is how often Stop checks whether the instance ended.
	pollInterval = 50 * time.Millisecond
	// killWait bounds how long Stop waits for SIGKILL to take effect.
	killWait = 5 * time.Second
)

// Start launches the instance under the shim in a new session, so that it
// survives the daemon and the daemon's signals, and returns once the shim
// process exists.
func (b *Backend) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if err := checkID(spec.ID); err != nil {
		return runtime.Instance{}, err
	}
	if spec.Artifact.Backend != "" && spec.Artifact.Backend != Name {
		return runtime.Instance{}, fmt.Errorf("start %s: artifact of backend %q", spec.ID, spec.Artifact.Backend)
	}
	if strings.TrimSpace(spec.Command) == "" {
		return runtime.Instance{}, fmt.Errorf("start %s: no start command", spec.ID)
	}
	if err := b.checkToolchain(spec.Artifact.Runtime); err != nil {
		return runtime.Instance{}, err
	}
	dir, err := runtime.WorkDir(spec.Artifact.Path, spec.WorkDir)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	shim := b.cfg.ShimPath
	if shim == "" {
		if shim, err = os.Executable(); err != nil {
			return runtime.Instance{}, fmt.Errorf("start %s: find shim: %w", spec.ID, err)
		}
	}
	port, err := runtime.ListenPort(spec, b.cfg.Network != nil)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	logPath := spec.LogPath
	if logPath == "" {
		logPath = filepath.Join(b.cfg.Dir, spec.ID+".log")
	}
	if logPath, err = filepath.Abs(logPath); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	for _, d := range []string{b.cfg.Dir, filepath.Dir(logPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
	}
	// A restarted instance reuses its ID; its old exit must not be reported.
	for _, f := range []string{exitFile(b.cfg.Dir, spec.ID), pidFile(b.cfg.Dir, spec.ID)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
	}

	cmd := exec.Command(shim)
	cmd.Dir = dir
	cmd.Env = instanceEnv(spec, port)
	// Stdin, Stdout and Stderr stay nil, which is /dev/null: the shim writes
	// the logs itself and holds no pipe to the daemon that could break.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	netArgs, err := b.joinNetwork(cmd, spec.ID)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	extra := append(netArgs, b.limitArgs(spec)...)
	cmd.Args = append(cmd.Args, shimArgs(logPath, spec.ID, b.cfg.Dir, extra, script(spec.PreRun, spec.Command))...)
	if err := cmd.Start(); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: run shim: %w", spec.ID, err)
	}
	pid := cmd.Process.Pid
	// The shim cannot be reaped before we wait for it, so its stat exists
	// even if it already ended.
	st, err := readProcStat(pid)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	// From here on the reaper waits for the shim by pid; os/exec must not.
	_ = cmd.Process.Release()
	b.mu.Lock()
	b.children[pid] = struct{}{}
	b.mu.Unlock()

	inst := runtime.Instance{
		ID:        spec.ID,
		Backend:   Name,
		Ref:       ref{pid: pid, starttime: st.starttime}.String(),
		Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		NetNS:     b.netnsPath(pid),
		StartedAt: time.Now().UTC(),
	}
	b.log.Info("instance started", "id", spec.ID, "ref", inst.Ref, "addr", inst.Addr)
	return inst, nil
}

// shimArgs is the shim's command line after ShimPath; RunShim parses it.
func shimArgs(logPath, id, stateDir string, extra []string, script string) []string {
	args := []string{ShimCommand, "--log", logPath, "--id", id, "--state", stateDir}
	args = append(args, extra...)
	return append(args, "--", "sh", "-c", script)
}

// script chains the pre-run commands and the start command. A simple start
// command is exec'd, so the app replaces the shell: it is the one signalled
// process and its exit status is the instance's. A compound one (a list, a
// pipeline, background jobs) runs under the shell, whose status then counts.
func script(preRun []string, command string) string {
	parts := make([]string, 0, len(preRun)+1)
	for _, c := range preRun {
		if strings.TrimSpace(c) != "" {
			parts = append(parts, group(c))
		}
	}
	if simpleCommand(command) {
		parts = append(parts, "exec "+command)
	} else {
		parts = append(parts, group(command))
	}
	return strings.Join(parts, " && ")
}

// group makes c one link of the && chain whatever it holds: braces keep a
// list together without a subshell (so cd and export carry over), and the
// newline ends a trailing comment or background job.
func group(c string) string {
	if simpleCommand(c) {
		return c
	}
	return "{ " + c + "\n}"
}

// simpleCommand reports whether command is safe to prefix with exec. It errs
// towards false, which only costs an extra shell process.
func simpleCommand(command string) bool {
	c := strings.TrimSpace(command)
	return !strings.ContainsAny(c, ";&|\n#`{}") && !strings.HasPrefix(c, "(") && !strings.HasPrefix(c, "exec ")
}

func instanceEnv(spec runtime.InstanceSpec, port int) []string {
	var env []string
	for _, k := range hostEnvVars {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = appendEnv(env, spec.Env)
	portEnv := spec.PortEnv
	if portEnv == "" {
		portEnv = defaultPortEnv
	}
	// Last, so that it wins: the router sends traffic to this port.
	return append(env, portEnv+"="+strconv.Itoa(port))
}

// Status reports whether the instance's shim still runs; once it has ended
// it reads the exit status the shim recorded. It needs only inst, so it
// works for instances a previous daemon started.
func (b *Backend) Status(ctx context.Context, inst runtime.Instance) (runtime.State, error) {
	r, err := parseRef(inst.Ref)
	if err != nil {
		return runtime.State{}, err
	}
	if err := checkID(inst.ID); err != nil {
		return runtime.State{}, err
	}
	b.reap(r)
	_, ok, err := alive(r)
	if err != nil {
		return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
	}
	if ok {
		return runtime.State{Running: true}, nil
	}
	rec, err := readExit(b.cfg.Dir, inst.ID)
	if errors.Is(err, errNoExit) {
		return runtime.State{ExitCode: -1, Reason: "ended (no exit status recorded)"}, nil
	}
	if err != nil {
		return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
	}
	return runtime.State{ExitCode: rec.Code, Reason: rec.Reason, OOMKilled: rec.OOMKilled}, nil
}

// Stop sends SIGTERM to the shim, which passes it to the app's process group
// and records how the app ended. After grace, or when ctx ends, every process
// left in the instance's session is killed.
func (b *Backend) Stop(ctx context.Context, inst runtime.Instance, grace time.Duration) error {
	r, err := parseRef(inst.Ref)
	if err != nil {
		return err
	}
	if err := checkID(inst.ID); err != nil {
		return err
	}
	b.reap(r)
	// The shim removes its instance's control group as it ends; one it
	// could not (it was killed) goes here.
	defer b.removeGroup(inst.ID, r)
	if _, ok, err := alive(r); err != nil || !ok {
		return err
	}
	if err := syscall.Kill(r.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s: %w", inst.ID, err)
	}
	gone := b.waitGone(ctx, r, grace)
	killed := 0
	if !gone {
		// The shim is still alive, so its session number still names this
		// instance; everything in the session goes, grandchildren included.
		killed = signalSession(r.pid, 0, syscall.SIGKILL)
		if !b.waitGone(context.Background(), r, killWait) {
			return fmt.Errorf("stop %s: process %d survived SIGKILL", inst.ID, r.pid)
		}
		if _, err := readExit(b.cfg.Dir, inst.ID); errors.Is(err, errNoExit) {
			rec := signalExit(syscall.SIGKILL)
			rec.Reason += fmt.Sprintf(" after a %s stop grace period", grace)
			if err := writeExit(b.cfg.Dir, inst.ID, rec); err != nil {
				return fmt.Errorf("stop %s: %w", inst.ID, err)
			}
		}
	}
	b.log.Info("instance stopped", "id", inst.ID, "ref", inst.Ref, "graceful", gone, "killed", killed)
	if !gone && ctx.Err() != nil {
		return fmt.Errorf("stop %s: %w", inst.ID, ctx.Err())
	}
	return nil
}

// waitGone polls until r's process ends (true), or d passes or ctx ends (false).
func (b *Backend) waitGone(ctx context.Context, r ref, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		b.reap(r)
		if _, ok, err := alive(r); err == nil && !ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}
