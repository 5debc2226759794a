package process

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/slipwayhq/slipway/internal/cgroup"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// limitArgs are the shim's flags for spec's limits, none when the backend
// does not enforce limits or spec sets none.
func (b *Backend) limitArgs(spec runtime.InstanceSpec) []string {
	if !b.cfg.Limits || (spec.CPU <= 0 && spec.Memory <= 0) {
		return nil
	}
	return []string{"--cgroup", spec.ID,
		"--cpu", strconv.FormatFloat(spec.CPU, 'f', -1, 64),
		"--memory", strconv.Itoa(spec.Memory)}
}

// LimitsEnforced says whether instances' Cpu and Memory are enforced; the
// engine warns in the operation log when they are not.
func (b *Backend) LimitsEnforced() bool { return b.cfg.Limits }

// removeGroup removes the group of instance id when its shim r could not:
// the shim was killed, maybe leaving the app running in the group without
// it. What is left in the group dies first, as the rest of an ended
// instance does. There is no group when limits are off or the shim removed
// it.
func (b *Backend) removeGroup(id string, r ref) {
	if !b.cfg.Limits {
		return
	}
	if _, ok, err := alive(r); err != nil || ok {
		return // the shim's own to remove
	}
	g, err := cgroup.Load(id)
	if err != nil {
		return
	}
	if err := errors.Join(g.Kill(), g.Delete()); err != nil {
		b.log.Warn("stale cgroup left behind", "id", id, "err", err)
	}
}

// removeStaleGroups removes the groups of this backend's instances whose
// shims are gone (killed while the daemon was down), so that none is left
// for good when no service owns the instance any more.
func (b *Backend) removeStaleGroups() {
	names, err := cgroup.Names()
	if err != nil {
		b.log.Warn("list cgroups", "err", err)
		return
	}
	removed := 0
	for _, id := range names {
		data, err := os.ReadFile(pidFile(b.cfg.Dir, id))
		if err != nil {
			continue // not an instance of this backend
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 1 {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.state != 'Z' && isShimOf(pid, id) {
			continue // running
		}
		g, err := cgroup.Load(id)
		if err != nil {
			continue
		}
		if err := errors.Join(g.Kill(), g.Delete()); err != nil {
			b.log.Warn("stale cgroup left behind", "id", id, "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		b.log.Info("removed the cgroups of instances whose shims were killed", "count", removed)
	}
}

// shimLimits is the shim's limit flags and the group it runs the app in.
type shimLimits struct {
	name   string
	cpu    float64
	memory int

	group *cgroup.Group
	home  *cgroup.Group // the shim's group before it joined
}

func (l *shimLimits) register(fs *flag.FlagSet) {
	fs.StringVar(&l.name, "cgroup", "", "run the app in the control group `name` (under /slipway) with the limits below")
	fs.Float64Var(&l.cpu, "cpu", 0, "CPU limit in `vCPUs` (0: none)")
	fs.IntVar(&l.memory, "memory", 0, "memory limit in `MiB`, no swap beyond it (0: none)")
}

// join creates the group and moves the shim into it, so that the app is
// born there: nothing it allocates escapes the limit. The shim's own few
// MiB count against the limit too. A group of the same name left by an
// earlier run of this instance (its shim was killed) goes first, with
// whatever still runs in it: its out-of-memory count is not this run's.
func (l *shimLimits) join() error {
	if l.name == "" {
		return nil
	}
	home, err := cgroup.Of(os.Getpid())
	if err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if old, err := cgroup.Load(l.name); err == nil {
		if err := errors.Join(old.Kill(), old.Delete()); err != nil {
			return fmt.Errorf("limits: %w", err)
		}
	}
	g, err := cgroup.Create(l.name, cgroup.Limits{CPU: l.cpu, MemoryMiB: l.memory})
	if err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if err := g.AddProc(os.Getpid()); err != nil {
		g.Delete()
		return fmt.Errorf("limits: %w", err)
	}
	l.group, l.home = g, home
	return nil
}

// started runs once the app runs: the shim makes itself the last process
// the out-of-memory killer would pick, so that it survives to say why the
// app died. The app forked before this and keeps the default score.
func (l *shimLimits) started() {
	if l.group != nil {
		_ = os.WriteFile("/proc/self/oom_score_adj", []byte("-1000"), 0)
	}
}

// verdict says that an app that failed ran out of memory when the kernel
// killed one of its processes for the group's limit: the app itself (killed
// by SIGKILL), or a process under the shell that ran it (which then exits
// 137) or that it started.
func (l *shimLimits) verdict(rec exitRecord, sig syscall.Signal) exitRecord {
	if l.group == nil || (sig == 0 && rec.Code == 0) {
		return rec
	}
	if n, err := l.group.OOMKills(); err == nil && n > 0 {
		rec.Reason = "out of memory"
		if l.memory > 0 {
			rec.Reason = fmt.Sprintf("out of memory (limit %d MiB)", l.memory)
		}
		rec.OOMKilled = true
	}
	return rec
}

// leave moves the shim back to its own group and deletes the app's, once
// nothing of the app is left.
func (l *shimLimits) leave() {
	if l.group == nil {
		return
	}
	if err := l.home.AddProc(os.Getpid()); err != nil {
		return
	}
	_ = l.group.Delete()
}

// startWith wraps start to call started after the app started.
func (l *shimLimits) startWith(start func(*exec.Cmd) error) func(*exec.Cmd) error {
	return func(cmd *exec.Cmd) error {
		err := start(cmd)
		if err == nil {
			l.started()
		}
		return err
	}
}
