package swarm

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/runtime"
)

const (
	defaultPortEnv = "PORT"
	shell          = "/bin/sh"
	// placeTimeout bounds how long Start waits for Swarm to put the task
	// on a node.
	placeTimeout = 30 * time.Second
	// stopSlack is how long a stopped instance's reaper waits beyond the
	// grace period for the task to end before it removes the service
	// anyway.
	stopSlack = 5 * time.Second
)

// Start creates a Swarm service of one task for the instance. The task runs
// on the node's network (Swarm's "host" network: the routing mesh needs
// IPVS, and a node's bridge would need NAT) on a node port of its own, also
// published in host mode so that Swarm's scheduler never puts two tasks
// with the same port on one node. Start returns once Swarm has placed the
// task: the instance's address is its node's address and that port.
//
// Swarm does not restart the task (restart condition none): the engine
// above decides when an instance is replaced, as with every backend.
func (b *Backend) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if err := checkID(spec.ID); err != nil {
		return runtime.Instance{}, err
	}
	a := spec.Artifact
	if a.Backend != Name {
		return runtime.Instance{}, fmt.Errorf("start %s: artifact of backend %q", spec.ID, a.Backend)
	}
	if a.Path == "" {
		return runtime.Instance{}, fmt.Errorf("start %s: artifact has no image", spec.ID)
	}
	auth, err := b.dock.RegistryAuth(ctx, a.Path)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	b.portMu.Lock()
	port, err := b.choosePort(ctx)
	if err != nil {
		b.portMu.Unlock()
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	svcSpec := b.serviceSpec(spec, port)
	if node, err := b.spreadNode(ctx, spec.Labels[labelService], spec.Labels[labelOperation]); err != nil {
		b.log.Warn("no node chosen for spread; Swarm places the task", "instance", spec.ID, "err", err)
	} else if node != "" {
		svcSpec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.id==" + node}}
	}
	created, err := b.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: svcSpec, EncodedRegistryAuth: auth})
	b.portMu.Unlock()
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: create service: %w", spec.ID, err)
	}
	id := created.ID
	fail := func(err error) (runtime.Instance, error) {
		_, _ = b.cli.ServiceRemove(context.WithoutCancel(ctx), id, client.ServiceRemoveOptions{})
		if spec.LogPath != "" {
			_ = applog.AppendSystem(spec.LogPath, spec.ID, "failed to start: %v", err)
		}
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	if spec.LogPath != "" {
		if err := applog.AppendSystem(spec.LogPath, spec.ID, "starting swarm service %s of image %s", short(id), a.Path); err != nil {
			return fail(fmt.Errorf("open log: %w", err))
		}
	}
	addr, err := b.placed(ctx, id)
	if err != nil {
		return fail(err)
	}
	b.follow(id, spec.ID, spec.LogPath)
	inst := runtime.Instance{
		ID:        spec.ID,
		Backend:   Name,
		Ref:       id,
		Addr:      net.JoinHostPort(addr, strconv.Itoa(port)),
		StartedAt: time.Now().UTC(),
	}
	b.log.Info("instance started", "id", spec.ID, "service", short(id), "addr", inst.Addr)
	return inst, nil
}

// serviceSpec is the one-task service that runs spec on port.
func (b *Backend) serviceSpec(spec runtime.InstanceSpec, port int) swarm.ServiceSpec {
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	for k, v := range b.cfg.Labels {
		labels[k] = v
	}
	labels[LabelManaged] = "true"
	labels[LabelInstance] = spec.ID
	labels[LabelPort] = strconv.Itoa(port)
	if spec.LogPath != "" {
		labels[LabelLogPath] = spec.LogPath
	}
	entrypoint, args := command(spec.PreRun, spec.Command)
	one := uint64(1)
	grace := 10 * time.Second
	var limits *swarm.Limit
	if spec.CPU > 0 || spec.Memory > 0 {
		limits = &swarm.Limit{NanoCPUs: int64(math.Round(spec.CPU * 1e9)), MemoryBytes: int64(spec.Memory) << 20}
	}
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: b.cfg.NamePrefix + spec.ID, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           spec.Artifact.Path,
				Command:         entrypoint,
				Args:            args,
				Env:             instanceEnv(spec, port),
				StopGracePeriod: &grace,
			},
			Resources:     &swarm.ResourceRequirements{Limits: limits},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "host"}},
			LogDriver:     &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "10m", "max-file": "3"}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{
			Protocol: network.TCP, TargetPort: uint32(port), PublishedPort: uint32(port),
			PublishMode: swarm.PortConfigPublishModeHost,
		}}},
	}
}

