// Package swarmenv gives tests a real two-node Docker Swarm on one machine:
// two Docker Engines, each in a network namespace of its own, joined by a
// veth pair, with a registry on the manager; tests that call it fail, never
// skip, when it cannot be made.
//
// The network, all of it made by Start and removed by the test's cleanup:
//
//	root namespace                 slipway-swarm-a            slipway-swarm-b
//	slw-swa 10.213.1.1/30 ──veth── host0 10.213.1.2/30
//	                               eth0  10.213.0.1/24 ──veth── eth0  10.213.0.2/24
//	slw-swb 10.213.2.1/30 ──veth────────────────────────────── host0 10.213.2.2/30
//
// The nodes talk to each other over the veth pair between them (Swarm's
// control and gossip traffic, registry pulls); the host, where Slipway and
// the tests run, reaches each node's address over a leg of its own, through
// two /32 routes (10.213.0.1 via slw-swa, 10.213.0.2 via slw-swb). The
// namespaces have no default route, so no traffic leaves them, and
// 10.213.0.0/16 exists only on these links.
package swarmenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

// The cluster's fixed names and addresses.
const (
	// RegistryAddr is the cluster registry, on the manager node.
	RegistryAddr = "10.213.0.1:5000"
	swarmPort    = 2377
	startTimeout = 60 * time.Second
)

// Node is one Docker Engine of the cluster, in its own network namespace.
type Node struct {
	// Name is "a" (the manager) or "b" (a worker).
	Name string
	// NetNS is the namespace's name (ip netns), and Addr the node's address
	// on the link between the nodes, which the host reaches too.
	NetNS string
	Addr  string
	// Host is the engine's API address (a unix socket), as DOCKER_HOST.
	Host string

	dir      string
	hostLink string // the root namespace's end of the host leg
	hostAddr string // its address, with prefix
	nodeLeg  string // the node's end of the host leg, with prefix
	cmd      *exec.Cmd
}

// Cluster is a running two-node Swarm.
type Cluster struct {
	Dir string
	// A is the manager (and a worker: managers run tasks too), B a worker.
	A, B *Node
	// Registry is host:port of the registry every node pulls from.
	Registry string

	mu       sync.Mutex
	registry *exec.Cmd
}

func nodes(dir string) (*Node, *Node) {
	a := &Node{Name: "a", NetNS: "slipway-swarm-a", Addr: "10.213.0.1", hostLink: "slw-swa", hostAddr: "10.213.1.1/30", nodeLeg: "10.213.1.2/30"}
	b := &Node{Name: "b", NetNS: "slipway-swarm-b", Addr: "10.213.0.2", hostLink: "slw-swb", hostAddr: "10.213.2.1/30", nodeLeg: "10.213.2.2/30"}
	for _, n := range []*Node{a, b} {
		n.dir = filepath.Join(dir, n.Name)
		n.Host = "unix://" + filepath.Join(n.dir, "docker.sock")
	}
	return a, b
}

