package process

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slipwayhq/slipway/internal/netns"
)

// hostNSFd is the descriptor the daemon's network namespace has in a shim
// that runs in an instance namespace: slirp4netns must run there.
const hostNSFd = 3

// joinNetwork makes cmd, the shim of instance id, start in a network
// namespace of its own and hands it the daemon's namespace, and returns the
// shim's flags for it. When the host's resolver is on its loopback, the
// shim also gets a mount namespace, to put a resolv.conf that works in the
// instance's namespace over /etc/resolv.conf.
func (b *Backend) joinNetwork(cmd *exec.Cmd, id string) ([]string, error) {
	if b.cfg.Network == nil {
		return nil, nil
	}
	host, err := netns.Host()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	cmd.ExtraFiles = []*os.File{host.File()}
	args := []string{"--netns"}
	if s := b.cfg.Network.Slirp; s != "" {
		args = append(args, "--slirp", s)
	}
	for _, p := range b.cfg.Network.DenyPorts {
		args = append(args, "--deny-port", strconv.Itoa(int(p)))
	}
	src := b.cfg.Network.ResolvConf
	if src == "" {
		src = "/etc/resolv.conf"
	}
	if host, err := os.ReadFile(src); err == nil {
		if conf, ok := netns.ResolvConf(host); ok {
			path := filepath.Join(b.cfg.Dir, id+".resolv.conf")
			if err := writeFileAtomic(path, conf); err != nil {
				return nil, fmt.Errorf("resolv.conf: %w", err)
			}
			// util-linux's unshare makes the mount namespace and its mounts
			// slaves before it execs the shim: a Go child would be the
			// host's mount peer for its first milliseconds, and mount events
			// (Docker's container root file systems) would cross both ways.
			unshare, err := exec.LookPath("unshare")
			if err != nil {
				return nil, fmt.Errorf("resolv.conf: the host's resolver is on its loopback, and replacing it for instances needs util-linux's unshare: %w", err)
			}
			cmd.Args = append([]string{unshare, "--mount", "--propagation", "slave", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = unshare
			args = append(args, "--resolv-conf", path)
		}
	}
	return args, nil
}

// netnsPath is where the daemon finds the namespace of the instance whose
// shim is pid.
func (b *Backend) netnsPath(pid int) string {
	if b.cfg.Network == nil {
		return ""
	}
	return fmt.Sprintf("/proc/%d/ns/net", pid)
}

// outboundExit is the writer of slirp4netns's exit pipe. It stays open, in
// a variable so that no finalizer closes it, for the shim's lifetime.
var outboundExit *os.File

// shimNetwork is the shim's network flags.
type shimNetwork struct {
	enabled bool
	slirp   string
	deny    portList
	resolv  string
}

func (n *shimNetwork) register(fs *flag.FlagSet) {
	fs.BoolVar(&n.enabled, "netns", false, "the shim runs in the instance's own network namespace; set it up (the daemon's namespace is fd 3)")
	fs.StringVar(&n.slirp, "slirp", "", "the slirp4netns `binary`")
	fs.Var(&n.deny, "deny-port", "a TCP `port` the app may not connect to outside its namespace (repeatable)")
	fs.StringVar(&n.resolv, "resolv-conf", "", "bind `file` over /etc/resolv.conf (the shim runs in a mount namespace of its own)")
}

type portList []uint16

func (l *portList) String() string { return fmt.Sprint(*l) }

func (l *portList) Set(s string) error {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return err
	}
	*l = append(*l, uint16(p))
	return nil
}

// setup readies the shim's namespace before the app starts: loopback,
// firewall, and outbound access through slirp4netns, which ends when the
// shim does (it holds the exit pipe's writer until it exits). It closes the
// daemon's namespace descriptor, which the app must not inherit.
func (n *shimNetwork) setup() error {
	if !n.enabled {
		return nil
	}
	hostFile := os.NewFile(hostNSFd, "host-netns")
	if hostFile == nil {
		return fmt.Errorf("network: no host namespace on fd %d", hostNSFd)
	}
	defer hostFile.Close()
	host, err := netns.Open(fmt.Sprintf("/proc/self/fd/%d", hostNSFd))
	if err != nil {
		return err
	}
	defer host.Close()
	path := fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	self, err := netns.Open(path)
	if err != nil {
		return err
	}
	defer self.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	defer exitR.Close()
	outboundExit = exitW
	cfg := netns.Config{Slirp: n.slirp, DenyPorts: n.deny}
	if err := cfg.Setup(self, path, exitR, host); err != nil {
		return err
	}
	return n.mountResolvConf()
}

// mountResolvConf puts n.resolv over /etc/resolv.conf in the shim's own
// mount namespace, whose mounts unshare(1) made slaves of the host's: the
// host's later mounts still reach the instance, and this one never reaches
// the host.
func (n *shimNetwork) mountResolvConf() error {
	if n.resolv == "" {
		return nil
	}
	if err := unix.Mount(n.resolv, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	return nil
}

// dockerDefaultCaps is the capability set Docker gives containers by
// default; an app in a namespace of its own gets no more, so that even as
// root it cannot change its firewall (CAP_NET_ADMIN) or join another
// instance's namespace (CAP_SYS_ADMIN).
var dockerDefaultCaps = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FOWNER: true,
	unix.CAP_FSETID: true, unix.CAP_KILL: true, unix.CAP_SETGID: true,
	unix.CAP_SETUID: true, unix.CAP_SETPCAP: true, unix.CAP_NET_BIND_SERVICE: true,
	unix.CAP_NET_RAW: true, unix.CAP_SYS_CHROOT: true, unix.CAP_MKNOD: true,
	unix.CAP_AUDIT_WRITE: true, unix.CAP_SETFCAP: true,
}

// startBounded starts cmd from a thread whose capability bounding set is
// dockerDefaultCaps, which cmd inherits. The bounding set is per thread:
// that thread is discarded afterwards, so the shim itself keeps its own.
func startBounded(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with this goroutine.
		goruntime.LockOSThread()
		if err := dropBounding(); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func dropBounding() error {
	last := unix.CAP_LAST_CAP
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if dockerDefaultCaps[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	return nil
}
