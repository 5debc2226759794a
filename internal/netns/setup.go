package netns

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Loopback brings up the lo interface of namespace h: a new namespace has
// it down, and apps expect 127.0.0.1 to work from their first instruction.
func Loopback(h *Handle) error {
	return h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		return nil
	})
}

// Available says why instances cannot have namespaces of their own here, or
// returns nil when they can: this process may create network namespaces,
// install a firewall in them, and slirp (slirp4netns, when empty) is
// installed to give them outbound access.
func Available(slirp string) error {
	if slirp == "" {
		slirp = SlirpBinary
	}
	if _, err := exec.LookPath(slirp); err != nil {
		return fmt.Errorf("%s is not installed (Debian: apt-get install slirp4netns): %w", slirp, err)
	}
	// A child process tries, so no thread of this one is left in a
	// namespace of its own.
	cmd := exec.Command("sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot create a network namespace: %w", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	h, err := Open(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
	if err != nil {
		return err
	}
	defer h.Close()
	return errors.Join(Loopback(h), Firewall(h, []uint16{1}))
}