// Start makes the cluster and removes it when the test ends. Only one
// cluster exists at a time on a machine: Start waits for a lock that the
// cleanup releases, so test packages running in parallel take turns.
func Start(t testing.TB) *Cluster {
	t.Helper()
	base := filepath.Join(os.TempDir(), "slipway-swarmenv")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := dockerenv.Lock(base)
	if err != nil {
		t.Fatalf("swarmenv: lock: %v", err)
	}
	dir := filepath.Join(base, "run")
	c := &Cluster{Dir: dir, Registry: RegistryAddr}
	c.A, c.B = nodes(dir)
	t.Cleanup(func() {
		defer unlock()
		if err := c.teardown(); err != nil {
			t.Errorf("swarmenv: cleanup: %v", err)
		}
	})
	// A test process that died left its cluster behind.
	if err := c.teardown(); err != nil {
		t.Fatalf("swarmenv: removing a previous cluster: %v", err)
	}
	for cmd, pkg := range map[string]string{"ip": "iproute2", "nsenter": "util-linux", "dockerd": "docker.io", "docker-registry": "docker-registry", "nft": "nftables"} {
		if err := dockerenv.EnsureInstalled(cmd, pkg); err != nil {
			t.Fatalf("swarmenv: %v", err)
		}
	}
	if err := c.network(); err != nil {
		t.Fatalf("swarmenv: network: %v", err)
	}
	if err := c.startRegistry(); err != nil {
		t.Fatalf("swarmenv: registry: %v", err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, n := range []*Node{c.A, c.B} {
		wg.Go(func() { errs[i] = c.startDockerd(n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("swarmenv: %v", err)
	}
	if err := c.form(t.Context()); err != nil {
		t.Fatalf("swarmenv: forming the swarm: %v", err)
	}
	return c
}

// network makes the namespaces, the link between them and the host's legs.
func (c *Cluster) network() error {
	a, b := c.A, c.B
	cmds := [][]string{
		{"netns", "add", a.NetNS},
		{"netns", "add", b.NetNS},
		{"link", "add", "slw-swab", "type", "veth", "peer", "name", "slw-swba"},
		{"link", "set", "slw-swab", "netns", a.NetNS},
		{"-n", a.NetNS, "link", "set", "slw-swab", "name", "eth0"},
		{"link", "set", "slw-swba", "netns", b.NetNS},
		{"-n", b.NetNS, "link", "set", "slw-swba", "name", "eth0"},
		{"-n", a.NetNS, "addr", "add", a.Addr + "/24", "dev", "eth0"},
		{"-n", b.NetNS, "addr", "add", b.Addr + "/24", "dev", "eth0"},
	}
	for _, n := range []*Node{a, b} {
		peer := n.hostLink + "h"
		cmds = append(cmds,
			[]string{"link", "add", n.hostLink, "type", "veth", "peer", "name", peer},
			[]string{"link", "set", peer, "netns", n.NetNS},
			[]string{"-n", n.NetNS, "link", "set", peer, "name", "host0"},
			[]string{"addr", "add", n.hostAddr, "dev", n.hostLink},
			[]string{"-n", n.NetNS, "addr", "add", n.nodeLeg, "dev", "host0"},
			[]string{"-n", n.NetNS, "link", "set", "lo", "up"},
			[]string{"-n", n.NetNS, "link", "set", "eth0", "up"},
			[]string{"-n", n.NetNS, "link", "set", "host0", "up"},
			[]string{"link", "set", n.hostLink, "up"},
			[]string{"route", "add", n.Addr + "/32", "via", strings.TrimSuffix(n.nodeLeg, "/30"), "dev", n.hostLink},
		)
	}
	for _, args := range cmds {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// inNetNS returns a command that runs name in n's network namespace and
// nowhere else: nsenter switches only the network namespace, so the
// engine shares the host's mounts and control groups (ip netns exec would
// also remount /sys, hiding the cgroup hierarchy from dockerd).
func inNetNS(n *Node, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + n.NetNS, name}, args...)...)
	// A session of its own: no terminal signal reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func (c *Cluster) startRegistry() error {
	dir := filepath.Join(c.Dir, "registry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), c.Registry)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "registry.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := inNetNS(c.A, "docker-registry", "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	c.registry = cmd
	go cmd.Wait() // reaps it when the namespace's processes are killed
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := dockerenv.PingRegistry(c.Registry); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s: %v; log:\n%s", c.Registry, err, dockerenv.Tail(logPath, 15))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DockerdArgs is the command line of node n's engine: its own socket,
// roots and control group, no bridge or firewall of its own (tasks use the
// node's network), and the cluster registry over plain HTTP.
func (c *Cluster) dockerdArgs(n *Node) ([]string, error) {
	conf := fmt.Sprintf(`{"insecure-registries": [%q]}`, c.Registry)
	confPath := filepath.Join(n.dir, "daemon.json")
	if err := os.WriteFile(confPath, []byte(conf+"\n"), 0o644); err != nil {
		return nil, err
	}
	return []string{
		"--config-file", confPath,
		"--host", n.Host,
		"--data-root", filepath.Join(n.dir, "data"),
		"--exec-root", filepath.Join(n.dir, "exec"),
		"--pidfile", filepath.Join(n.dir, "dockerd.pid"),
		"--cgroup-parent", "/" + n.NetNS,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		"--storage-driver", "overlay2",
	}, nil
}

func (c *Cluster) startDockerd(n *Node) error {
	// dockerd gives its containerd a fixed time to start, which a machine
	// busy with other tests can exceed (CI saw "timeout waiting for
	// containerd to start"); dockerd then exits, and is started again. A
	// containerd still starting is found running by the next dockerd.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = c.startDockerdOnce(n); err == nil || !errors.Is(err, errContainerdSlow) {
			return err
		}
	}
	return err
}

// errContainerdSlow marks a dockerd that exited because its containerd
// did not start in time.
var errContainerdSlow = errors.New("containerd did not start in time")

func (c *Cluster) startDockerdOnce(n *Node) error {
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return err
	}
	args, err := c.dockerdArgs(n)
	if err != nil {
		return err
	}
	logPath := filepath.Join(n.dir, "dockerd.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := inNetNS(n, "dockerd", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("node %s: dockerd: %w", n.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	c.mu.Lock()
	n.cmd = cmd
	c.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		if dockerenv.PingDocker(n.Host) == nil {
			return nil
		}
		select {
		case err := <-done:
			tail := dockerenv.Tail(logPath, 15)
			if strings.Contains(tail, "timeout waiting for containerd to start") {
				return fmt.Errorf("node %s: dockerd exited (%v): %w; log:\n%s", n.Name, err, errContainerdSlow, tail)
			}
			return fmt.Errorf("node %s: dockerd exited (%v); log:\n%s", n.Name, err, tail)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s: dockerd did not answer within %s; log:\n%s", n.Name, startTimeout, dockerenv.Tail(logPath, 15))
		}
	}
}

// form makes A the manager of a new swarm and joins B as a worker, then
// waits until both nodes are ready.
func (c *Cluster) form(ctx context.Context) error {
	ca, err := c.A.client()
	if err != nil {
		return err
	}
	defer ca.Close()
	cb, err := c.B.client()
	if err != nil {
		return err
	}
	defer cb.Close()
	listen := func(n *Node) string { return net.JoinHostPort(n.Addr, strconv.Itoa(swarmPort)) }
	spec := swarm.Spec{}
	// Nodes are found down after a few missed heartbeats: keep them short,
	// for node-loss tests.
	spec.Dispatcher.HeartbeatPeriod = time.Second
	if _, err := ca.SwarmInit(ctx, client.SwarmInitOptions{ListenAddr: listen(c.A), AdvertiseAddr: c.A.Addr, Spec: spec}); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	sw, err := ca.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		return err
	}
	if _, err := cb.SwarmJoin(ctx, client.SwarmJoinOptions{ListenAddr: listen(c.B), AdvertiseAddr: c.B.Addr,
		RemoteAddrs: []string{listen(c.A)}, JoinToken: sw.Swarm.JoinTokens.Worker}); err != nil {
		return fmt.Errorf("join %s: %w", c.B.Name, err)
	}
	return c.WaitReady(ctx, 2, startTimeout)
}

// WaitReady waits until n nodes are ready, as the manager sees them.
func (c *Cluster) WaitReady(ctx context.Context, n int, timeout time.Duration) error {
	cli, err := c.A.client()
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(timeout)
	for {
		res, err := cli.NodeList(ctx, client.NodeListOptions{})
		ready := 0
		if err == nil {
			for _, nd := range res.Items {
				if nd.Status.State == swarm.NodeStateReady {
					ready++
				}
			}
			if ready >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes ready after %s (%v)", ready, n, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Client returns a client of n's engine, closed when the test ends.
func (n *Node) Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := n.client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func (n *Node) client() (*client.Client, error) {
	return client.New(client.WithHost(n.Host), client.WithAPIVersionNegotiation())
}

// Kill ends every process in n's network namespace at once with SIGKILL:
// its engine, containerd, and the tasks' containers, as when the machine
// dies. The namespace and its addresses stay, so connections to it are
// refused, not lost. Killing A kills the registry too.
func (c *Cluster) Kill(n *Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := killNetNS(n.NetNS); err != nil {
		return err
	}
	if n.cmd != nil {
		n.cmd = nil
	}
	return nil
}

// Restart starts n's engine again after Kill; it rejoins the swarm by
// itself, from the state in its data root.
func (c *Cluster) Restart(n *Node) error {
	if n == c.A {
		return errors.New("swarmenv: Restart starts worker engines only")
	}
	return c.startDockerd(n)
}

// partitionTable is the nftables table Partition adds to a node.
const partitionTable = "slipway_partition"

// Partition makes n vanish from the network without a process ending: its
// namespace drops every packet in and out but loopback's, so connections
// to it are neither refused nor reset, only unanswered, as when a
// machine's link or power goes. Heal undoes it.
func (c *Cluster) Partition(n *Node) error {
	rules := "table inet " + partitionTable + " {\n" +
		"  chain in { type filter hook input priority -300; policy drop; iif lo accept; }\n" +
		"  chain out { type filter hook output priority -300; policy drop; oif lo accept; }\n" +
		"}\n"
	cmd := inNetNS(n, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("partition %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// Heal ends a Partition of n.
func (c *Cluster) Heal(n *Node) error {
	if out, err := inNetNS(n, "nft", "delete", "table", "inet", partitionTable).CombinedOutput(); err != nil {
		return fmt.Errorf("heal %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// killNetNS kills every process in the named namespace and waits until
// none is left.
func killNetNS(name string) error {
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "pids", name).Output()
		if err != nil {
			return fmt.Errorf("ip netns pids %s: %w", name, err)
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in %s would not end", pids, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// teardown removes everything a cluster made, whether or not it is
// running: the processes in its namespaces, the mounts under its
// directory, its control groups, links and namespaces, and the directory.
func (c *Cluster) teardown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, n := range []*Node{c.A, c.B} {
		if err := killNetNS(n.NetNS); err != nil {
			errs = append(errs, err)
		}
		n.cmd = nil
	}
	c.registry = nil
	if err := unmountUnder(c.Dir); err != nil {
		errs = append(errs, err)
	}
	for _, n := range []*Node{c.A, c.B} {
		removeCgroups(n.NetNS)
		if _, err := os.Stat("/run/netns/" + n.NetNS); err == nil {
			if out, err := exec.Command("ip", "netns", "del", n.NetNS).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", n.NetNS, err, out))
			}
		}
		// Deleting the namespace deletes its ends of the veths, and so
		// their peers; this removes a host leg left without one.
		if _, err := net.InterfaceByName(n.hostLink); err == nil {
			if out, err := exec.Command("ip", "link", "del", n.hostLink).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", n.hostLink, err, out))
			}
		}
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first (overlays and
// shm mounts of containers whose engine was killed).
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(x, y string) int { return len(y) - len(x) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes the control groups the node's engine made under
// /<name> in every hierarchy (cgroup v1 and v2), deepest first; they are
// empty once the node's processes are gone.
func removeCgroups(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if fi, err := os.Stat("/sys/fs/cgroup/" + name); err == nil && fi.IsDir() {
		roots = append(roots, "/sys/fs/cgroup/"+name)
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.SortFunc(dirs, func(x, y string) int { return len(y) - len(x) })
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	}
}
