package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/appconfig"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// deploy builds the configuration the operation carries and moves traffic
// to it blue/green: new instances start beside the old ones, must pass the
// health check, then the router switches and the old instances drain.
func (e *Engine) deploy(ctx context.Context, svc store.Service, op store.Operation, logs *opLog) error {
	cfg := svc.Config
	if op.Config != nil {
		cfg = *op.Config
	}
	// Candidates of an earlier attempt of this operation (the daemon died
	// mid-deploy) are not trusted: start over.
	e.stopRole(ctx, svc, store.RoleCandidate)

	began := e.now()
	rel, err := e.prepare(ctx, svc, op, cfg, logs)
	if err != nil {
		return err
	}
	if err := e.store.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.Operation(op.ID)
		if err != nil {
			return err
		}
		o.Revision, o.UpdatedAt = rel.Revision, e.now()
		return tx.PutOperation(o)
	}); err != nil {
		return err
	}
	n, err := e.deployCount(ctx, svc, cfg)
	if err != nil {
		return err
	}
	check := healthCheck(cfg.HealthCheck)
	logs.printf("starting %d instance(s) of %s; health check %s", n, short(rel.Revision), describeCheck(check))
	e.warnUnlimited(rel, logs)
	next := svc
	next.Config = cfg // what the instances run with, tracing included
	started, err := e.startInstances(ctx, next, op.ID, rel, n, check, logs)
	if err != nil {
		return err
	}
	failpoint.Hit("deploy.health-passed")

	// Switch: one transaction makes the new release live, the new
	// instances active and the old ones draining, and ends the operation.
	var old []store.Instance
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		insts, err := tx.Instances(svc.ARN)
		if err != nil {
			return err
		}
		for _, in := range insts {
			if in.Role == store.RoleActive {
				in.Role = store.RoleDraining
				old = append(old, in)
				if err := tx.PutInstance(in); err != nil {
					return err
				}
			}
		}
		for _, in := range started {
			in.Role = store.RoleActive
			if err := tx.PutInstance(in); err != nil {
				return err
			}
		}
		rel.DeployedAt = e.now()
		status, err := settledStatus(tx, svc.ARN, op.ID, ar.ServiceStatusRunning)
		if err != nil {
			return err
		}
		cur.Config, cur.Release, cur.Status, cur.UpdatedAt = cfg, &rel, status, e.now()
		if err := tx.PutService(cur); err != nil {
			return err
		}
		if err := e.succeedLocked(tx, op.ID, rel.Revision); err != nil {
			return err
		}
		failpoint.Hit("deploy.before-switch") // everything written, nothing committed
		return nil
	})
	if err != nil {
		return err
	}
	failpoint.Hit("deploy.after-switch")
	e.syncRoute(ctx, svc.ARN)
	logs.printf("traffic moved to %s in %s", short(rel.Revision), e.now().Sub(began).Round(time.Millisecond))
	failpoint.Hit("deploy.draining")
	e.retire(e.life, svc, old, logs)
	failpoint.Hit("deploy.retired")
	e.gcBuilds(e.life, svc)
	return nil
}

// prepare gets what a configuration deploys: a build of the branch head
// (or of the commit an automatic deployment decided on), or a pulled image.
func (e *Engine) prepare(ctx context.Context, svc store.Service, op store.Operation, cfg store.Config, logs *opLog) (store.Release, error) {
	if cfg.Source.ImageRepository != nil {
		return e.prepareImage(ctx, op, cfg, logs)
	}
	return e.prepareCode(ctx, svc, op, cfg, logs)
}

