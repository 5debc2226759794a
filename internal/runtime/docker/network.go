package docker

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// instanceNetwork is the port a container listens on (runtime.ListenPort)
// and its network mode: "none", a namespace of its own that setupNetwork
// gives outbound access, or the host's.
func (b *Backend) instanceNetwork(spec runtime.InstanceSpec) (int, string, error) {
	mode := "host"
	if b.cfg.Network != nil {
		mode = "none"
	}
	port, err := runtime.ListenPort(spec, b.cfg.Network != nil)
	return port, mode, err
}

// setupNetwork gives the started container id, which has a namespace with
// only a loopback (network mode "none"), its firewall and outbound access,
// and returns the namespace's path. slirp4netns ends with the container:
// its exit descriptor is a pidfd of the container's first process, which
// polls readable when that process exits. The engine's loopback is up
// already, but the app may run a few milliseconds before outbound access
// and the firewall are there.
func (b *Backend) setupNetwork(ctx context.Context, id string) (string, error) {
	if b.cfg.Network == nil {
		return "", nil
	}
	info, err := b.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("network: %w", err)
	}
	st := info.Container.State
	if st == nil || st.Pid <= 0 {
		return "", fmt.Errorf("network: container %s has no process (it exited at once?)", short(id))
	}
	path := fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	h, err := netns.Open(path)
	if err != nil {
		return "", fmt.Errorf("network: %w", err)
	}
	defer h.Close()
	pidfd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		return "", fmt.Errorf("network: pidfd of container process %d: %w", st.Pid, err)
	}
	exit := os.NewFile(uintptr(pidfd), "container-pidfd")
	defer exit.Close()
	if err := b.cfg.Network.Setup(h, path, exit, nil); err != nil {
		return "", err
	}
	return path, nil
}
