package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/docker"
)

// Name is the backend's name in stored artifacts and instances.
const Name = "swarm"

// Labels Slipway puts on its Swarm services (never on their containers,
// which the docker backend on the manager's engine would take for its own).
const (
	// LabelManaged ("true") marks the services Slipway created.
	LabelManaged = "slipway.managed"
	// LabelInstance holds the instance ID.
	LabelInstance = "slipway.instance"
	// LabelPort holds the node port the instance listens on.
	LabelPort = "slipway.port"
	// LabelLogPath holds the file the instance's output is copied to.
	LabelLogPath = "slipway.log-path"
)

// Default node ports instances are given, one each across the cluster.
const (
	DefaultPortMin = 20000
	DefaultPortMax = 29999
)

// ErrUnavailable is returned (wrapped) by New when the manager's engine
// does not answer or is not a Swarm manager.
var ErrUnavailable = errors.New("swarm manager unavailable")

// Config configures the swarm backend.
type Config struct {
	// Host is the address of a Swarm manager's Docker Engine, as
	// DOCKER_HOST spells it; empty means DOCKER_HOST or the default socket.
	Host string
	// Registry is the cluster registry (host:port) that every node can pull
	// from; builds are pushed there. Without it only image services run.
	Registry string
	// Labels are put on every service and select the ones List returns,
	// so that several daemons can share a cluster.
	Labels map[string]string
	// NamePrefix starts service names (default "slipway-").
	NamePrefix string
	// RuntimeImages overrides the base images of managed runtimes.
	RuntimeImages map[string]string
	// Keychain supplies registry credentials; nil means the host's docker
	// config.
	Keychain authn.Keychain
	// PortMin and PortMax bound the node ports instances get
	// (default DefaultPortMin..DefaultPortMax).
	PortMin, PortMax int
}

// Backend runs instances as Swarm services.
type Backend struct {
	cfg  Config
	log  *slog.Logger
	cli  *client.Client
	dock *docker.Backend // builds on the manager's engine

	// ctx ends with Close; log copiers run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// probe knocks on nodes before placements (probe.go).
	probe *prober
	// deleteRefused says once that the registry refuses deletes.
	deleteRefused sync.Once

	// portMu serialises port choice with service creation, so that two
	// Starts never pick the same port.
	portMu sync.Mutex

	// mu guards followers (by service ID), ended (the last state of
	// services this Backend removed), reaping (services Stop scaled down
	// whose reaper runs) and closed.
	mu        sync.Mutex
	followers map[string]*follower
	ended     map[string]runtime.State
	reaping   map[string]bool
	closed    bool
}

var (
	_ runtime.Backend         = (*Backend)(nil)
	_ runtime.Lister          = (*Backend)(nil)
	_ runtime.ArtifactChecker = (*Backend)(nil)
)

const connectTimeout = 10 * time.Second

// New connects to the manager's engine, checks that it manages a swarm,
// and resumes copying the logs of the services it finds.
func New(cfg Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "slipway-"
	}
	if cfg.PortMin == 0 || cfg.PortMax == 0 {
		cfg.PortMin, cfg.PortMax = DefaultPortMin, DefaultPortMax
	}
	if cfg.PortMin > cfg.PortMax {
		return nil, fmt.Errorf("swarm: port range %d-%d is empty", cfg.PortMin, cfg.PortMax)
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if _, err := cli.SwarmInspect(ctx, client.SwarmInspectOptions{}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: the engine at %s is not a swarm manager: %w", ErrUnavailable, cli.DaemonHost(), err)
	}
	// Managed-runtime base images go to the cluster registry too, so that a
	// second manager (or a rebuilt one) pulls them instead of building.
	dock, err := docker.New(docker.Config{Host: cfg.Host, Labels: cfg.Labels, RuntimeImages: cfg.RuntimeImages,
		Keychain: cfg.Keychain, NamePrefix: cfg.NamePrefix + "build-", BaseImageRegistry: cfg.Registry}, log)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	b := &Backend{
		cfg:       cfg,
		log:       log.With("component", "runtime/swarm"),
		cli:       cli,
		dock:      dock,
		followers: map[string]*follower{},
		ended:     map[string]runtime.State{},
		reaping:   map[string]bool{},
		probe:     newProber(gossipPort, knockTimeout),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	svcs, err := b.services(ctx)
	if err != nil {
		b.Close()
		return nil, err
	}
	for _, s := range svcs {
		b.follow(s.ID, s.Spec.Labels[LabelInstance], s.Spec.Labels[LabelLogPath])
	}
	if len(svcs) > 0 {
		b.log.Info("adopted services", "count", len(svcs))
	}
	return b, nil
}

// Name returns "swarm".
func (b *Backend) Name() string { return Name }

// Client is the manager's Engine API client, for tests and diagnostics.
func (b *Backend) Client() *client.Client { return b.cli }

// Close stops copying logs and reaping stopped services, and waits for
// both. Services keep running; a new Backend re-adopts them (and a stopped
// one is an orphan its engine stops again).
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	b.dock.Close()
	return b.cli.Close()
}
