package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// Config tunes the engine.
type Config struct {
	// DataDir holds builds/ and logs/.
	DataDir string
	// Region is the AWS region Slipway answers as; instances get it in
	// AWS_REGION and AWS_DEFAULT_REGION, as on App Runner.
	Region string
	// DeployTimeout bounds one deployment, build included.
	DeployTimeout time.Duration
	// DrainTimeout bounds how long old instances get to finish requests.
	DrainTimeout time.Duration
	// StopGrace is how long an instance has between SIGTERM and SIGKILL.
	StopGrace time.Duration
	// MaxAttempts is how many daemon starts an operation may take before it
	// is failed instead of resumed.
	MaxAttempts int
	// Tick is the period of the reconcile loop.
	Tick time.Duration
	// KeepBuilds is how many builds per service are kept besides the live one.
	KeepBuilds int
	// OTLPEndpoint is where instances of traced services send their spans
	// (OTEL_EXPORTER_OTLP_ENDPOINT: an OTLP/HTTP base URL), as instances
	// reach it. Empty means tracing is off: no route is Traced.
	OTLPEndpoint string
}

func (c *Config) setDefaults() {
	if c.DeployTimeout == 0 {
		c.DeployTimeout = 10 * time.Minute
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.StopGrace == 0 {
		c.StopGrace = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.KeepBuilds == 0 {
		c.KeepBuilds = 2
	}
}

// Router is the part of the data plane the engine drives.
type Router interface {
	SetRoute(router.Route)
	RemoveRoute(host string)
	Drain(ctx context.Context, ids ...string) error
	// SetPrivateAlias serves host's route under alias on the private
	// listener only (a VPC ingress connection's domain).
	SetPrivateAlias(alias, host string)
	RemovePrivateAlias(alias string)
	// Load is a host's requests in flight and queued, for the autoscaler.
	Load(host string) (inFlight, queued int)
}

// Git is the source cache deployments read code from.
type Git interface {
	Fetch(ctx context.Context, url string) error
	Head(ctx context.Context, url, branch string) (string, error)
	HasDir(ctx context.Context, url, commit, dir string) (bool, error)
	ReadFile(ctx context.Context, url, commit, path string) ([]byte, error)
	Export(ctx context.Context, url, commit, dest string) error
}

// Secrets resolves secret references to values.
type Secrets interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Puller is a backend that also runs container images: Docker's.
type Puller interface {
	runtime.Backend
	// Pull fetches an image (a digest reference) and returns it as an
	// artifact.
	Pull(ctx context.Context, ref string, log io.Writer) (runtime.Artifact, error)
}

// Images resolves image tags to digests.
type Images interface {
	Resolve(ctx context.Context, ref string, public bool) (string, error)
}

// Engine runs operations and supervises instances.
type Engine struct {
	cfg     Config
	store   *store.Store
	backend runtime.Backend // builds and runs code repositories
	docker  Puller          // runs images and Dockerfiles; nil without an engine
	images  Images
	router  Router
	git     Git
	secrets Secrets
	log     *slog.Logger
	now     func() time.Time
	obs     Observer // metrics; nil means none

	wake chan struct{}
	wg   sync.WaitGroup // every goroutine the engine starts
	// life is Run's context: cleanups (draining, stopping instances) use it
	// rather than an operation's, so a deployment's deadline can't cut
	// them short, while stopping the daemon still does.
	life context.Context

	mu sync.Mutex
	// busy maps a service ARN to what is working on it (an operation ID or
	// "repair"); the reconciler starts nothing else on a busy service.
	busy map[string]string
	// health holds the steady-state health of active instances by ID.
	health map[string]*instanceHealth
	// backoff delays instance replacement per service after failures.
	backoff map[string]backoff
	// scalers holds the autoscaler's state per service ARN, and hosts maps
	// service hosts to ARNs for WakeHost.
	scalers map[string]*scaler
	hosts   map[string]string
	// ingress is the router's private aliases as last set (VPC ingress
	// domain to service host); the reconciler's alone.
	ingress map[string]string
}

// New returns an engine. Call Run to start it.
func New(cfg Config, st *store.Store, backend runtime.Backend, r Router, git Git, secrets Secrets, log *slog.Logger) *Engine {
	cfg.setDefaults()
	return &Engine{
		cfg: cfg, store: st, backend: backend, router: r, git: git, secrets: secrets, log: log,
		now:     time.Now,
		life:    context.Background(),
		wake:    make(chan struct{}, 1),
		busy:    map[string]string{},
		health:  map[string]*instanceHealth{},
		backoff: map[string]backoff{},
		scalers: map[string]*scaler{},
		hosts:   map[string]string{},
	}
}

// SetDocker gives the engine a Docker backend for image sources and
// Dockerfile builds, and a registry to resolve tags with. Call it before Run.
func (e *Engine) SetDocker(d Puller, images Images) {
	e.docker, e.images = d, images
}

// backendFor returns the backend that owns artifacts and instances of the
// given backend name.
func (e *Engine) backendFor(name string) (runtime.Backend, error) {
	switch {
	case name == "" || name == e.backend.Name():
		return e.backend, nil
	case e.docker != nil && name == e.docker.Name():
		return e.docker, nil
	}
	return nil, fmt.Errorf("no %q runtime backend in this daemon", name)
}

// backends lists the engine's backends.
func (e *Engine) backends() []runtime.Backend {
	if e.docker != nil && e.docker.Name() != e.backend.Name() {
		return []runtime.Backend{e.backend, e.docker}
	}
	return []runtime.Backend{e.backend}
}

// status asks an instance's backend how it is.
func (e *Engine) status(ctx context.Context, inst runtime.Instance) (runtime.State, error) {
	b, err := e.backendFor(inst.Backend)
	if err != nil {
		return runtime.State{}, err
	}
	return b.Status(ctx, inst)
}

// Wake asks the engine to reconcile now. It never blocks.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run re-adopts what a previous daemon left running, then reconciles until
// ctx ends. It returns after every goroutine it started has stopped; it
// never stops app instances on the way out, so apps outlive the daemon.
func (e *Engine) Run(ctx context.Context) error {
	e.life = ctx
	defer e.wg.Wait()
	if err := e.adopt(ctx); err != nil {
		e.log.Error("re-adopting instances", "err", err)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.scaleLoop(ctx)
	}()
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		if err := e.reconcile(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-t.C:
		}
	}
}

// claim marks svc busy with what; it reports false if it already was.
func (e *Engine) claim(svc, what string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.busy[svc]; ok {
		return false
	}
	e.busy[svc] = what
	return true
}

func (e *Engine) release(svc string) {
	e.mu.Lock()
	delete(e.busy, svc)
	e.mu.Unlock()
	e.Wake()
}

func (e *Engine) isBusy(svc string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.busy[svc]
	return ok
}

// goBusy runs fn in a goroutine owned by the engine while svc is claimed.
func (e *Engine) goBusy(ctx context.Context, svc, what string, fn func(ctx context.Context)) bool {
	if !e.claim(svc, what) {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.release(svc)
		fn(ctx)
	}()
	return true
}
