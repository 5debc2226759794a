package cgroup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// TestV2Resources checks the files a v2 host gets, which this v1 machine
// cannot show for real.
func TestV2Resources(t *testing.T) {
	tests := []struct {
		name              string
		l                 Limits
		swap              bool
		wantCPU           string // cpu.max; "" for none
		wantMax, wantSwap int64  // memory.max, memory.swap.max; -1 for none
	}{
		{"quarter vCPU, 512 MiB", Limits{CPU: 0.25, MemoryMiB: 512}, true, "25000 100000", 512 << 20, 0},
		{"4 vCPUs", Limits{CPU: 4}, true, "400000 100000", -1, -1},
		{"no swap accounting", Limits{MemoryMiB: 64}, false, "", 64 << 20, -1},
		{"tiny quota is the kernel's 1 ms", Limits{CPU: 0.001}, true, "1000 100000", -1, -1},
		{"none", Limits{}, true, "", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := v2Resources(tt.l, tt.swap)
			cpu := ""
			if r.CPU != nil {
				cpu = string(r.CPU.Max)
			}
			if cpu != tt.wantCPU {
				t.Errorf("cpu.max = %q, want %q", cpu, tt.wantCPU)
			}
			gotMax, gotSwap := int64(-1), int64(-1)
			if r.Memory != nil && r.Memory.Max != nil {
				gotMax = *r.Memory.Max
			}
			if r.Memory != nil && r.Memory.Swap != nil {
				gotSwap = *r.Memory.Swap
			}
			if gotMax != tt.wantMax || gotSwap != tt.wantSwap {
				t.Errorf("memory.max %d, memory.swap.max %d; want %d, %d", gotMax, gotSwap, tt.wantMax, tt.wantSwap)
			}
		})
	}
}

func TestV1Resources(t *testing.T) {
	tests := []struct {
		name         string
		l            Limits
		memsw        bool
		wantQuota    int64 // -1 for none
		wantLimit    int64 // memory.limit_in_bytes; -1 for none
		wantMemsw    int64 // memory.memsw.limit_in_bytes; -1 for none
		wantNoSwappy bool  // memory.swappiness 0
	}{
		{"2 vCPUs, 64 MiB with memsw", Limits{CPU: 2, MemoryMiB: 64}, true, 200000, 64 << 20, 64 << 20, true},
		{"64 MiB without memsw", Limits{MemoryMiB: 64}, false, -1, 64 << 20, -1, true},
		{"quarter vCPU", Limits{CPU: 0.25}, true, 25000, -1, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := v1Resources(tt.l, tt.memsw)
			q := int64(-1)
			if r.CPU != nil {
				q = *r.CPU.Quota
				if *r.CPU.Period != cpuPeriod {
					t.Errorf("cfs_period_us = %d, want %d", *r.CPU.Period, cpuPeriod)
				}
			}
			if q != tt.wantQuota {
				t.Errorf("cfs_quota_us = %d, want %d", q, tt.wantQuota)
			}
			limit, memsw, noSwappy := int64(-1), int64(-1), false
			if m := r.Memory; m != nil {
				limit = *m.Limit
				if m.Swap != nil {
					memsw = *m.Swap
				}
				noSwappy = m.Swappiness != nil && *m.Swappiness == 0
			}
			if limit != tt.wantLimit || memsw != tt.wantMemsw || noSwappy != tt.wantNoSwappy {
				t.Errorf("limit %d, memsw %d, swappiness 0 %v; want %d, %d, %v", limit, memsw, noSwappy, tt.wantLimit, tt.wantMemsw, tt.wantNoSwappy)
			}
		})
	}
}

func TestGroupPath(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"abc-123", "/slipway/abc-123", true},
		{"", "", false},
		{".", "", false},
		{"..", "", false},
		{"a/b", "", false},
	}
	for _, tt := range tests {
		got, err := groupPath(tt.name)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("groupPath(%q) = %q, %v; want %q (ok %v)", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

type subsystem cgroup1.Name

func (s subsystem) Name() cgroup1.Name { return cgroup1.Name(s) }

func TestMissingV1(t *testing.T) {
	all := []cgroup1.Subsystem{subsystem(cgroup1.Cpu), subsystem(cgroup1.Cpuacct), subsystem(cgroup1.Memory)}
	cpuOnly := []cgroup1.Subsystem{subsystem(cgroup1.Cpu)}
	tests := []struct {
		l      Limits
		active []cgroup1.Subsystem
		want   string
	}{
		{Limits{CPU: 1, MemoryMiB: 64}, all, ""},
		{Limits{CPU: 1, MemoryMiB: 64}, cpuOnly, "memory"},
		{Limits{CPU: 1}, cpuOnly, ""},
		{Limits{MemoryMiB: 64}, nil, "memory"},
		{Limits{CPU: 1}, nil, "cpu"},
	}
	for _, tt := range tests {
		if got := missingV1(tt.l, tt.active); got != tt.want {
			t.Errorf("missingV1(%+v, %d active) = %q, want %q", tt.l, len(tt.active), got, tt.want)
		}
	}
}

// inGroup starts sh -c script in a new group with limits l: the script
// waits on stdin until the process is in the group.
func inGroup(t *testing.T, l Limits, script string) (*Group, *exec.Cmd) {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatalf("cgroups unavailable (the tests need root): %v", err)
	}
	g, err := Create(testName(t), l)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "read go; "+script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Kill()
		cmd.Process.Kill()
		cmd.Wait()
		if err := g.Delete(); err != nil {
			t.Error(err)
		}
	})
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "go\n")
	stdin.Close()
	return g, cmd
}

