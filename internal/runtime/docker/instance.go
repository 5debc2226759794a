package docker

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/runtime"
)

const (
	defaultPortEnv = "PORT"
	// logWait bounds how long Status and Stop wait for an ended
	// container's last output to reach its log file.
	logWait = 2 * time.Second
	// shell runs start commands that need one.
	shell = "/bin/sh"
)

// logConfig keeps the engine's copy of the output bounded; Slipway's copy
// is the instance's log file.
var logConfig = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}}

// Start creates and starts a container of the artifact's image on the host
// network, with its own port in spec.PortEnv, and starts copying its output
// to spec.LogPath. spec.WorkDir is not used: the image sets the directory.
//
// An empty spec.Command runs the image's own entrypoint and command. A start
// command replaces both; a simple one (a program and arguments, no shell
// syntax) runs directly, so images without a shell (FROM scratch) can use
// it, and one that needs a shell, or pre-run commands, runs with /bin/sh -c.
func (b *Backend) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if err := checkID(spec.ID); err != nil {
		return runtime.Instance{}, err
	}
	a := spec.Artifact
	if a.Backend != "" && a.Backend != Name {
		return runtime.Instance{}, fmt.Errorf("start %s: artifact of backend %q", spec.ID, a.Backend)
	}
	if a.Path == "" {
		return runtime.Instance{}, fmt.Errorf("start %s: artifact has no image", spec.ID)
	}
	if err := b.ensureImage(ctx, a); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	port, networkMode, err := b.instanceNetwork(spec)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	entrypoint, cmd, needsShell := command(spec.PreRun, spec.Command)
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
	memory := int64(spec.Memory) << 20
	opts := client.ContainerCreateOptions{
		Name: b.cfg.NamePrefix + spec.ID,
		Config: &container.Config{
			Image:      a.Path,
			Entrypoint: entrypoint,
			Cmd:        cmd,
			Env:        instanceEnv(spec, port),
			Labels:     labels,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:   container.NetworkMode(networkMode),
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			LogConfig:     logConfig,
			Resources: container.Resources{
				Memory: memory,
				// No swap beyond the limit, so that running out of memory
				// is an OOM kill and not a slow crawl.
				MemorySwap: memory,
				NanoCPUs:   int64(math.Round(spec.CPU * 1e9)),
			},
		},
	}
	created, err := b.create(ctx, opts)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	id := created.ID
	fail := func(err error) (runtime.Instance, error) {
		_, _ = b.cli.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	if needsShell {
		if _, err := b.cli.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: shell}); err != nil {
			if cerrdefs.IsNotFound(err) {
				err = fmt.Errorf("the start command needs a shell and the image has no %s; use a plain command (a program and its arguments)", shell)
			}
			return fail(err)
		}
	}
	if spec.LogPath != "" {
		if err := applog.AppendSystem(spec.LogPath, spec.ID, "starting container %s of image %s: %s", short(id), short(strings.TrimPrefix(a.Path, "sha256:")), display(entrypoint, cmd)); err != nil {
			return fail(fmt.Errorf("open log: %w", err))
		}
	}
	if _, err := b.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		if spec.LogPath != "" {
			_ = applog.AppendSystem(spec.LogPath, spec.ID, "failed to start: %v", err)
		}
		return fail(err)
	}
	b.follow(id, spec.ID, spec.LogPath)
	nsPath, err := b.setupNetwork(ctx, id)
	if err != nil && b.exited(ctx, id) {
		// An app that exits at once can end before its network is set
		// up: what happened is its exit, which Status reports ("exited
		// with code 3"), not a failure to start.
		nsPath, err = "", nil
	}
	if err != nil {
		if spec.LogPath != "" {
			_ = applog.AppendSystem(spec.LogPath, spec.ID, "failed to start: %v", err)
		}
		return fail(err)
	}
	inst := runtime.Instance{
		ID:        spec.ID,
		Backend:   Name,
		Ref:       id,
		Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		NetNS:     nsPath,
		StartedAt: time.Now().UTC(),
	}
	b.log.Info("instance started", "id", spec.ID, "container", short(id), "addr", inst.Addr)
	return inst, nil
}

// exited reports whether container id has run and ended.
func (b *Backend) exited(ctx context.Context, id string) bool {
	info, err := b.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && info.Container.State != nil && info.Container.State.Status == container.StateExited
}