// The engine's labels naming an instance's Slipway service and the
// operation that started it.
const (
	labelService   = "slipway.service"
	labelOperation = "slipway.operation"
)

// spreadNode chooses the node for a new instance of the Slipway service
// named service, started by operation: a ready, active node with the
// fewest instances the operation started (a deployment's new instances
// spread among themselves, whatever the old ones they replace), then the
// fewest of the service's, then the fewest in all. Each instance is a Swarm
// service of its own, so Swarm's scheduler cannot spread a service's
// instances; and a node found down, or silent (see prober), gets none. ""
// leaves it to Swarm.
func (b *Backend) spreadNode(ctx context.Context, service, operation string) (string, error) {
	nodes, err := b.cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	svcs, err := b.cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", LabelManaged+"=true")})
	if err != nil {
		return "", fmt.Errorf("list services: %w", err)
	}
	// ours: 0 another service's, 1 this service's, 2 this operation's.
	ours := map[string]int{}
	for _, s := range svcs.Items {
		switch l := s.Spec.Labels; {
		case service == "" || l[labelService] != service:
			ours[s.ID] = 0
		case operation != "" && l[labelOperation] == operation:
			ours[s.ID] = 2
		default:
			ours[s.ID] = 1
		}
	}
	tasks, err := b.cli.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("desired-state", "running")})
	if err != nil {
		return "", fmt.Errorf("list tasks: %w", err)
	}
	var load []nodeLoad
	var addrs []string
	for _, n := range nodes.Items {
		if n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.NodeAvailabilityActive {
			load = append(load, nodeLoad{id: n.ID})
			addrs = append(addrs, n.Status.Addr)
		}
	}
	// Ready by Swarm's word, but silent: about to be found down.
	if silent := b.probe.silent(ctx, addrs); len(silent) > 0 && len(silent) < len(load) {
		kept := load[:0]
		for i, l := range load {
			if silent[addrs[i]] {
				b.log.Warn("node does not answer; no instance placed there", "node", short(l.id), "addr", addrs[i])
				continue
			}
			kept = append(kept, l)
		}
		load = kept
	}
	for _, t := range tasks.Items {
		mine, managed := ours[t.ServiceID]
		for i := range load {
			if load[i].id == t.NodeID && managed {
				load[i].all++
				if mine >= 1 {
					load[i].service++
				}
				if mine == 2 {
					load[i].operation++
				}
			}
		}
	}
	return leastLoaded(load), nil
}

// nodeLoad is what runs on a node: instances of the operation and of the
// service being placed, and all of Slipway's.
type nodeLoad struct {
	id                      string
	operation, service, all int
}

