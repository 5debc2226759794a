package runtime

import "context"

// ClusterReporter is implemented by backends that run instances on a
// cluster of machines (the swarm backend): they say which nodes there are
// and which instances each one runs, for `slipway cluster status`.
type ClusterReporter interface {
	Nodes(ctx context.Context) ([]Node, error)
}

// Node is one machine of a cluster as its manager sees it.
type Node struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Addr is the address instances on the node are reached at.
	Addr string `json:"addr"`
	// Role is "manager" or "worker"; Leader marks the managers' leader.
	Role   string `json:"role"`
	Leader bool   `json:"leader,omitempty"`
	// State is the node's state ("ready", "down", "disconnected",
	// "unknown") and Availability whether it takes new instances
	// ("active", "pause", "drain").
	State        string `json:"state"`
	Availability string `json:"availability"`
	// Message says why the node is in its state, when the manager knows.
	Message   string         `json:"message,omitempty"`
	Instances []NodeInstance `json:"instances"`
}

// NodeInstance is an instance the cluster placed on a node.
type NodeInstance struct {
	// ID is the engine's instance ID, Ref the backend's handle.
	ID  string `json:"id"`
	Ref string `json:"ref"`
	// Port is the node port the instance serves on.
	Port int `json:"port"`
	// State is the cluster's last word on the instance's task ("running",
	// "starting", "shutdown", ...).
	State string `json:"state"`
}

// StartWaiter is implemented by backends whose Start returns before the
// instance's process runs (the swarm backend: Start returns once Swarm
// placed the task, and its node then pulls the image). The engine waits
// for WaitStarted before the health checks' clock starts, so that a slow
// pull is not taken for an app that does not start; on one machine the
// image is there before Start.
type StartWaiter interface {
	// WaitStarted returns nil once the instance's process runs, or once it
	// cannot run any more (it ended, its node is down), which Status then
	// reports; or ctx's error.
	WaitStarted(ctx context.Context, inst Instance) error
}
