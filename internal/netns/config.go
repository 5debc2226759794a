package netns

import (
	"fmt"
	"os"
)

// Config says how instances' namespaces are set up. Backends hold one when
// instances get namespaces of their own, and none when they share the
// host's network.
type Config struct {
	// Slirp is the slirp4netns binary; empty means slirp4netns on PATH.
	Slirp string
	// DenyPorts are TCP ports instances may not connect to outside their
	// namespace: the daemon's API listener, which apps must not reach
	// around the router.
	DenyPorts []uint16
	// ResolvConf is the host's resolver configuration; empty means
	// /etc/resolv.conf. See ResolvConf (the function) for why it matters.
	ResolvConf string
}

// Setup readies namespace h, found at nsPath, for an instance: loopback up,
// the firewall, and outbound access that lasts until exitFD polls readable
// (see StartOutbound). host is the namespace slirp4netns runs in; nil means
// the caller's.
func (c Config) Setup(h *Handle, nsPath string, exitFD *os.File, host *Handle) error {
	if err := Loopback(h); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := Firewall(h, c.DenyPorts); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := StartOutbound(c.Slirp, nsPath, exitFD, host); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}