// create creates the container; a container left with the same name by an
// earlier instance of the same ID is removed first if it no longer runs.
func (b *Backend) create(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	res, err := b.cli.ContainerCreate(ctx, opts)
	if err == nil || !cerrdefs.IsConflict(err) {
		return res, err
	}
	old, ierr := b.cli.ContainerInspect(ctx, opts.Name, client.ContainerInspectOptions{})
	if ierr != nil {
		return res, err
	}
	if st := old.Container.State; st != nil && st.Running {
		return res, fmt.Errorf("container %s already runs: %w", opts.Name, err)
	}
	b.waitLogs(old.Container.ID, logWait)
	if _, rerr := b.cli.ContainerRemove(ctx, old.Container.ID, client.ContainerRemoveOptions{Force: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
		return res, rerr
	}
	b.forget(old.Container.ID)
	return b.cli.ContainerCreate(ctx, opts)
}

// command returns the entrypoint and command that run preRun and then
// command, and whether they need a shell. Nil, nil keeps the image's.
func command(preRun []string, command string) (entrypoint, cmd []string, needsShell bool) {
	var pre []string
	for _, c := range preRun {
		if strings.TrimSpace(c) != "" {
			pre = append(pre, c)
		}
	}
	command = strings.TrimSpace(command)
	if command == "" && len(pre) == 0 {
		return nil, nil, false
	}
	if len(pre) == 0 && !needsShellSyntax(command) {
		// An empty, non-nil entrypoint clears the image's.
		return []string{}, strings.Fields(command), false
	}
	return []string{}, []string{shell, "-c", script(pre, command)}, true
}

// needsShellSyntax errs towards true, which only costs a shell process (and
// needs a shell in the image).
func needsShellSyntax(c string) bool {
	return strings.ContainsAny(c, ";&|<>()$`\\\"'*?[]#~=%{}\n")
}

// script chains pre-run commands and the start command; the start command
// is exec'd when it is simple, so it gets the container's signals.
func script(pre []string, command string) string {
	parts := make([]string, 0, len(pre)+1)
	for _, c := range pre {
		parts = append(parts, "{ "+c+"\n}")
	}
	switch {
	case command == "":
		// Pre-run commands alone: nothing to exec.
	case !needsShellSyntax(command):
		parts = append(parts, "exec "+command)
	default:
		parts = append(parts, "{ "+command+"\n}")
	}
	return strings.Join(parts, " && ")
}

func display(entrypoint, cmd []string) string {
	if entrypoint == nil && cmd == nil {
		return "the image's command"
	}
	if len(cmd) == 3 && cmd[0] == shell && cmd[1] == "-c" {
		return strings.ReplaceAll(cmd[2], "\n", " ")
	}
	return strings.Join(slices.Concat(entrypoint, cmd), " ")
}

// instanceEnv is the app's environment, sorted, with the port last so that
// it wins. The image's own environment is added by the engine.
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

// Status inspects the instance's container. A container that has ended
// reports how; one that no longer exists reports Running false, with the
// state recorded when this Backend removed it if it did. Status also
// resumes copying the logs of containers a previous daemon started.
func (b *Backend) Status(ctx context.Context, inst runtime.Instance) (runtime.State, error) {
	if inst.Ref == "" {
		return runtime.State{}, fmt.Errorf("status %s: no container ID", inst.ID)
	}
	info, err := b.cli.ContainerInspect(ctx, inst.Ref, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		b.mu.Lock()
		st, ok := b.ended[inst.Ref]
		b.mu.Unlock()
		if ok {
			return st, nil
		}
		return runtime.State{ExitCode: -1, Reason: "ended (container no longer exists)"}, nil
	}
	if err != nil {
		return runtime.State{}, fmt.Errorf("status %s: %w", inst.ID, err)
	}
	c := info.Container
	if c.Config != nil {
		b.follow(c.ID, c.Config.Labels[LabelInstance], c.Config.Labels[LabelLogPath])
	}
	st := stateOf(c)
	// The engine learns of an out-of-memory kill from an event of its own,
	// which can come after the exit: a SIGKILL under a memory limit is
	// looked at again for a moment before it is called a plain kill.
	for i := 0; i < 10 && maybeOOM(c); i++ {
		time.Sleep(50 * time.Millisecond)
		again, err := b.cli.ContainerInspect(ctx, inst.Ref, client.ContainerInspectOptions{})
		if err != nil {
			break
		}
		c = again.Container
		st = stateOf(c)
	}
	if !st.Running {
		b.waitLogs(c.ID, logWait)
	}
	return st, nil
}

// maybeOOM reports whether c ended by SIGKILL under a memory limit without
// the engine (yet) saying it ran out of memory.
func maybeOOM(c container.InspectResponse) bool {
	s := c.State
	return s != nil && !s.Running && !s.OOMKilled && s.ExitCode == 128+9 &&
		c.HostConfig != nil && c.HostConfig.Memory > 0
}

// stateOf maps an inspected container to a runtime.State. Exit codes above
// 128 are the engine's way of saying a signal ended the process.
func stateOf(c container.InspectResponse) runtime.State {
	s := c.State
	if s == nil {
		return runtime.State{ExitCode: -1, Reason: "ended (state unknown)"}
	}
	if s.Running || s.Restarting || s.Paused {
		return runtime.State{Running: true}
	}
	switch {
	case s.OOMKilled:
		reason := "out of memory"
		if c.HostConfig != nil && c.HostConfig.Memory > 0 {
			reason = fmt.Sprintf("out of memory (limit %d MiB)", c.HostConfig.Memory>>20)
		}
		return runtime.State{ExitCode: -1, Reason: reason, OOMKilled: true}
	case s.Error != "":
		return runtime.State{ExitCode: -1, Reason: "failed to start: " + s.Error}
	case s.Status == container.StateCreated:
		return runtime.State{ExitCode: -1, Reason: "never started"}
	case s.ExitCode > 128 && s.ExitCode <= 128+64:
		return runtime.State{ExitCode: -1, Reason: fmt.Sprintf("killed by signal %d", s.ExitCode-128)}
	default:
		return runtime.State{ExitCode: s.ExitCode, Reason: fmt.Sprintf("exited with code %d", s.ExitCode)}
	}
}

// Stop stops the container (SIGTERM, then SIGKILL after grace), waits for
// its last output to be copied, and removes it. Status afterwards reports
// how it ended, from this Backend's memory.
func (b *Backend) Stop(ctx context.Context, inst runtime.Instance, grace time.Duration) error {
	if inst.Ref == "" {
		return fmt.Errorf("stop %s: no container ID", inst.ID)
	}
	secs := int(math.Ceil(grace.Seconds()))
	_, err := b.cli.ContainerStop(ctx, inst.Ref, client.ContainerStopOptions{Timeout: &secs})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", inst.ID, err)
	}
	info, err := b.cli.ContainerInspect(ctx, inst.Ref, client.ContainerInspectOptions{})
	if err == nil {
		if c := info.Container; c.Config != nil {
			// Copy what it wrote last, even if no copier ran yet.
			b.follow(c.ID, c.Config.Labels[LabelInstance], c.Config.Labels[LabelLogPath])
		}
		b.waitLogs(inst.Ref, logWait)
		b.mu.Lock()
		b.ended[inst.Ref] = stateOf(info.Container)
		b.mu.Unlock()
	}
	if _, err := b.cli.ContainerRemove(ctx, inst.Ref, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop %s: remove container: %w", inst.ID, err)
	}
	b.forget(inst.Ref)
	b.log.Info("instance stopped", "id", inst.ID, "container", short(inst.Ref))
	return nil
}

