package cgroup

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Parent is the group under which every instance's group is made, at the
// root of each hierarchy.
const Parent = "/slipway"

// cpuPeriod is the CFS period the CPU quota is a share of (100 ms).
const cpuPeriod = 100000

// unifiedRoot is where the v2 hierarchy is mounted on a unified host.
const unifiedRoot = "/sys/fs/cgroup"

// ErrController means a controller a limit needs is not available to
// Slipway's groups, so the limit could not be enforced.
var ErrController = errors.New("controller not available")

// Limits are an instance's InstanceConfiguration in units the kernel takes.
// Zero fields set no limit.
type Limits struct {
	CPU       float64 // vCPUs: 0.25 is a quarter of one CPU's time
	MemoryMiB int
}

// Group is one instance's control group.
type Group struct {
	path string // below the hierarchy root, e.g. /slipway/<name>
	v1   cgroup1.Cgroup
	v2   *cgroup2.Manager
}

// Path is the group's path below the hierarchy root.
func (g *Group) Path() string { return g.path }

// unified says whether the host's controllers are on cgroup v2. A hybrid
// host (v1 controllers, an empty v2 hierarchy beside them) counts as v1.
func unified() bool { return cgroups.Mode() == cgroups.Unified }

// groupPath names an instance's group.
func groupPath(name string) (string, error) {
	if name == "" || name != path.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("cgroup: invalid group name %q", name)
	}
	return path.Join(Parent, name), nil
}

// Create makes the group name with limits l. A group of that name left
// behind keeps its limits replaced but also its counters, so callers that
// read OOMKills remove it first.
func Create(name string, l Limits) (*Group, error) {
	p, err := groupPath(name)
	if err != nil {
		return nil, err
	}
	if unified() {
		m, err := cgroup2.NewManager(unifiedRoot, p, v2Resources(l, false))
		if err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", p, err)
		}
		// memory.swap.max exists only where the kernel accounts swap; there
		// is no swap to forbid where it does not.
		if l.MemoryMiB > 0 && exists(filepath.Join(unifiedRoot, p, "memory.swap.max")) {
			if err := m.Update(&cgroup2.Resources{Memory: v2Resources(l, true).Memory}); err != nil {
				m.Delete()
				return nil, fmt.Errorf("cgroup %s: %w", p, err)
			}
		}
		return &Group{path: p, v2: m}, nil
	}
	c, err := cgroup1.New(cgroup1.StaticPath(p), v1Resources(l, swapAccounting()), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", p, err)
	}
	// cgroup1.New skips controllers that are not mounted: a limit on one
	// would silently not hold.
	if missing := missingV1(l, c.Subsystems()); missing != "" {
		c.Delete()
		return nil, fmt.Errorf("cgroup %s: %s: %w", p, missing, ErrController)
	}
	return &Group{path: p, v1: c}, nil
}

// missingV1 names the v1 controller l needs that active lacks, if any.
func missingV1(l Limits, active []cgroup1.Subsystem) string {
	has := func(n cgroup1.Name) bool {
		return slices.ContainsFunc(active, func(s cgroup1.Subsystem) bool { return s.Name() == n })
	}
	switch {
	case l.CPU > 0 && !has(cgroup1.Cpu):
		return string(cgroup1.Cpu)
	case l.MemoryMiB > 0 && !has(cgroup1.Memory):
		return string(cgroup1.Memory)
	}
	return ""
}

// Load opens the existing group name.
func Load(name string) (*Group, error) {
	p, err := groupPath(name)
	if err != nil {
		return nil, err
	}
	if unified() {
		m, err := cgroup2.Load(p)
		if err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", p, err)
		}
		return &Group{path: p, v2: m}, nil
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(p), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", p, err)
	}
	return &Group{path: p, v1: c}, nil
}

// AddProc moves process pid (and the threads of it) into the group; what it
// starts afterwards is born there.
func (g *Group) AddProc(pid int) error {
	var err error
	if g.v2 != nil {
		err = g.v2.AddProc(uint64(pid))
	} else {
		err = g.v1.Add(cgroup1.Process{Pid: pid})
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: add process %d: %w", g.path, pid, err)
	}
	return nil
}

// OOMKills is how many processes of the group the kernel killed for
// running out of the group's memory.
func (g *Group) OOMKills() (uint64, error) {
	if g.v2 != nil {
		st, err := g.v2.Stat()
		if err != nil {
			return 0, fmt.Errorf("cgroup %s: %w", g.path, err)
		}
		if st.MemoryEvents == nil {
			return 0, nil
		}
		return st.MemoryEvents.OomKill, nil
	}
	st, err := g.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", g.path, err)
	}
	if st.MemoryOomControl == nil {
		return 0, nil
	}
	return st.MemoryOomControl.OomKill, nil
}

// CPUUse is what a group's processes took of the CPU.
type CPUUse struct {
	Time time.Duration
	// Throttled counts the CFS periods in which the group had used its
	// quota and had to wait: the limit at work.
	Throttled uint64
}

// CPU is the CPU time the group's processes have used, and how often
// their quota held them back.
func (g *Group) CPU() (CPUUse, error) {
	if g.v2 != nil {
		st, err := g.v2.Stat()
		if err != nil || st.CPU == nil {
			return CPUUse{}, fmt.Errorf("cgroup %s: cpu usage: %w", g.path, err)
		}
		return CPUUse{Time: time.Duration(st.CPU.UsageUsec) * time.Microsecond, Throttled: st.CPU.NrThrottled}, nil
	}
	st, err := g.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil || st.CPU == nil || st.CPU.Usage == nil {
		return CPUUse{}, fmt.Errorf("cgroup %s: cpu usage: %w", g.path, err)
	}
	u := CPUUse{Time: time.Duration(st.CPU.Usage.Total)}
	if st.CPU.Throttling != nil {
		u.Throttled = st.CPU.Throttling.ThrottledPeriods
	}
	return u, nil
}

