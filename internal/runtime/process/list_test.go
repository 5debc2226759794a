package process

import (
	"os"
	"strconv"
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
)

func TestList(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	running := start(t, b, runtime.InstanceSpec{ID: "lister-a", Command: "sleep 30"})
	// Start returns once the shim runs; the shim writes its pid file a
	// moment later, and List goes by pid files.
	waitFor(t, "lister-a's pid file", func() bool {
		_, err := os.Stat(pidFile(dir, "lister-a"))
		return err == nil
	})
	ended := start(t, b, runtime.InstanceSpec{ID: "lister-b", Command: "true"})
	waitEnded(t, b, ended)
	// A pid file naming a live process that is not a shim (our own pid)
	// must not be listed: pids get reused.
	if err := os.WriteFile(pidFile(dir, "impostor"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := New(Config{Dir: dir, ShimPath: os.Args[0]}, nil).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "lister-a" || got[0].Ref != running.Ref {
		t.Fatalf("List = %+v, want only lister-a with ref %s", got, running.Ref)
	}
}
