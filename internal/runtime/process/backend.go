package process

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// Name is the backend's name in stored artifacts and instances.
const Name = "process"

// DefaultToolchains maps App Runner runtimes to the host command each needs.
var DefaultToolchains = map[string]string{
	"PYTHON_3":    "python3",
	"PYTHON_311":  "python3",
	"NODEJS_12":   "node",
	"NODEJS_14":   "node",
	"NODEJS_16":   "node",
	"NODEJS_18":   "node",
	"NODEJS_20":   "node",
	"NODEJS_22":   "node",
	"GO_1":        "go",
	"CORRETTO_8":  "java",
	"CORRETTO_11": "java",
	"DOTNET_6":    "dotnet",
	"PHP_81":      "php",
	"RUBY_31":     "ruby",
}

// Config configures the process backend.
type Config struct {
	// Dir holds per-instance state: <id>.pid and <id>.exit files, written by
	// the shim. A restarted daemon must use the same Dir to re-adopt its
	// instances. Default: <os.TempDir()>/slipway-process.
	Dir string
	// ShimPath is the slipway binary, which runs the shim as
	// `ShimPath _shim ARGS...` (see RunShim). Default: os.Executable().
	ShimPath string
	// Toolchains maps App Runner runtimes to host commands; entries override
	// and extend DefaultToolchains.
	Toolchains map[string]string
	// Network, when set, gives every instance a network namespace of its
	// own, where it listens on its configured port; nil runs instances on
	// the host's network, each on a free port.
	Network *netns.Config
	// Limits enforces instances' CPU and memory through control groups
	// (see package cgroup); false runs them unlimited.
	Limits bool
}

// Backend runs builds and instances as host processes.
type Backend struct {
	cfg Config
	log *slog.Logger

	// mu guards children: shims this Backend started and has not reaped.
	// Each is reaped, so that it does not linger as a zombie while the daemon
	// lives, by whichever of the reaper, Status and Stop sees it end first.
	mu       sync.Mutex
	children map[int]struct{}

	stop      chan struct{}
	stopOnce  sync.Once
	reaperEnd chan struct{}
}

var _ runtime.Backend = (*Backend)(nil)

// reapInterval is how often the reaper collects shims that ended.
const reapInterval = time.Second

// New returns a process backend. It starts a reaper goroutine that Close stops.
func New(cfg Config, log *slog.Logger) *Backend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(os.TempDir(), "slipway-process")
	}
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		cfg.Dir = abs
	}
	tc := maps.Clone(DefaultToolchains)
	maps.Copy(tc, cfg.Toolchains)
	cfg.Toolchains = tc
	b := &Backend{
		cfg:       cfg,
		log:       log.With("component", "runtime/process"),
		children:  map[int]struct{}{},
		stop:      make(chan struct{}),
		reaperEnd: make(chan struct{}),
	}
	if cfg.Limits {
		b.removeStaleGroups()
	}
	go b.reaper()
	return b
}

// Name returns "process".
func (b *Backend) Name() string { return Name }

// Close stops the reaper. It does not touch instances: they keep running and
// a new Backend re-adopts them. Shims that end after Close stay zombies until
// this process exits, which is what Close is for.
func (b *Backend) Close() error {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.reaperEnd
	return nil
}

func (b *Backend) reaper() {
	defer close(b.reaperEnd)
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		for pid := range b.children {
			b.reapLocked(pid)
		}
		b.mu.Unlock()
	}
}

// reap collects the exit status of r's process if it is a zombie child of
// this daemon, whichever Backend value started it; the start time check
// keeps it from stealing the status of an unrelated child with a reused pid.
func (b *Backend) reap(r ref) {
	st, err := readProcStat(r.pid)
	if err != nil || st.state != 'Z' || st.starttime != r.starttime {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reapLocked(r.pid)
}

func (b *Backend) reapLocked(pid int) {
	var ws syscall.WaitStatus
	got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	if got == pid || errors.Is(err, syscall.ECHILD) {
		delete(b.children, pid)
	}
}