// List returns the containers this backend manages (those with its labels),
// running or not, for re-adoption and for removing the ones no service
// owns. Stop removes one that has ended.
func (b *Backend) List(ctx context.Context) ([]runtime.Instance, error) {
	cs, err := b.containers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Instance, 0, len(cs))
	for _, c := range cs {
		inst := runtime.Instance{
			ID:        c.Labels[LabelInstance],
			Backend:   Name,
			Ref:       c.ID,
			StartedAt: time.Unix(c.Created, 0).UTC(),
		}
		if p := c.Labels[LabelPort]; p != "" {
			inst.Addr = net.JoinHostPort("127.0.0.1", p)
		}
		out = append(out, inst)
	}
	return out, nil
}

func (b *Backend) containers(ctx context.Context) ([]container.Summary, error) {
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	for k, v := range b.cfg.Labels {
		f = f.Add("label", k+"="+v)
	}
	res, err := b.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return res.Items, nil
}

// checkID rejects instance IDs that cannot be part of a container name or
// fit in a log line's source field.
func checkID(id string) error {
	if id == "" || len(id) > 200 {
		return fmt.Errorf("invalid instance ID %q", id)
	}
	for i, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("_.-", r)
		if !ok {
			return fmt.Errorf("invalid instance ID %q", id)
		}
	}
	return nil
}
