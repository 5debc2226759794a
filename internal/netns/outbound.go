package netns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Addresses inside an instance's namespace, as slirp4netns sets them up.
const (
	// HostLoopback is where an instance reaches the host's own loopback:
	// a connection to 10.0.2.2:5432 arrives at the host's 127.0.0.1:5432.
	HostLoopback = "10.0.2.2"
	// InstanceAddr is the instance's own address on its outbound interface.
	InstanceAddr = "10.0.2.100"
	// DNS is the resolver slirp4netns forwards to the host's.
	DNS = "10.0.2.3"
)

// SlirpBinary is the program that gives namespaces outbound access.
const SlirpBinary = "slirp4netns"

// readyTimeout bounds how long slirp4netns may take to configure a namespace.
const readyTimeout = 10 * time.Second

// StartOutbound gives the namespace at nsPath outbound network access: it
// starts slirp4netns, which adds a tap device with InstanceAddr, routes
// through a user-mode NAT in the host's namespace, and maps HostLoopback to
// the host's loopback. It returns once the namespace is configured.
//
// slirp4netns is detached: it outlives the caller and ends when exitFD
// polls readable or hung up (the read end of a pipe whose writer dies with
// the instance, or a pidfd of the instance's process). hostNS, when not
// nil, is the namespace slirp4netns runs in (the caller may be inside
// nsPath itself); nil means the caller's.
func StartOutbound(binary, nsPath string, exitFD *os.File, hostNS *Handle) error {
	if binary == "" {
		binary = SlirpBinary
	}
	path, err := exec.LookPath(binary)
	if err != nil {
		return fmt.Errorf("outbound network: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("outbound network: %w", err)
	}
	defer readyR.Close()
	// An intermediate shell backgrounds slirp4netns and exits, so that it is
	// nobody's child here: init reaps it, and no goroutine waits for it.
	cmd := exec.Command("/bin/sh", "-c", `"$@" </dev/null >/dev/null 2>&1 &`, "sh",
		path, "--configure", "--mtu=65520", "--enable-sandbox", "--enable-seccomp",
		"--ready-fd=3", "--exit-fd=4", "--netns-type=path", nsPath, "tap0")
	cmd.ExtraFiles = []*os.File{readyW, exitFD}
	// slirp4netns's --enable-sandbox makes a mount namespace from this one,
	// makes only / private in it and detaches the old root with everything
	// under it. Started from the host's mount namespace, that detach
	// propagates back through every shared mount (Docker's data root is
	// rshared: the host loses its containers' root file systems). With
	// CLONE_NEWNS in Unshareflags the child makes all its mounts private
	// (MS_REC|MS_PRIVATE) before it execs the shell, so the sandbox starts
	// from a namespace whose umounts reach no other.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Unshareflags: syscall.CLONE_NEWNS}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	run := cmd.Run
	if hostNS != nil {
		run = func() error { return hostNS.Do(cmd.Run) }
	}
	err = run()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("outbound network: start %s: %w %s", binary, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err := waitReady(readyR, readyTimeout); err != nil {
		return fmt.Errorf("outbound network: %s: %w", binary, err)
	}
	return nil
}

// waitReady reads slirp4netns's "1" from its ready pipe; it closes the pipe
// without writing when it fails.
func waitReady(r *os.File, timeout time.Duration) error {
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	b := make([]byte, 1)
	_, err := io.ReadFull(r, b)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("not ready after %s", timeout)
	case err != nil:
		return errors.New("exited before the namespace was configured")
	case b[0] != '1':
		return fmt.Errorf("unexpected ready signal %q", b)
	}
	return nil
}