// prepareCode fetches the source, reads its configuration and builds it,
// reusing an earlier build of the same commit and configuration.
func (e *Engine) prepareCode(ctx context.Context, svc store.Service, op store.Operation, cfg store.Config, logs *opLog) (store.Release, error) {
	var rel store.Release
	code := cfg.Source.CodeRepository
	url, branch := code.RepositoryUrl, code.SourceCodeVersion.Value
	dir, err := ar.CleanSourceDirectory(deref(code.SourceDirectory))
	if err != nil {
		return rel, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	logs.printf("fetching %s (branch %s)", url, branch)
	if err := e.git.Fetch(ctx, url); err != nil {
		return rel, fmt.Errorf("%w: fetching %s: %w", ErrSource, url, err)
	}
	commit, err := e.git.Head(ctx, url, branch)
	if err != nil {
		return rel, fmt.Errorf("%w: branch %q of %s: %w", ErrSource, branch, url, err)
	}
	if op.Trigger == triggerAuto && op.Revision != "" {
		// Automatic deployments deploy the commit that was decided on;
		// manual ones deploy the branch head.
		commit = op.Revision
		logs.printf("automatic deployment of commit %s of branch %s", commit, branch)
	} else {
		logs.printf("deploying commit %s of branch %s", commit, branch)
	}
	failpoint.Hit("deploy.after-fetch")
	if ok, err := e.git.HasDir(ctx, url, commit, dir); err != nil {
		return rel, fmt.Errorf("%w: %w", ErrSource, err)
	} else if !ok {
		return rel, fmt.Errorf("%w: source directory %q does not exist in %s at commit %s (branch %s)",
			ErrSource, dir, url, short(commit), branch)
	}
	plan, spec, dockerfile, err := e.plan(ctx, url, commit, dir, code.CodeConfiguration, cfg.Instance)
	if err != nil {
		return rel, err
	}
	// A build belongs to the service that made it: its row, its files and
	// its image go when that service prunes its builds or is deleted. So
	// another service with equal inputs makes a build of its own instead
	// of reusing one that could vanish under it.
	spec.Key = serviceBuildKey(svc.ARN, spec.Key)
	builder := e.backend
	if dockerfile {
		if e.docker == nil {
			return rel, fmt.Errorf("%w: %s has a Dockerfile and no %s, which needs a Docker Engine; none answers (set DOCKER_HOST or start dockerd)",
				ErrConfig, displayDir(dir), appconfig.FileName)
		}
		builder = e.docker
	}
	rel = store.Release{OperationID: op.ID, Revision: commit, Run: plan}

	var b store.Build
	err = e.store.View(ctx, func(tx *store.Tx) (err error) {
		b, err = tx.Build(spec.Key)
		return err
	})
	switch {
	case err == nil && b.Artifact.Backend == builder.Name():
		ok, err := e.artifactExists(ctx, b.Artifact)
		if err != nil {
			return rel, fmt.Errorf("%w: build %s: %w", ErrBuild, spec.Key, err)
		}
		if ok {
			logs.printf("reusing build %s of commit %s", spec.Key, short(commit))
			rel.Artifact = b.Artifact
			return rel, nil
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return rel, err
	}

	spec.SourceDir = filepath.Join(e.cfg.DataDir, "builds", svc.ID, spec.Key)
	// A directory without a recorded build is a leftover of an interrupted
	// one: start from a clean export.
	if err := os.RemoveAll(spec.SourceDir); err != nil {
		return rel, err
	}
	if err := e.git.Export(ctx, url, commit, spec.SourceDir); err != nil {
		return rel, fmt.Errorf("%w: exporting %s: %w", ErrSource, short(commit), err)
	}
	switch {
	case dockerfile:
		logs.printf("building the Dockerfile in %s with %s", displayDir(dir), builder.Name())
	default:
		logs.printf("building with runtime %s in %s (%s runtime)", spec.Runtime, displayDir(dir), builder.Name())
	}
	if tc, ok := builder.(runtime.ToolchainChecker); ok {
		if w := tc.ToolchainMismatch(ctx, spec); w != "" {
			logs.printf("%s", w)
		}
	}
	start := e.now()
	art, err := builder.Build(ctx, spec, logs.build)
	if err != nil {
		os.RemoveAll(spec.SourceDir)
		return rel, failedAs(ErrBuild, err)
	}
	if !filepath.IsAbs(art.Path) {
		// The build lives in an image; the exported tree is not needed.
		os.RemoveAll(spec.SourceDir)
	}
	logs.printf("build finished in %s", e.now().Sub(start).Round(time.Millisecond))
	failpoint.Hit("deploy.after-build") // built, not yet recorded
	rel.Artifact = art
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		return tx.PutBuild(store.Build{Key: spec.Key, ServiceARN: svc.ARN, Revision: commit, Artifact: art, CreatedAt: e.now()})
	})
	return rel, err
}

