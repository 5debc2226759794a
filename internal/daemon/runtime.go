package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/slipwayhq/slipway/internal/cgroup"
	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/baseimage"
	"github.com/slipwayhq/slipway/internal/runtime/docker"
	"github.com/slipwayhq/slipway/internal/runtime/process"
	"github.com/slipwayhq/slipway/internal/source/image"
)

// Runtime choices for code repositories (--runtime).
const (
	RuntimeProcess = "process" // host processes with the host's toolchains
	RuntimeDocker  = "docker"  // containers built on the runtime images
	RuntimeAuto    = "auto"    // docker when an engine answers and mmdebstrap is here, else process
)

// backends chooses the backend that builds and runs code repositories and
// the Docker backend, which runs images and Dockerfile builds whatever
// --runtime says, when an engine answers (nil otherwise).
func backends(cfg Config, network *netns.Config, log *slog.Logger) (runtime.Backend, *docker.Backend, error) {
	limits := cgroup.Available()
	if limits != nil {
		log.Warn("process instances run without their Cpu and Memory limits: control groups cannot be made here", "reason", limits)
	}
	proc := process.New(process.Config{Dir: filepath.Join(cfg.DataDir, "run"), ShimPath: cfg.ShimPath, Network: network, Limits: limits == nil}, log)
	dock, err := docker.New(docker.Config{
		Network: network,
		Host:    cfg.DockerHost,
		// Several daemons may share one engine: each lists and adopts only
		// its own containers.
		Labels:        map[string]string{"slipway.daemon": daemonLabel(cfg.DataDir)},
		RuntimeImages: cfg.RuntimeImages,
		// One engine: base images stay in it (BaseImageRegistry is for
		// clusters, whose daemons share them through their registry).
	}, log)
	if err != nil && !errors.Is(err, docker.ErrUnavailable) {
		return nil, nil, fmt.Errorf("docker runtime: %w", err)
	}
	if err != nil {
		dock = nil
	}
	switch cfg.Runtime {
	case RuntimeProcess, "":
		if dock == nil {
			log.Info("no Docker Engine answers: image services and Dockerfiles are unavailable", "err", err)
		}
		return proc, dock, nil
	case RuntimeDocker:
		if dock == nil {
			return nil, nil, fmt.Errorf("--runtime docker: %w", err)
		}
		if why := baseimage.Available(); why != nil {
			log.Warn("managed runtimes without a --runtime-image cannot build: their base images cannot be made here", "reason", why)
		}
		return dock, dock, nil
	case RuntimeAuto:
		if dock == nil {
			log.Info("no Docker Engine answers; using the process runtime", "err", err)
			return proc, nil, nil
		}
		// Docker for code only where managed runtimes can build there.
		if why := baseimage.Available(); why != nil {
			log.Info("code services use the process runtime: base images of managed runtimes cannot be made here", "reason", why)
			return proc, dock, nil
		}
		return dock, dock, nil
	}
	return nil, nil, fmt.Errorf("--runtime must be process, docker or auto, not %q", cfg.Runtime)
}

func daemonLabel(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		return abs
	}
	return dataDir
}

// imageResolver resolves tags with the host's docker credentials, or
// anonymously for public (ECR_PUBLIC) repositories, at the registry that
// stands for an ECR identifier (--ecr-registry, --ecr-public-registry).
type imageResolver struct {
	reg image.Registry
	ecr image.ECR
}

func (r imageResolver) Resolve(ctx context.Context, ref string, public bool) (string, error) {
	loc, err := r.ecr.Locate(ref)
	if err != nil {
		return "", err
	}
	access := image.Private
	if public {
		access = image.Public
	}
	return r.reg.Resolve(ctx, loc, access)
}

// Locate returns the reference registry requests for ref use.
func (r imageResolver) Locate(ref string) (string, error) { return r.ecr.Locate(ref) }

// Instance network choices (--instance-network).
const (
	NetworkNamespace = "namespace" // each instance its own namespace and port
	NetworkHost      = "host"      // the host's network, a free port each
	NetworkAuto      = "auto"      // namespace where it can be made, else host
)

// instanceNetwork decides how instances are networked. With namespaces,
// instances may not connect to the API listener (api) around the router.
// When auto finds namespaces impossible it says so once, here.
func instanceNetwork(mode string, api net.Addr, log *slog.Logger) (*netns.Config, error) {
	switch mode {
	case NetworkHost:
		return nil, nil
	case NetworkNamespace, NetworkAuto, "":
	default:
		return nil, fmt.Errorf("--instance-network must be namespace, host or auto, not %q", mode)
	}
	if err := netns.Available(""); err != nil {
		if mode == NetworkNamespace {
			return nil, fmt.Errorf("--instance-network namespace: %w", err)
		}
		log.Warn("instances cannot have network namespaces of their own here, so they share the host's network: "+
			"each gets a free port in $PORT (not its configured port), and instances can reach each other and the API directly",
			"reason", err)
		return nil, nil
	}
	cfg := &netns.Config{}
	if a, ok := api.(*net.TCPAddr); ok {
		cfg.DenyPorts = []uint16{uint16(a.Port)}
	}
	return cfg, nil
}

func networkName(n *netns.Config) string {
	if n == nil {
		return NetworkHost
	}
	return NetworkNamespace
}
