package docker

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

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/baseimage"
)

// Name is the backend's name in stored artifacts and instances.
const Name = "docker"

// Labels Slipway puts on its containers and images.
const (
	// LabelManaged ("true") marks everything Slipway created.
	LabelManaged = "slipway.managed"
	// LabelInstance holds the instance ID.
	LabelInstance = "slipway.instance"
	// LabelLogPath holds the file the instance's output is copied to, so
	// that a restarted daemon resumes copying.
	LabelLogPath = "slipway.log-path"
	// LabelPort holds the port the instance listens on.
	LabelPort = "slipway.port"
	// LabelBuildKey, on built images, holds the BuildSpec.Key.
	LabelBuildKey = "slipway.build-key"
)

// ErrUnavailable is returned (wrapped) by New when no Docker Engine answers.
var ErrUnavailable = errors.New("docker engine unavailable")

// Config configures the docker backend.
type Config struct {
	// Host is the engine's address as DOCKER_HOST spells it
	// ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"). Empty means
	// DOCKER_HOST from the environment, else the default socket.
	Host string
	// Labels are put on every container and select the containers List
	// returns, so that several daemons can share one engine
	// (e.g. {"slipway.daemon": dataDir}).
	Labels map[string]string
	// NamePrefix starts container names (default "slipway-").
	NamePrefix string
	// ImageRepo is the repository built images are tagged in, one tag per
	// build key (default "slipway-build").
	ImageRepo string
	// RuntimeImages maps App Runner runtimes to base images of the user's
	// (--runtime-image); runtimes not named here build on Slipway's own,
	// made from Debian packages on first use (package baseimage).
	RuntimeImages map[string]string
	// BaseImageRegistry (host:port), when set, is where Slipway's base
	// images are pulled from before one is built, and pushed to once
	// built, so that a cluster's engines build each at most once.
	BaseImageRegistry string
	// Keychain supplies registry credentials for pulls; nil means the
	// host's docker config (authn.DefaultKeychain).
	Keychain authn.Keychain
	// Network, when set, gives every container a network namespace of its
	// own (network mode "none", outbound through slirp4netns), where it
	// listens on its configured port; nil runs containers on the host's
	// network, each on a free port.
	Network *netns.Config
}

// Backend runs instances as Docker containers.
type Backend struct {
	cfg Config
	log *slog.Logger
	cli *client.Client
	// base makes the base images of managed runtimes.
	base *baseimage.Builder

	// ctx ends with Close; log followers run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards followers (by container ID) and ended: the last state of
	// containers this Backend removed, for Status after Stop.
	mu        sync.Mutex
	followers map[string]*follower
	ended     map[string]runtime.State
	closed    bool
}

var (
	_ runtime.Backend = (*Backend)(nil)
	_ runtime.Lister  = (*Backend)(nil)
)

// connectTimeout bounds New's first contact with the engine.
const connectTimeout = 10 * time.Second

// New connects to the Docker Engine (negotiating the API version), checks
// that it answers, and resumes copying the logs of the containers it
// finds. Close stops that copying; it never stops containers.
func New(cfg Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "slipway-"
	}
	if cfg.ImageRepo == "" {
		cfg.ImageRepo = "slipway-build"
	}
	cfg.RuntimeImages = maps.Clone(cfg.RuntimeImages)
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
	b := &Backend{
		cfg:       cfg,
		log:       log.With("component", "runtime/docker"),
		cli:       cli,
		followers: map[string]*follower{},
		ended:     map[string]runtime.State{},
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.base = baseimage.New(baseimage.Config{Registry: cfg.BaseImageRegistry, Auth: b.registryAuth}, cli, log)
	if err := b.adopt(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Name returns "docker".
func (b *Backend) Name() string { return Name }

// Client is the Engine API client, for callers that need more than the
// runtime contract (tests, diagnostics).
func (b *Backend) Client() *client.Client { return b.cli }

// BaseImages makes the base images of managed runtimes in this backend's
// engine (and its BaseImageRegistry), for other runtimes that build on
// them.
func (b *Backend) BaseImages() *baseimage.Builder { return b.base }

// Close stops copying logs and waits for the copiers. Containers keep
// running; a new Backend re-adopts them.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	b.base.Close()
	return b.cli.Close()
}

// adopt starts copying the logs of every container this backend manages.
func (b *Backend) adopt(ctx context.Context) error {
	cs, err := b.containers(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		b.follow(c.ID, c.Labels[LabelInstance], c.Labels[LabelLogPath])
	}
	if len(cs) > 0 {
		b.log.Info("adopted containers", "count", len(cs))
	}
	return nil
}
