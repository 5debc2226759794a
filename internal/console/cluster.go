package console

import (
	"context"
	"net/http"
	"time"

	"github.com/slipwayhq/slipway/internal/engine"
)

// Cluster reports the nodes that instances run on, each with its
// instances, their services and health verdicts: the engine, whose
// ClusterStatus `slipway cluster status` shows too.
type Cluster interface {
	ClusterStatus(ctx context.Context) ([]engine.ClusterNode, error)
}

// SetCluster shows the Cluster page, over cl, when instances run on a
// cluster (--runtime swarm). Without it the navigation has no Cluster link
// and the page answers 404. Call it before Handler.
func (c *Console) SetCluster(cl Cluster) { c.cluster = cl }

// clusterData is the Cluster page.
type clusterData struct {
	Nodes []nodeView
	// Instances counts the instances on all nodes.
	Instances int
}

// nodeView is a node with its instances, as the Cluster page shows it.
type nodeView struct {
	engine.ClusterNode
	// Instances are ClusterNode's, with their services' pages.
	Instances []clusterInstanceView
}

// clusterInstanceView is an instance on a node, with its service's console
// ID ("" for an instance no live service owns) for the link.
type clusterInstanceView struct {
	engine.ClusterInstance
	ServiceID string
}

func (c *Console) clusterPage(w http.ResponseWriter, r *http.Request) {
	if c.cluster == nil {
		p := newPage(r, "Not found", nil)
		p.Live, p.Error = false, "Slipway runs every instance on this machine, not on a cluster (slipway server --runtime swarm)."
		c.render(w, http.StatusNotFound, "error", p)
		return
	}
	d, err := c.loadCluster(r.Context())
	if err != nil {
		// The manager did not answer: say so on the page, which the
		// next change event or a reload fetches again.
		c.log.Error("cluster status", "err", err)
		p := newPage(r, "Cluster", nil)
		p.Poll = clusterPoll
		p.Error = "The Swarm manager did not answer; the daemon log has the details."
		c.render(w, http.StatusBadGateway, "cluster", p)
		return
	}
	p := newPage(r, "Cluster", d)
	p.Poll = clusterPoll
	c.render(w, http.StatusOK, "cluster", p)
}

// clusterPoll is how often the Cluster page fetches itself again: a node
// going down or a health verdict changing writes nothing to the store.
const clusterPoll = 5 * time.Second

// loadCluster is the cluster as the engine reports it, with each
// instance's service resolved to its console page.
func (c *Console) loadCluster(ctx context.Context) (clusterData, error) {
	nodes, err := c.cluster.ClusterStatus(ctx)
	if err != nil {
		return clusterData{}, err
	}
	svcs, err := c.listServices(ctx)
	if err != nil {
		return clusterData{}, err
	}
	// Live services' names are unique.
	ids := make(map[string]string, len(svcs))
	for _, s := range svcs {
		ids[s.Name] = s.ID
	}
	d := clusterData{Nodes: make([]nodeView, 0, len(nodes))}
	for _, n := range nodes {
		nv := nodeView{ClusterNode: n, Instances: make([]clusterInstanceView, 0, len(n.Instances))}
		for _, in := range n.Instances {
			nv.Instances = append(nv.Instances, clusterInstanceView{ClusterInstance: in, ServiceID: ids[in.Service]})
		}
		d.Nodes = append(d.Nodes, nv)
		d.Instances += len(n.Instances)
	}
	return d, nil
}

// nodeStateClass colours a node's state: ready is fine, down or
// disconnected is not, anything else is on its way.
func nodeStateClass(state string) string {
	switch state {
	case "ready":
		return "ok"
	case "down", "disconnected":
		return "bad"
	}
	return "busy"
}

// availabilityClass colours a node's availability: only an active node
// takes new instances.
func availabilityClass(a string) string {
	if a == "active" {
		return "ok"
	}
	return "idle"
}

// taskStateClass colours the state of an instance's Swarm task.
func taskStateClass(state string) string {
	switch state {
	case "running":
		return "ok"
	case "failed", "rejected", "orphaned":
		return "bad"
	case "complete", "shutdown", "remove":
		return "idle"
	}
	return "busy"
}

// healthClass colours a health verdict ("Healthy", "Unhealthy",
// "Unknown").
func healthClass(verdict string) string {
	switch verdict {
	case "Healthy":
		return "ok"
	case "Unhealthy":
		return "bad"
	}
	return "idle"
}
