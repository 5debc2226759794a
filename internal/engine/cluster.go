package engine

import (
	"context"
	"errors"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// ErrNotCluster is returned by ClusterStatus when no backend runs
// instances on a cluster.
var ErrNotCluster = errors.New("instances do not run on a cluster")

// ClusterNode is a cluster node with the instances it runs, as
// `slipway cluster status` shows them.
type ClusterNode struct {
	runtime.Node
	Instances []ClusterInstance `json:"instances"`
}

// ClusterInstance is an instance on a node, with what the engine knows of
// it: the service it belongs to (empty for one no service owns), its role
// and its health verdict.
type ClusterInstance struct {
	runtime.NodeInstance
	Service string `json:"service"`
	// Role is "active", "candidate" or "draining" (store roles).
	Role string `json:"role,omitempty"`
	// Health is the health check's verdict: "Healthy", "Unhealthy" or
	// "Unknown" (not decided yet, or not an instance the engine probes).
	Health string `json:"health"`
}

// ClusterStatus returns the nodes of the cluster the instances run on,
// each with its instances joined with the store's services and the health
// verdicts.
func (e *Engine) ClusterStatus(ctx context.Context) ([]ClusterNode, error) {
	var cr runtime.ClusterReporter
	for _, b := range e.backends() {
		if c, ok := b.(runtime.ClusterReporter); ok {
			cr = c
			break
		}
	}
	if cr == nil {
		return nil, ErrNotCluster
	}
	nodes, err := cr.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var (
		insts []store.Instance
		names = map[string]string{}
	)
	err = e.store.View(ctx, func(tx *store.Tx) error {
		svcs, err := tx.Services(false)
		if err != nil {
			return err
		}
		for _, s := range svcs {
			names[s.ARN] = s.Name
		}
		insts, err = tx.Instances("")
		return err
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.Instance, len(insts))
	for _, in := range insts {
		byID[in.ID] = in
	}
	out := make([]ClusterNode, 0, len(nodes))
	for _, n := range nodes {
		cn := ClusterNode{Node: n, Instances: make([]ClusterInstance, 0, len(n.Instances))}
		cn.Node.Instances = nil
		for _, ni := range n.Instances {
			ci := ClusterInstance{NodeInstance: ni, Health: e.verdict(ni.ID).String()}
			if in, ok := byID[ni.ID]; ok {
				ci.Service, ci.Role = names[in.ServiceARN], in.Role
			}
			cn.Instances = append(cn.Instances, ci)
		}
		out = append(out, cn)
	}
	return out, nil
}

// waitStarted waits for inst's process to run on backends whose Start
// returns before it does (runtime.StartWaiter: a Swarm node pulls the
// image first), so that the health checks judge the app, not the pull.
func (e *Engine) waitStarted(ctx context.Context, inst runtime.Instance) error {
	b, err := e.backendFor(inst.Backend)
	if err != nil {
		return err
	}
	if w, ok := b.(runtime.StartWaiter); ok {
		return w.WaitStarted(ctx, inst)
	}
	return nil
}