// leastLoaded picks the node with the fewest of the operation's instances,
// then of the service's, then the fewest in all, then the first ID; "" for
// no node.
func leastLoaded(nodes []nodeLoad) string {
	if len(nodes) == 0 {
		return ""
	}
	best := slices.MinFunc(nodes, func(a, b nodeLoad) int {
		if c := cmp.Compare(a.operation, b.operation); c != 0 {
			return c
		}
		if c := cmp.Compare(a.service, b.service); c != 0 {
			return c
		}
		if c := cmp.Compare(a.all, b.all); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return best.id
}

// choosePort picks a node port no other Slipway service of the cluster
// uses, starting at a random one so that a port just freed is not taken
// again at once. Call it with portMu held.
func (b *Backend) choosePort(ctx context.Context) (int, error) {
	res, err := b.cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", LabelManaged+"=true")})
	if err != nil {
		return 0, fmt.Errorf("list services: %w", err)
	}
	used := map[int]bool{}
	for _, s := range res.Items {
		if p, err := strconv.Atoi(s.Spec.Labels[LabelPort]); err == nil {
			used[p] = true
		}
	}
	n := b.cfg.PortMax - b.cfg.PortMin + 1
	start := rand.IntN(n)
	for i := range n {
		p := b.cfg.PortMin + (start+i)%n
		if !used[p] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("all %d node ports %d-%d are taken", n, b.cfg.PortMin, b.cfg.PortMax)
}

// placed waits until Swarm has put service id's task on a node, and returns
// that node's address.
func (b *Backend) placed(ctx context.Context, id string) (string, error) {
	deadline := time.Now().Add(placeTimeout)
	wait := 20 * time.Millisecond
	for {
		t, ok, err := b.task(ctx, id)
		if err != nil {
			return "", err
		}
		if ok && t.NodeID != "" {
			if ended(t.Status.State) {
				return "", fmt.Errorf("task %s: %s", t.Status.State, taskError(t))
			}
			return b.nodeAddr(ctx, t.NodeID)
		}
		if time.Now().After(deadline) {
			why := "no task yet"
			if ok {
				why = taskError(t)
			}
			return "", fmt.Errorf("swarm placed no task within %s: %s", placeTimeout, why)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// task returns service id's newest task.
func (b *Backend) task(ctx context.Context, id string) (swarm.Task, bool, error) {
	res, err := b.cli.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id)})
	if err != nil {
		return swarm.Task{}, false, fmt.Errorf("list tasks: %w", err)
	}
	if len(res.Items) == 0 {
		return swarm.Task{}, false, nil
	}
	t := slices.MaxFunc(res.Items, func(x, y swarm.Task) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return t, true, nil
}

// nodeAddr is the address other nodes and the router reach node id at.
func (b *Backend) nodeAddr(ctx context.Context, id string) (string, error) {
	n, err := b.cli.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("node %s: %w", short(id), err)
	}
	addr := n.Node.Status.Addr
	if (addr == "" || addr == "0.0.0.0") && n.Node.ManagerStatus != nil {
		addr, _, _ = net.SplitHostPort(n.Node.ManagerStatus.Addr)
	}
	if addr == "" {
		return "", fmt.Errorf("node %s has no address", short(id))
	}
	return addr, nil
}

func ended(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
		swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return true
	}
	return false
}

func taskError(t swarm.Task) string {
	if t.Status.Err != "" {
		return t.Status.Err
	}
	if t.Status.Message != "" {
		return t.Status.Message
	}
	return string(t.Status.State)
}

// Status reports the state of the instance's task: running (or on its way)
// unless it ended or its node is down. A task that ended on the manager's
// node is inspected there for an out-of-memory kill; elsewhere its exit
// code alone tells.
func (b *Backend) Status(ctx context.Context, inst runtime.Instance) (runtime.State, error) {
	if inst.Ref == "" {
		return runtime.State{}, fmt.Errorf("status %s: no service ID", inst.ID)
	}
	svc, err := b.cli.ServiceInspect(ctx, inst.Ref, client.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		b.mu.Lock()
		st, ok := b.ended[inst.Ref]
		b.mu.Unlock()
		if ok {
			return st, nil
		}
		return runtime.State{ExitCode: -1, Reason: "ended (service no longer exists)"}, nil
	}
	if err != nil {
		return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
	}
	if scaledDown(svc.Service) {
		return runtime.State{ExitCode: -1, Reason: "stopped"}, nil
	}
	t, ok, err := b.task(ctx, inst.Ref)
	if err != nil {
		return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
	}
	if !ok {
		return runtime.State{Running: true}, nil
	}
	st := b.stateOf(ctx, t)
	if st.Running && t.NodeID != "" {
		n, err := b.cli.NodeInspect(ctx, t.NodeID, client.NodeInspectOptions{})
		if err != nil {
			return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
		}
		// A node found down runs nothing the router can reach, whatever
		// its tasks' last reported state: the engine replaces them.
		if s := n.Node.Status.State; s == swarm.NodeStateDown || s == swarm.NodeStateDisconnected {
			return runtime.State{ExitCode: -1, Reason: fmt.Sprintf("node %s (%s) is %s", short(t.NodeID), n.Node.Status.Addr, s)}, nil
		}
	}
	if !st.Running {
		b.waitLogs(inst.Ref, 2*time.Second)
	}
	return st, nil
}

// stateOf maps a task to a runtime.State.
func (b *Backend) stateOf(ctx context.Context, t swarm.Task) runtime.State {
	s := t.Status
	if !ended(s.State) {
		return runtime.State{Running: true}
	}
	code := -1
	var limit int64 // MiB, 0 for none
	if lim := t.Spec.Resources; lim != nil && lim.Limits != nil {
		limit = lim.Limits.MemoryBytes >> 20
	}
	// inspected: the manager's own engine ran the container, and knows
	// whether it ran out of memory; other nodes' engines are not
	// reachable from here, and Swarm reports only their exit codes.
	inspected := false
	if s.ContainerStatus != nil {
		code = s.ContainerStatus.ExitCode
		if id := s.ContainerStatus.ContainerID; id != "" {
			c, err := b.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			inspected = err == nil
			if inspected && c.Container.State != nil && c.Container.State.OOMKilled {
				reason := "out of memory"
				if limit > 0 {
					reason = fmt.Sprintf("out of memory (limit %d MiB)", limit)
				}
				return runtime.State{ExitCode: -1, Reason: reason, OOMKilled: true}
			}
		}
	}
	switch {
	case s.State == swarm.TaskStateRejected:
		return runtime.State{ExitCode: -1, Reason: "failed to start: " + taskError(t)}
	case s.State == swarm.TaskStateOrphaned || s.State == swarm.TaskStateRemove:
		return runtime.State{ExitCode: -1, Reason: "ended (task " + string(s.State) + ")"}
	case s.ContainerStatus == nil || s.ContainerStatus.ContainerID == "":
		return runtime.State{ExitCode: -1, Reason: "never started: " + taskError(t)}
	case code == 128+9 && limit > 0 && !inspected && s.State == swarm.TaskStateFailed:
		// A task Slipway stopped ends shut down, not failed: a SIGKILL
		// it did not send, under a memory limit, is the kernel's OOM
		// killer but for a rare exception.
		return runtime.State{ExitCode: -1, Reason: fmt.Sprintf("killed by signal 9, most likely for going over its memory limit (%d MiB): "+
			"Swarm does not report out-of-memory kills on nodes other than the manager", limit)}
	case code > 128 && code <= 128+64:
		return runtime.State{ExitCode: -1, Reason: fmt.Sprintf("killed by signal %d", code-128)}
	default:
		return runtime.State{ExitCode: code, Reason: fmt.Sprintf("exited with code %d", code)}
	}
}

// Stop scales the instance's service to nothing and returns: the task's
// node stops it (SIGTERM, then SIGKILL after the task's grace period), and
// a reaper of the Backend's waits for the task to end (or finds its node
// down), copies its last output, records how it ended for Status, and
// removes the service. Swarm takes about 3 s to report a task shut down
// (its agent waits 2 s for gossip to converge before it stops a container
// with published ports), which no caller needs to wait for: the router has
// already drained the instance. A daemon stopped meanwhile leaves a service
// of no task, which the next start finds and stops again as an orphan.
func (b *Backend) Stop(ctx context.Context, inst runtime.Instance, grace time.Duration) error {
	if inst.Ref == "" {
		return fmt.Errorf("stop %s: no service ID", inst.ID)
	}
	svc, err := b.cli.ServiceInspect(ctx, inst.Ref, client.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", inst.ID, err)
	}
	if !scaledDown(svc.Service) {
		spec := svc.Service.Spec
		zero := uint64(0)
		spec.Mode.Replicated.Replicas = &zero
		_, err = b.cli.ServiceUpdate(ctx, inst.Ref, client.ServiceUpdateOptions{Version: svc.Service.Version, Spec: spec})
		if err != nil {
			b.log.Warn("scaling the service down failed; removing it", "id", inst.ID, "err", err)
			if _, err := b.cli.ServiceRemove(ctx, inst.Ref, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				return fmt.Errorf("stop %s: remove service: %w", inst.ID, err)
			}
			b.forget(inst.Ref)
			return nil
		}
	}
	b.reap(inst, grace)
	b.log.Info("instance stopping", "id", inst.ID, "service", short(inst.Ref))
	return nil
}

// scaledDown reports whether Stop scaled svc to nothing.
func scaledDown(svc swarm.Service) bool {
	r := svc.Spec.Mode.Replicated
	return r == nil || (r.Replicas != nil && *r.Replicas == 0)
}

// reap starts the reaper of a service Stop scaled down, unless one runs.
func (b *Backend) reap(inst runtime.Instance, grace time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.reaping[inst.Ref] {
		return
	}
	b.reaping[inst.Ref] = true
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() {
			b.mu.Lock()
			delete(b.reaping, inst.Ref)
			b.mu.Unlock()
		}()
		if err := b.reapService(b.ctx, inst, grace); err != nil && b.ctx.Err() == nil {
			b.log.Error("removing a stopped instance's service", "id", inst.ID, "service", short(inst.Ref), "err", err)
		}
	}()
}

// reapService waits up to grace and stopSlack for the task of a scaled
// down service to end, or for its node to be found down, then records how
// it ended, waits for its last output, and removes the service.
func (b *Backend) reapService(ctx context.Context, inst runtime.Instance, grace time.Duration) error {
	deadline := time.Now().Add(grace + stopSlack)
	for {
		t, ok, err := b.task(ctx, inst.Ref)
		if err != nil && ctx.Err() != nil {
			return nil
		}
		if err == nil && ok && ended(t.Status.State) {
			b.recordEnd(inst.Ref, b.stateOf(ctx, t))
			b.waitLogs(inst.Ref, 2*time.Second)
			break
		}
		if err == nil && (!ok || b.nodeDown(ctx, t.NodeID) != "") {
			// Nothing ran, or nothing will report: the node's engine
			// removes the container when it comes back.
			b.recordEnd(inst.Ref, runtime.State{ExitCode: -1, Reason: "stopped"})
			break
		}
		if time.Now().After(deadline) {
			b.log.Warn("the task did not end in time; removing its service", "id", inst.ID, "service", short(inst.Ref))
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := b.cli.ServiceRemove(ctx, inst.Ref, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	b.forget(inst.Ref)
	b.log.Info("instance stopped", "id", inst.ID, "service", short(inst.Ref))
	return nil
}

func (b *Backend) recordEnd(service string, st runtime.State) {
	b.mu.Lock()
	b.ended[service] = st
	b.mu.Unlock()
}

// nodeDown describes node id when the manager finds it down or
// disconnected, else (also when it cannot tell) it returns "".
func (b *Backend) nodeDown(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	n, err := b.cli.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return ""
	}
	if s := n.Node.Status.State; s == swarm.NodeStateDown || s == swarm.NodeStateDisconnected {
		return fmt.Sprintf("node %s (%s) is %s", short(id), n.Node.Status.Addr, s)
	}
	return ""
}

// List returns the services this backend manages (those with its labels),
// for re-adoption and for removing the ones no service owns.
func (b *Backend) List(ctx context.Context) ([]runtime.Instance, error) {
	svcs, err := b.services(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Instance, 0, len(svcs))
	for _, s := range svcs {
		inst := runtime.Instance{
			ID:        s.Spec.Labels[LabelInstance],
			Backend:   Name,
			Ref:       s.ID,
			StartedAt: s.CreatedAt.UTC(),
		}
		if t, ok, err := b.task(ctx, s.ID); err == nil && ok && t.NodeID != "" {
			if addr, err := b.nodeAddr(ctx, t.NodeID); err == nil {
				inst.Addr = net.JoinHostPort(addr, s.Spec.Labels[LabelPort])
			}
		}
		out = append(out, inst)
	}
	return out, nil
}

func (b *Backend) services(ctx context.Context) ([]swarm.Service, error) {
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	for k, v := range b.cfg.Labels {
		f = f.Add("label", k+"="+v)
	}
	res, err := b.cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return res.Items, nil
}

// command returns the container's command and arguments that run preRun
// and then command; nil, nil keeps the image's entrypoint and command.
func command(preRun []string, command string) (cmd, args []string) {
	var pre []string
	for _, c := range preRun {
		if strings.TrimSpace(c) != "" {
			pre = append(pre, c)
		}
	}
	command = strings.TrimSpace(command)
	if command == "" && len(pre) == 0 {
		return nil, nil
	}
	if len(pre) == 0 && !strings.ContainsAny(command, ";&|<>()$`\\\"'*?[]#~=%{}\n") {
		f := strings.Fields(command)
		return f[:1], f[1:]
	}
	parts := make([]string, 0, len(pre)+1)
	for _, c := range pre {
		parts = append(parts, "{ "+c+"\n}")
	}
	if command != "" {
		parts = append(parts, "{ "+command+"\n}")
	}
	return []string{shell, "-c", strings.Join(parts, " && ")}, nil
}

// instanceEnv is the app's environment, sorted, with the port last.
func instanceEnv(spec runtime.InstanceSpec, port int) []string {
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	env := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	portEnv := spec.PortEnv
	if portEnv == "" {
		portEnv = defaultPortEnv
	}
	return append(env, portEnv+"="+strconv.Itoa(port))
}

// checkID rejects instance IDs that cannot be part of a service name.
func checkID(id string) error {
	if id == "" || len(id) > 55 {
		return fmt.Errorf("invalid instance ID %q", id)
	}
	for i, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && r == '-'
		if !ok {
			return fmt.Errorf("invalid instance ID %q", id)
		}
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
