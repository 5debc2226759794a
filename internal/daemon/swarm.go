package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/slipwayhq/slipway/internal/engine"
	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/swarm"
)

// RuntimeSwarm runs every instance, of code and of images alike, as a
// Docker Swarm service on a cluster (--swarm-host, --cluster-registry).
const RuntimeSwarm = "swarm"

// imageBackend runs images and Dockerfile builds: the docker backend on
// one machine, the swarm backend on a cluster.
type imageBackend interface {
	engine.Puller
	Close() error
}

// runtimeBackends returns the backend of code repositories and the one of
// images (nil when none answers): on --runtime swarm one backend, the
// cluster's, does both.
func runtimeBackends(cfg Config, network *netns.Config, log *slog.Logger) (runtime.Backend, imageBackend, error) {
	if cfg.Runtime != RuntimeSwarm {
		b, dock, err := backends(cfg, network, log)
		if err != nil || dock == nil {
			return b, nil, err
		}
		return b, dock, nil
	}
	host := cfg.SwarmHost
	if host == "" {
		host = cfg.DockerHost
	}
	sw, err := swarm.New(swarm.Config{
		Host:          host,
		Registry:      cfg.ClusterRegistry,
		Labels:        map[string]string{"slipway.daemon": daemonLabel(cfg.DataDir)},
		RuntimeImages: cfg.RuntimeImages,
	}, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--runtime swarm: %w", err)
	}
	if cfg.ClusterRegistry == "" {
		log.Warn("no --cluster-registry: code and Dockerfile builds cannot run on the cluster, only image services")
	}
	return sw, sw, nil
}

// resolver resolves image tags for deployments and automatic deployments.
type resolver interface {
	Resolve(ctx context.Context, ref string, public bool) (string, error)
	Locate(ref string) (string, error)
}

// clusterImages resolves tags as the cluster sees its registries when the
// image backend is a swarm (the manager's engine asks the registry), and
// as this machine does otherwise.
func clusterImages(dock imageBackend, r imageResolver) resolver {
	if sw, ok := dock.(*swarm.Backend); ok {
		return swarmResolver{imageResolver: r, sw: sw}
	}
	return r
}

type swarmResolver struct {
	imageResolver
	sw *swarm.Backend
}

func (r swarmResolver) Resolve(ctx context.Context, ref string, _ bool) (string, error) {
	loc, err := r.ecr.Locate(ref)
	if err != nil {
		return "", err
	}
	return r.sw.Resolve(ctx, loc)
}
