package cgroup

import (
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
)

func TestResources(t *testing.T) {
	v2 := v2Resources(Limits{CPU: 0.25, MemoryMiB: 512})
	if got := string(v2.CPU.Max); got != "25000 100000" {
		t.Errorf("v2 cpu.max = %q, want 25000 100000", got)
	}
	if *v2.Memory.Max != 512<<20 || *v2.Memory.Swap != 0 {
		t.Errorf("v2 memory.max %d swap.max %d, want 512 MiB and 0", *v2.Memory.Max, *v2.Memory.Swap)
	}
	if r := v2Resources(Limits{}); r.CPU != nil || r.Memory != nil {
		t.Errorf("v2 of no limits = %+v, want none", r)
	}
	if got := (&cgroup2.Resources{CPU: &cgroup2.CPU{Max: cgroup2.NewCPUMax(ptr(int64(200000)), ptr(uint64(100000)))}}).CPU.Max; got != "200000 100000" {
		t.Errorf("2 vCPUs: %q", got)
	}

	v1 := v1Resources(Limits{CPU: 2, MemoryMiB: 64}, true)
	if *v1.CPU.Quota != 200000 || *v1.CPU.Period != 100000 {
		t.Errorf("v1 cfs quota %d period %d, want 200000 100000", *v1.CPU.Quota, *v1.CPU.Period)
	}
	if *v1.Memory.Limit != 64<<20 || v1.Memory.Swap == nil || *v1.Memory.Swap != 64<<20 {
		t.Errorf("v1 memory %+v, want limit and memsw 64 MiB", v1.Memory)
	}
	if v1 := v1Resources(Limits{MemoryMiB: 64}, false); v1.Memory.Swap != nil || v1.CPU != nil {
		t.Errorf("v1 without swap accounting: %+v", v1)
	}
	for _, bad := range []string{"", ".", "..", "a/b"} {
		if _, err := groupPath(bad); err == nil {
			t.Errorf("groupPath(%q) accepted", bad)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// inGroup starts sh -c script in a new group with limits l: the script
// waits on stdin until the process is in the group.
func inGroup(t *testing.T, l Limits, script string) (*Group, *exec.Cmd) {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatalf("cgroups unavailable (the tests need root): %v", err)
	}
	g, err := Create(strings.ReplaceAll(t.Name(), "/", "-")+"-"+strconv.Itoa(int(time.Now().UnixNano()%1e6)), l)
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

func TestCPUQuota(t *testing.T) {
	busy := `end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do :; done`
	limited, cmd := inGroup(t, Limits{CPU: 0.25}, busy)
	free, cmd2 := inGroup(t, Limits{}, busy)
	start := time.Now()
	cmd.Wait()
	cmd2.Wait()
	wall := time.Since(start)
	used, err := limited.CPUUsage()
	if err != nil {
		t.Fatal(err)
	}
	unlimited, err := free.CPUUsage()
	if err != nil {
		t.Fatal(err)
	}
	share := used.Seconds() / wall.Seconds()
	t.Logf("0.25 vCPU: %s of CPU in %s (%.2f); unlimited: %s", used, wall, share, unlimited)
	if share > 0.35 || share < 0.1 {
		t.Fatalf("a busy loop limited to 0.25 vCPU used %.2f CPUs", share)
	}
	if unlimited < 2*used {
		t.Fatalf("the unlimited busy loop used %s, not clearly more than the limited one's %s", unlimited, used)
	}
}