// prepareImage resolves an image repository's tag to a digest and pulls
// it. The digest is what the release records and what instances run, so a
// resume restarts the same image without pulling.
func (e *Engine) prepareImage(ctx context.Context, op store.Operation, cfg store.Config, logs *opLog) (store.Release, error) {
	var rel store.Release
	img := cfg.Source.ImageRepository
	if e.docker == nil {
		return rel, fmt.Errorf("%w: image repositories need a Docker Engine; none answers (set DOCKER_HOST or start dockerd)", ErrSource)
	}
	ref := img.ImageIdentifier
	if op.Trigger == triggerAuto && op.Revision != "" {
		ref = op.Revision // the digest the automatic deployment decided on
	} else {
		// A digest is resolved too: the answer names the registry that
		// serves the identifier (an ECR identifier maps to another).
		logs.printf("resolving %s", ref)
		d, err := e.images.Resolve(ctx, ref, img.ImageRepositoryType == ar.ImageRepositoryTypeEcrPublic)
		if err != nil {
			return rel, fmt.Errorf("%w: resolving %s: %w", ErrSource, ref, err)
		}
		ref = d
	}
	logs.printf("deploying image %s", ref)
	start := e.now()
	art, err := e.docker.Pull(ctx, ref, logs.build)
	if err != nil {
		return rel, fmt.Errorf("%w: pulling %s: %w", ErrSource, ref, err)
	}
	logs.printf("image ready in %s", e.now().Sub(start).Round(time.Millisecond))
	ic := img.ImageConfiguration
	if ic == nil {
		ic = &ar.ImageConfiguration{}
	}
	run := store.RunPlan{
		Command: deref(ic.StartCommand),
		Port:    appconfig.DefaultPort,
		PortEnv: appconfig.DefaultPortEnv,
		Env:     ic.RuntimeEnvironmentVariables,
		Secrets: ic.RuntimeEnvironmentSecrets,
	}
	if n, err := strconv.Atoi(deref(ic.Port)); err == nil {
		run.Port = n
	}
	run.CPU, run.Memory = instanceSize(cfg.Instance)
	return store.Release{OperationID: op.ID, Revision: ref, Artifact: art, Run: run}, nil
}

// startInstances starts n instances of rel as candidates and waits until
// all pass the health check. On failure it stops them again and says why,
// with the failing instance's last log lines.
func (e *Engine) startInstances(ctx context.Context, svc store.Service, opID string, rel store.Release, n int, check health.Check, logs *opLog) ([]store.Instance, error) {
	env, err := e.environment(ctx, rel.Run)
	if err != nil {
		return nil, err
	}
	traced := e.traced(ctx, svc.Config)
	if traced {
		logs.printf("tracing: the router traces requests, and instances export their spans to %s", e.cfg.OTLPEndpoint)
	}
	var started []store.Instance
	stopAll := func() {
		for _, in := range started {
			e.stopInstance(e.life, in)
		}
	}
	for range n {
		id := instanceID(opID)
		instEnv := env
		if traced {
			instEnv = under(env, otelEnv(e.cfg.OTLPEndpoint, e.cfg.Region, svc, id))
		}
		spec := runtime.InstanceSpec{
			ID:       id,
			Artifact: rel.Artifact,
			WorkDir:  rel.Run.WorkDir,
			PreRun:   rel.Run.PreRun,
			Command:  rel.Run.Command,
			Port:     rel.Run.Port,
			PortEnv:  rel.Run.PortEnv,
			Env:      instEnv,
			LogPath:  e.instanceLogPath(svc, id),
			CPU:      rel.Run.CPU,
			Memory:   rel.Run.Memory,
			Labels:   map[string]string{"slipway.service": svc.ARN, "slipway.operation": opID},
		}
		if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
			stopAll()
			return nil, err
		}
		b, err := e.backendFor(rel.Artifact.Backend)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("%w: %w", ErrStart, err)
		}
		inst, err := b.Start(ctx, spec)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("%w: %w", ErrStart, err)
		}
		failpoint.Hit("instance.started") // running, not yet recorded
		rec := store.Instance{ID: id, ServiceARN: svc.ARN, OperationID: opID, Role: store.RoleCandidate, Runtime: inst, CreatedAt: e.now()}
		started = append(started, rec)
		if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.PutInstance(rec) }); err != nil {
			stopAll()
			return nil, err
		}
		where := "on the host's network"
		if inst.NetNS != "" {
			where = "in its own network namespace"
		}
		logs.printf("instance %s started at %s %s", id, inst.Addr, where)
	}

	errs := make([]error, len(started))
	var wg sync.WaitGroup
	for i, in := range started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alive := func() error {
				st, err := e.status(ctx, in.Runtime)
				if err != nil {
					return err
				}
				if !st.Running {
					return fmt.Errorf("%w: instance %s %s", ErrCrash, in.ID, st.Reason)
				}
				return nil
			}
			err := e.waitStarted(ctx, in.Runtime)
			if err == nil {
				err = health.WaitHealthy(ctx, probeTarget(in.Runtime), check, alive, e.now)
			}
			if err != nil && !errors.Is(err, ErrCrash) && ctx.Err() == nil {
				err = fmt.Errorf("%w: instance %s: %w%s", ErrHealth, in.ID, err, portHint(ctx, in.Runtime, rel.Run))
			}
			if err != nil {
				err = fmt.Errorf("%w\nLast log lines of %s:\n%s", err, in.ID, lastLines(15, e.instanceLogPath(svc, in.ID)))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		stopAll()
		return nil, err
	}
	e.mu.Lock()
	for _, in := range started {
		e.health[in.ID] = newInstanceHealth(check, true)
	}
	e.mu.Unlock()
	logs.printf("%d instance(s) passed the health check", len(started))
	return started, nil
}

