package process

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/cgroup"
	"github.com/slipwayhq/slipway/internal/runtime"
)

func newLimitedBackend(t *testing.T, dir string) *Backend {
	t.Helper()
	if err := cgroup.Available(); err != nil {
		t.Fatalf("cgroups unavailable (the tests need root): %v", err)
	}
	b := New(Config{Dir: dir, ShimPath: os.Args[0], Limits: true}, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

// limitedID is an instance ID, and so a group name, that no other test run
// on this machine uses at the same time.
func limitedID(t *testing.T, name string) string {
	return name + "-" + strconv.Itoa(os.Getpid())
}

func TestMemoryLimitOOM(t *testing.T) {
	b := newLimitedBackend(t, t.TempDir())
	id := limitedID(t, "oom")
	logPath := filepath.Join(t.TempDir(), "oom.log")
	inst := start(t, b, runtime.InstanceSpec{
		ID: id, Memory: 64, LogPath: logPath,
		Command: `python3 -c 'b = bytearray(256 << 20); import time; time.sleep(30)'`,
	})
	st := waitEnded(t, b, inst)
	if !st.OOMKilled || st.Reason != "out of memory (limit 64 MiB)" {
		t.Fatalf("Status = %+v, want out of memory (limit 64 MiB)", st)
	}
	if !hasEntry(readLog(t, logPath), id, "system", "out of memory (limit 64 MiB)") {
		t.Errorf("the instance log does not say out of memory")
	}
	// The shim removed the group as it ended.
	waitFor(t, "the group to be removed", func() bool {
		_, err := cgroup.Load(id)
		return err != nil
	})
}

// An app that fails within its memory limit is not said to have run out.
func TestFailureWithinLimitIsNoOOM(t *testing.T) {
	b := newLimitedBackend(t, t.TempDir())
	inst := start(t, b, runtime.InstanceSpec{ID: limitedID(t, "fails"), Memory: 64, CPU: 1, Command: `sh -c "exit 3"`})
	if st := waitEnded(t, b, inst); st.OOMKilled || st.Reason != "exited with code 3" {
		t.Fatalf("Status = %+v, want exited with code 3", st)
	}
}

// TestCPULimit measures a busy loop's CPU time over a second through its
// group: 0.25 vCPU holds and the quota throttles it, and without a CPU
// limit (a group for the memory limit only) the same loop is never
// throttled and, unless other work on this shared machine takes the CPUs,
// uses clearly more.
func TestCPULimit(t *testing.T) {
	b := newLimitedBackend(t, t.TempDir())
	tests := []struct {
		name      string
		cpu       float64
		max       float64 // CPUs used
		throttled bool
	}{
		{"quarter vCPU", 0.25, 0.4, true},
		{"no CPU limit", 0, 4, false},
	}
	groups := make([]*cgroup.Group, len(tests))
	for i, tt := range tests {
		id := limitedID(t, "busy"+strconv.Itoa(i))
		inst := start(t, b, runtime.InstanceSpec{ID: id, CPU: tt.cpu, Memory: 256, Command: `while :; do :; done`})
		waitFor(t, "the instance's group", func() bool {
			var err error
			groups[i], err = cgroup.Load(id)
			return err == nil
		})
		t.Cleanup(func() {
			if err := b.Stop(context.Background(), inst, time.Second); err != nil {
				t.Error(err)
			}
			if _, err := cgroup.Load(id); err == nil {
				t.Errorf("the group of %s outlived its instance", id)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // both loops run
	use := func() []cgroup.CPUUse {
		out := make([]cgroup.CPUUse, len(groups))
		for i, g := range groups {
			u, err := g.CPU()
			if err != nil {
				t.Fatal(err)
			}
			out[i] = u
		}
		return out
	}
	before, t0 := use(), time.Now()
	time.Sleep(time.Second)
	after, wall := use(), time.Since(t0).Seconds()
	var shares []float64
	for i, tt := range tests {
		share := (after[i].Time - before[i].Time).Seconds() / wall
		throttled := after[i].Throttled - before[i].Throttled
		shares = append(shares, share)
		t.Logf("%s: a busy loop used %.2f CPUs, throttled in %d periods", tt.name, share, throttled)
		if share > tt.max {
			t.Errorf("%s: a busy loop used %.2f CPUs, want at most %.2f", tt.name, share, tt.max)
		}
		if (throttled > 0) != tt.throttled {
			t.Errorf("%s: throttled in %d periods, want throttled %v", tt.name, throttled, tt.throttled)
		}
	}
	if shares[1] >= 0.6 && shares[1] < 1.5*shares[0] {
		t.Errorf("without a CPU limit the loop used %.2f CPUs, not clearly more than %.2f with 0.25 vCPU", shares[1], shares[0])
	}
}

// readApp is the pid the app wrote to path.
func readApp(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "the app to start", func() bool {
		b, _ := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0
	})
	return pid
}

// A shim killed with SIGKILL leaves its app running in the group; stopping
// the instance, or a backend started later over the same state directory,
// ends the app and removes the group.
func TestKilledShimsGroupIsRemoved(t *testing.T) {
	tests := []struct {
		name   string
		remove func(t *testing.T, b *Backend, inst runtime.Instance)
	}{
		{"by Stop", func(t *testing.T, b *Backend, inst runtime.Instance) {
			if err := b.Stop(t.Context(), inst, time.Second); err != nil {
				t.Fatal(err)
			}
		}},
		{"by a restarted backend", func(t *testing.T, b *Backend, inst runtime.Instance) {
			newLimitedBackend(t, b.cfg.Dir)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLimitedBackend(t, t.TempDir())
			id := limitedID(t, "killed"+strconv.Itoa(i))
			pidPath := filepath.Join(t.TempDir(), "app.pid")
			inst := start(t, b, runtime.InstanceSpec{ID: id, Memory: 64, Command: "echo $$ > " + pidPath + "; exec sleep 60"})
			r, err := parseRef(inst.Ref)
			if err != nil {
				t.Fatal(err)
			}
			app := readApp(t, pidPath)
			waitFor(t, "the instance's group", func() bool { _, err := cgroup.Load(id); return err == nil })
			syscall.Kill(r.pid, syscall.SIGKILL)
			waitFor(t, "the shim to die", func() bool { b.reap(r); _, ok, _ := alive(r); return !ok })
			if processGone(app) {
				t.Fatal("the app died with its shim; this test needs it left behind")
			}
			tt.remove(t, b, inst)
			if _, err := cgroup.Load(id); err == nil {
				t.Error("the killed shim's group is still there")
			}
			waitFor(t, "the app to be killed", func() bool { return processGone(app) })
		})
	}
}

// A group left by an earlier run of an instance, with an out-of-memory kill
// counted, must not make the next run of that ID look out of memory.
func TestStaleGroupIsReplaced(t *testing.T) {
	b := newLimitedBackend(t, t.TempDir())
	id := limitedID(t, "again")
	old, err := cgroup.Create(id, cgroup.Limits{MemoryMiB: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Delete() })
	hog := exec.Command("sh", "-c", `read go; exec python3 -c 'b = bytearray(64 << 20)'`)
	stdin, err := hog.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	if err := old.AddProc(hog.Process.Pid); err != nil {
		hog.Process.Kill()
		t.Fatal(err)
	}
	io.WriteString(stdin, "go\n")
	stdin.Close()
	err = hog.Wait()
	if n, _ := old.OOMKills(); err == nil || n == 0 {
		t.Fatalf("the hog in the old group: %v, %d OOM kills; want killed", err, n)
	}

	inst := start(t, b, runtime.InstanceSpec{ID: id, Memory: 64, Command: `sh -c "exit 3"`})
	if st := waitEnded(t, b, inst); st.OOMKilled || st.Reason != "exited with code 3" {
		t.Fatalf("Status = %+v, want exited with code 3", st)
	}
}