// Kill sends SIGKILL to every process in the group: what an instance left
// behind when its shim was killed. It does not wait for them to go; Delete
// does.
func (g *Group) Kill() error {
	if g.v2 != nil {
		if err := g.v2.Kill(); err != nil {
			return fmt.Errorf("cgroup %s: kill: %w", g.path, err)
		}
		return nil
	}
	// Without a freezer in the hierarchy a process may fork while we kill;
	// a few rounds catch its children.
	for range 10 {
		pids := map[int]bool{}
		for _, s := range g.v1.Subsystems() {
			procs, err := g.v1.Processes(s.Name(), true)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("cgroup %s: kill: %w", g.path, err)
			}
			for _, p := range procs {
				pids[p.Pid] = true
			}
		}
		if len(pids) == 0 {
			return nil
		}
		for pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Delete removes the group, which must have no processes left. Processes
// that were just killed may take a moment to leave it, so Delete retries
// for up to a second. A group already gone is no error.
func (g *Group) Delete() error {
	var err error
	for range 20 {
		if g.v2 != nil {
			err = g.v2.Delete()
		} else {
			err = g.v1.Delete()
		}
		if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, cgroup1.ErrCgroupDeleted) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cgroup %s: delete: %w", g.path, err)
}

// Names lists the groups under Parent, in any of the hierarchies Slipway
// uses, so that groups whose owners died can be found.
func Names() ([]string, error) {
	var dirs []string
	if unified() {
		dirs = []string{filepath.Join(unifiedRoot, Parent)}
	} else {
		subs, err := v1Hierarchy()
		if err != nil {
			return nil, fmt.Errorf("cgroup: list: %w", err)
		}
		for _, s := range subs {
			if p, ok := s.(interface{ Path(string) string }); ok {
				dirs = append(dirs, p.Path(Parent))
			}
		}
	}
	var names []string
	for _, d := range dirs {
		des, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroup: list: %w", err)
		}
		for _, de := range des {
			if de.IsDir() && !slices.Contains(names, de.Name()) {
				names = append(names, de.Name())
			}
		}
	}
	return names, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// v1Hierarchy limits v1 groups to the controllers limits need, so that
// creating one never has to initialise cpuset or devices groups.
func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, err
	}
	var out []cgroup1.Subsystem
	for _, s := range all {
		switch s.Name() {
		case cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Memory:
			out = append(out, s)
		}
	}
	return out, nil
}

// swapAccounting says whether v1's memory controller can limit memory plus
// swap (memory.memsw.*), which needs the kernel's swap accounting.
func swapAccounting() bool {
	return exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
}

// v1Resources is l for cgroup v1. Memory plus swap is limited to the memory
// limit where the kernel can, so that running out is an OOM kill and not a
// slow crawl through swap; swappiness 0 keeps the group's pages out of swap
// where it cannot.
func v1Resources(l Limits, memsw bool) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if q, ok := quota(l.CPU); ok {
		period := uint64(cpuPeriod)
		r.CPU = &specs.LinuxCPU{Quota: &q, Period: &period}
	}
	if l.MemoryMiB > 0 {
		b := int64(l.MemoryMiB) << 20
		noSwap := uint64(0)
		r.Memory = &specs.LinuxMemory{Limit: &b, Swappiness: &noSwap}
		if memsw {
			r.Memory.Swap = &b
		}
	}
	return r
}

// v2Resources is l for cgroup v2: cpu.max "QUOTA 100000", memory.max and,
// where the kernel accounts swap, no swap at all (memory.swap.max 0).
func v2Resources(l Limits, swap bool) *cgroup2.Resources {
	r := &cgroup2.Resources{}
	if q, ok := quota(l.CPU); ok {
		period := uint64(cpuPeriod)
		r.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&q, &period)}
	}
	if l.MemoryMiB > 0 {
		b := int64(l.MemoryMiB) << 20
		r.Memory = &cgroup2.Memory{Max: &b}
		if swap {
			zero := int64(0)
			r.Memory.Swap = &zero
		}
	}
	return r
}

// quota is cpu vCPUs as a CFS quota per cpuPeriod; the kernel takes no
// less than 1 ms.
func quota(cpu float64) (int64, bool) {
	if cpu <= 0 {
		return 0, false
	}
	return max(int64(math.Round(cpu*cpuPeriod)), 1000), true
}

// Available says why limits cannot be enforced here, or returns nil: it
// makes and removes a probe group with both limits.
func Available() error {
	g, err := Create("probe-"+strconv.Itoa(os.Getpid()), Limits{CPU: 1, MemoryMiB: 64})
	if err != nil {
		return err
	}
	return g.Delete()
}

// Of is the group process pid is in now (in the hierarchies Slipway uses),
// to go back to before a group is deleted.
func Of(pid int) (*Group, error) {
	if unified() {
		p, err := cgroup2.PidGroupPath(pid)
		if err != nil {
			return nil, fmt.Errorf("cgroup of %d: %w", pid, err)
		}
		m, err := cgroup2.Load(p)
		if err != nil {
			return nil, fmt.Errorf("cgroup of %d: %w", pid, err)
		}
		return &Group{path: p, v2: m}, nil
	}
	c, err := cgroup1.Load(cgroup1.PidPath(pid), cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("cgroup of %d: %w", pid, err)
	}
	return &Group{path: "(of " + strconv.Itoa(pid) + ")", v1: c}, nil
}