var testSeq int

// testName is a group name unique to this test run.
func testName(t *testing.T) string {
	testSeq++
	return "test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.Itoa(syscall.Getpid()) + "-" + strconv.Itoa(testSeq)
}

func TestMemoryLimitKills(t *testing.T) {
	g, cmd := inGroup(t, Limits{MemoryMiB: 64},
		`exec python3 -c 'b = bytearray(256 << 20); import time; time.sleep(30)'`)
	err := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("256 MiB under a 64 MiB limit: %v (%v), want killed", err, cmd.ProcessState)
	}
	n, err := g.OOMKills()
	if err != nil || n == 0 {
		t.Fatalf("OOMKills = %d, %v; want at least 1", n, err)
	}
}

// Within its limit, an app is not killed and the group counts no kill.
func TestMemoryWithinLimit(t *testing.T) {
	g, cmd := inGroup(t, Limits{MemoryMiB: 128},
		`exec python3 -c 'b = bytearray(32 << 20)'`)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("32 MiB under a 128 MiB limit: %v", err)
	}
	if n, err := g.OOMKills(); err != nil || n != 0 {
		t.Fatalf("OOMKills = %d, %v; want 0", n, err)
	}
}

// TestCPUQuota runs two busy loops side by side, one limited to 0.25 vCPU
// and one unlimited. The machine is shared: when other work leaves the
// unlimited loop less than most of a CPU, "it uses more" says nothing, but
// the limited loop's throttling still shows the quota at work.
func TestCPUQuota(t *testing.T) {
	busy := `while :; do :; done`
	limited, _ := inGroup(t, Limits{CPU: 0.25}, busy)
	free, _ := inGroup(t, Limits{}, busy)
	time.Sleep(200 * time.Millisecond) // past the first period's burst
	use := func(g *Group) CPUUse {
		u, err := g.CPU()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	l0, f0, start := use(limited), use(free), time.Now()
	time.Sleep(time.Second)
	l1, f1, wall := use(limited), use(free), time.Since(start).Seconds()
	share, freeShare := (l1.Time-l0.Time).Seconds()/wall, (f1.Time-f0.Time).Seconds()/wall
	t.Logf("busy loops over %.2fs: 0.25 vCPU used %.2f CPUs (throttled in %d periods), unlimited %.2f (%d)",
		wall, share, l1.Throttled-l0.Throttled, freeShare, f1.Throttled-f0.Throttled)
	if share > 0.4 || share < 0.05 {
		t.Errorf("a busy loop limited to 0.25 vCPU used %.2f CPUs, want about 0.25", share)
	}
	if l1.Throttled == l0.Throttled {
		t.Errorf("the quota never throttled the limited busy loop")
	}
	if f1.Throttled != 0 {
		t.Errorf("the unlimited busy loop was throttled %d times", f1.Throttled)
	}
	if freeShare >= 0.6 && freeShare < 1.5*share {
		t.Errorf("the unlimited busy loop used %.2f CPUs, not clearly more than the limited one's %.2f", freeShare, share)
	}
}

// Kill ends everything in the group, children in other process groups
// included, so that Delete can remove it.
func TestKillAndNames(t *testing.T) {
	g, cmd := inGroup(t, Limits{MemoryMiB: 64}, `setsid sleep 60 & sleep 60 & wait`)
	name := strings.TrimPrefix(g.Path(), Parent+"/")
	names, err := Names()
	if err != nil || !slices.Contains(names, name) {
		t.Fatalf("Names() = %v, %v; want it to hold %s", names, err, name)
	}
	time.Sleep(100 * time.Millisecond) // the sleeps started
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the group's shell survived Kill")
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete after Kill: %v", err)
	}
	if _, err := Load(name); err == nil {
		t.Fatal("Load found the deleted group")
	}
	if names, _ := Names(); slices.Contains(names, name) {
		t.Fatalf("Names() = %v still holds %s", names, name)
	}
}

// TestMain lets the test binary be the probe TestUnavailableSaysWhy runs as
// an unprivileged user.
func TestMain(m *testing.M) {
	if os.Getenv("SLIPWAY_CGROUP_PROBE") == "1" {
		if err := Available(); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Where groups cannot be made, Available says why; for a user other than
// root that is a permission error from the cgroup filesystem.
func TestUnavailableSaysWhy(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test needs root, to run the probe as nobody")
	}
	// The test binary's own directory is root's alone: nobody runs a copy.
	dir, err := os.MkdirTemp("", "slipway-cgroup-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	probe := filepath.Join(dir, "probe")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.WriteFile(probe, self, 0o755), os.Chmod(dir, 0o755)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(probe)
	cmd.Env = append(os.Environ(), "SLIPWAY_CGROUP_PROBE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("Available() as nobody: %v (output %q), want it to fail", err, out)
	}
	if !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), Parent) {
		t.Fatalf("Available() as nobody says %q, want the group and permission denied", out)
	}
}
