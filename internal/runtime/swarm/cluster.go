package swarm

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime"
)

var _ runtime.ClusterReporter = (*Backend)(nil)

// Nodes lists the swarm's nodes, managers first, with the tasks of this
// Backend's services that each runs or was last given.
func (b *Backend) Nodes(ctx context.Context) ([]runtime.Node, error) {
	nodes, err := b.cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	svcs, err := b.services(ctx)
	if err != nil {
		return nil, err
	}
	byNode := map[string][]runtime.NodeInstance{}
	for _, s := range svcs {
		if scaledDown(s) {
			continue // stopped; its reaper removes it
		}
		t, ok, err := b.task(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if !ok || t.NodeID == "" {
			continue
		}
		port, _ := strconv.Atoi(s.Spec.Labels[LabelPort])
		byNode[t.NodeID] = append(byNode[t.NodeID], runtime.NodeInstance{
			ID: s.Spec.Labels[LabelInstance], Ref: s.ID, Port: port, State: string(t.Status.State),
		})
	}
	out := make([]runtime.Node, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		node := runtime.Node{
			ID:           n.ID,
			Hostname:     n.Description.Hostname,
			Addr:         n.Status.Addr,
			Role:         string(n.Spec.Role),
			State:        string(n.Status.State),
			Availability: string(n.Spec.Availability),
			Message:      n.Status.Message,
			Instances:    byNode[n.ID],
		}
		if m := n.ManagerStatus; m != nil {
			node.Leader = m.Leader
			if node.Addr == "" || node.Addr == "0.0.0.0" {
				node.Addr, _, _ = net.SplitHostPort(m.Addr)
			}
		}
		if node.Instances == nil {
			node.Instances = []runtime.NodeInstance{}
		}
		slices.SortFunc(node.Instances, func(x, y runtime.NodeInstance) int { return cmp.Compare(x.ID, y.ID) })
		out = append(out, node)
	}
	slices.SortStableFunc(out, func(x, y runtime.Node) int {
		if c := cmp.Compare(rank(x.Role), rank(y.Role)); c != 0 {
			return c
		}
		return cmp.Compare(x.Addr, y.Addr)
	})
	return out, nil
}

func rank(role string) int {
	if role == string(swarm.NodeRoleManager) {
		return 0
	}
	return 1
}
