package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// Handle is an open network namespace. Holding it keeps the namespace alive,
// so a dial never lands in an unrelated namespace that reused a pid.
type Handle struct {
	path string
	f    *os.File
}

// Open opens the namespace at path, such as /proc/PID/ns/net.
func Open(path string) (*Handle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("open network namespace: %s is not a namespace", path)
	}
	return &Handle{path: path, f: f}, nil
}

// Path is the path the handle was opened from.
func (h *Handle) Path() string { return h.path }

// Fd is the namespace's file descriptor, valid until Close.
func (h *Handle) Fd() int { return int(h.f.Fd()) }

// File is the open namespace, to hand to a child process (exec.Cmd's
// ExtraFiles); it stays owned by h.
func (h *Handle) File() *os.File { return h.f }

// Close releases the namespace; it ends once nothing else holds it.
func (h *Handle) Close() error { return h.f.Close() }

// Do runs fn on an OS thread that has joined the namespace, so sockets fn
// creates belong to it. fn must not start goroutines that create sockets:
// they would run on other threads, in the daemon's namespace.
func (h *Handle) Do(fn func() error) error {
	goruntime.LockOSThread()
	back, err := threadNS()
	if err != nil {
		goruntime.UnlockOSThread()
		return err
	}
	defer unix.Close(back)
	if err := unix.Setns(h.Fd(), unix.CLONE_NEWNET); err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("join network namespace %s: %w", h.path, err)
	}
	ferr := fn()
	if err := unix.Setns(back, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and the runtime discards it when this
		// goroutine ends, rather than let it run others in the namespace.
		return errors.Join(ferr, fmt.Errorf("leave network namespace: %w", err))
	}
	goruntime.UnlockOSThread()
	return ferr
}

// DialContext connects to addr on the namespace's side: "127.0.0.1:8080"
// is the namespace's own loopback. Errors are *net.OpError dial errors, as
// from a net.Dialer, so callers can tell that nothing was sent.
func (h *Handle) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	var derr error
	err := h.Do(func() error {
		c, derr = dialer.DialContext(ctx, network, addr)
		return nil
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	return c, derr
}

// dialer is shared by every dial into a namespace; deadlines come from ctx.
var dialer = &net.Dialer{}

// threadNS opens the calling thread's network namespace.
func threadNS() (int, error) {
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open own network namespace: %w", err)
	}
	return fd, nil
}

// hostNS is the namespace the process started in, opened before main runs:
// init runs on the main thread, which nothing has moved yet. (Later, the
// main thread may be parked in another namespace by a goroutine that ended
// locked to it, so /proc/self/ns/net is not a reliable name for it.)
var hostNS, hostErr = Open("/proc/thread-self/ns/net")

// Host is the daemon's own namespace, the one its listeners are in.
func Host() (*Handle, error) { return hostNS, hostErr }

// DialPath opens the namespace at path, dials addr inside it and closes the
// namespace again: for occasional dials such as health checks. Errors are
// *net.OpError dial errors, as from a net.Dialer.
func DialPath(ctx context.Context, path, network, addr string) (net.Conn, error) {
	h, err := Open(path)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	defer h.Close()
	return h.DialContext(ctx, network, addr)
}
