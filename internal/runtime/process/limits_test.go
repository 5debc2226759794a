package process

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/cgroup"
	"github.com/slipwayhq/slipway/internal/runtime"
)

func newLimitedBackend(t *testing.T) *Backend {
	t.Helper()
	if err := cgroup.Available(); err != nil {
		t.Fatalf("cgroups unavailable (the tests need root): %v", err)
	}
	b := New(Config{Dir: t.TempDir(), ShimPath: os.Args[0], Limits: true}, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestMemoryLimitOOM(t *testing.T) {
	b := newLimitedBackend(t)
	logPath := filepath.Join(t.TempDir(), "oom.log")
	inst := start(t, b, runtime.InstanceSpec{
		ID: "oom", Memory: 64, LogPath: logPath,
		Command: `python3 -c 'b = bytearray(256 << 20); import time; time.sleep(30)'`,
	})
	st := waitEnded(t, b, inst)
	if !st.OOMKilled || st.Reason != "out of memory (limit 64 MiB)" {
		t.Fatalf("Status = %+v, want out of memory (limit 64 MiB)", st)
	}
	if !hasEntry(readLog(t, logPath), "oom", "system", "out of memory (limit 64 MiB)") {
		t.Errorf("the instance log does not say out of memory")
	}
	// The shim removed the group as it ended.
	waitFor(t, "the group to be removed", func() bool {
		_, err := cgroup.Load("oom")
		return err != nil
	})
}

func TestCPULimit(t *testing.T) {
	b := newLimitedBackend(t)
	inst := start(t, b, runtime.InstanceSpec{ID: "busy", CPU: 0.25, Command: `while :; do :; done`})
	var g *cgroup.Group
	waitFor(t, "the instance's group", func() bool {
		var err error
		g, err = cgroup.Load("busy")
		return err == nil
	})
	before, err := g.CPUUsage()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(time.Second)
	after, err := g.CPUUsage()
	if err != nil {
		t.Fatal(err)
	}
	share := (after - before).Seconds() / time.Since(t0).Seconds()
	t.Logf("a busy loop with 0.25 vCPU used %.2f CPUs", share)
	if share > 0.35 || share < 0.1 {
		t.Fatalf("a busy loop limited to 0.25 vCPU used %.2f CPUs", share)
	}
	if st := status(t, b, inst); !st.Running {
		t.Fatalf("busy instance ended: %+v", st)
	}
	if err := b.Stop(t.Context(), inst, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := cgroup.Load("busy"); err == nil {
		t.Fatal("the group outlived its instance")
	}
}

// Without limits configured, the shim makes no group.
func TestNoLimitsNoGroup(t *testing.T) {
	b := newBackend(t, t.TempDir())
	inst := start(t, b, runtime.InstanceSpec{ID: "free", CPU: 0.25, Memory: 64, Command: "sleep 5"})
	time.Sleep(200 * time.Millisecond)
	if _, err := cgroup.Load("free"); err == nil {
		t.Fatal("a group exists for an instance of a backend without limits")
	}
	if b.LimitsEnforced() {
		t.Fatal("LimitsEnforced without Limits")
	}
	_ = inst
}