// environment resolves a run plan's environment: App Runner's own
// variables, then the configuration's variables and secrets, which win.
func (e *Engine) environment(ctx context.Context, run store.RunPlan) (map[string]string, error) {
	env := appRunnerEnv(e.cfg.Region)
	for k, v := range run.Env {
		env[k] = v
	}
	for name, ref := range run.Secrets {
		v, err := e.secrets.Resolve(ctx, ref)
		if err != nil {
			// The reference is not secret; the value never appears.
			return nil, fmt.Errorf("%w: secret %s (%s): %w", ErrConfig, name, ref, err)
		}
		env[name] = v
	}
	return env, nil
}

// retire drains instances that no longer receive traffic and stops them.
func (e *Engine) retire(ctx context.Context, svc store.Service, insts []store.Instance, logs *opLog) {
	if len(insts) == 0 {
		return
	}
	ids := make([]string, len(insts))
	for i, in := range insts {
		ids[i] = in.ID
	}
	dctx, cancel := context.WithTimeout(ctx, e.cfg.DrainTimeout)
	if err := e.router.Drain(dctx, ids...); err != nil && logs != nil {
		logs.printf("draining %d old instance(s) took longer than %s; stopping them anyway", len(ids), e.cfg.DrainTimeout)
	}
	cancel()
	// At once, not one after another: a backend's Stop may wait for the
	// grace period (or, on a cluster, for the node to report back).
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Go(func() { e.stopInstance(ctx, in) })
	}
	wg.Wait()
	if logs != nil {
		logs.printf("stopped %d old instance(s)", len(insts))
	}
}

// stopInstance stops one instance and forgets it.
func (e *Engine) stopInstance(ctx context.Context, in store.Instance) {
	b, err := e.backendFor(in.Runtime.Backend)
	if err == nil {
		err = b.Stop(ctx, in.Runtime, e.cfg.StopGrace)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The daemon is stopping: the instance stays recorded, and the
			// next start stops it.
			e.log.Info("instance left for the next start to stop", "instance", in.ID)
			return
		}
		e.log.Error("stop instance", "instance", in.ID, "err", err)
		return
	}
	e.mu.Lock()
	delete(e.health, in.ID)
	e.mu.Unlock()
	if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.DeleteInstance(in.ID) }); err != nil {
		e.log.Error("forget instance", "instance", in.ID, "err", err)
	}
}

// stopRole stops a service's instances that have the given role.
func (e *Engine) stopRole(ctx context.Context, svc store.Service, role string) {
	var insts []store.Instance
	if err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		insts, err = tx.Instances(svc.ARN)
		return err
	}); err != nil {
		e.log.Error("list instances", "err", err)
		return
	}
	for _, in := range insts {
		if in.Role == role {
			e.stopInstance(e.life, in)
		}
	}
}

// gcBuilds removes a service's old builds, keeping the live one and the
// newest few (for fast rollbacks and redeploys).
func (e *Engine) gcBuilds(ctx context.Context, svc store.Service) {
	var (
		builds []store.Build
		live   string
	)
	err := e.store.View(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		if cur.Release != nil {
			live = cur.Release.Artifact.Key
		}
		builds, err = tx.Builds(svc.ARN)
		return err
	})
	if err != nil {
		return
	}
	keep := e.cfg.KeepBuilds
	for i := len(builds) - 1; i >= 0; i-- {
		b := builds[i]
		if b.Key == live {
			continue
		}
		if keep > 0 {
			keep--
			continue
		}
		e.removeBuild(ctx, b)
	}
}

func (e *Engine) removeBuild(ctx context.Context, b store.Build) {
	be, err := e.backendFor(b.Artifact.Backend)
	if err == nil {
		err = be.RemoveArtifact(ctx, b.Artifact)
	}
	if err != nil {
		e.log.Error("remove build", "key", b.Key, "err", err)
		return
	}
	if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.DeleteBuild(b.Key) }); err != nil {
		e.log.Error("forget build", "key", b.Key, "err", err)
	}
}

func instanceID(opID string) string {
	var b [3]byte
	rand.Read(b[:])
	return opID[:8] + "-" + hex.EncodeToString(b[:])
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func displayDir(dir string) string {
	if dir == "" {
		return "the repository root"
	}
	return dir
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
