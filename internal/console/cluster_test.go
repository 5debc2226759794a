package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/engine"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// fakeCluster reports fixed nodes, or fails.
type fakeCluster struct {
	nodes []engine.ClusterNode
	err   error
}

func (f fakeCluster) ClusterStatus(context.Context) ([]engine.ClusterNode, error) {
	return f.nodes, f.err
}

func TestClusterPageOnOneMachine(t *testing.T) {
	e := newEnv(t)
	if body := e.get("/console/").Body.String(); strings.Contains(body, `href="/console/cluster"`) {
		t.Error("on one machine the navigation links to the Cluster page")
	}
	rec := e.get("/console/cluster")
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /console/cluster on one machine: status %d, want 404", rec.Code)
	}
	wantContains(t, rec.Body.String(), "runs every instance on this machine")
}

func TestClusterPage(t *testing.T) {
	e := newEnv(t)
	api := e.createService("api")
	e.c.SetCluster(fakeCluster{nodes: []engine.ClusterNode{
		{
			Node: runtime.Node{ID: "manager0123456789", Hostname: "node-a", Addr: "10.0.0.1", Role: "manager", Leader: true,
				State: "ready", Availability: "active"},
			Instances: []engine.ClusterInstance{
				{NodeInstance: runtime.NodeInstance{ID: "inst-a1", Port: 20001, State: "running"}, Service: "api", Role: "active", Health: "Healthy"},
				{NodeInstance: runtime.NodeInstance{ID: "inst-orphan", Port: 20002, State: "starting"}, Health: "Unknown"},
			},
		},
		{
			Node: runtime.Node{ID: "worker0123456789", Hostname: "node-b", Addr: "10.0.0.2", Role: "worker",
				State: "down", Availability: "drain", Message: "heartbeat failure <script>"},
			Instances: []engine.ClusterInstance{
				{NodeInstance: runtime.NodeInstance{ID: "inst-b1", Port: 20003, State: "running"}, Service: "api", Role: "draining", Health: "Unhealthy"},
			},
		},
	}})

	if body := e.get("/console/").Body.String(); !strings.Contains(body, `<a href="/console/cluster">Cluster</a>`) {
		t.Error("on a cluster the navigation lacks the Cluster page")
	}
	rec := e.get("/console/cluster")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /console/cluster: status %d, want 200\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	wantContains(t, body,
		"2 nodes, 3 instances",
		`data-node="10.0.0.1"`, "node-a", "10.0.0.1", "manager", `<span class="badge ok">leader</span>`,
		`<span class="status ok">ready</span>`, `<span class="badge ok">active</span>`, `title="manager0123456789">manager01234<`,
		`data-node="10.0.0.2"`, "node-b", "worker", `<span class="status bad">down</span>`, `<span class="badge idle">drain</span>`,
		"heartbeat failure &lt;script&gt;",
		`<a class="svc-link" href="/console/services/`+api.ID+`">api</a>`,
		"<code>inst-a1</code>", "20001", `<span class="badge ok">running</span>`, `<span class="badge ok">Healthy</span>`,
		"<code>inst-orphan</code>", `<span class="muted">none</span>`, `<span class="badge busy">starting</span>`, `<span class="badge idle">Unknown</span>`,
		"<code>inst-b1</code>", "draining", `<span class="badge bad">Unhealthy</span>`,
	)
	// Each node's instances are under it.
	a, b := strings.Index(body, `data-node="10.0.0.1"`), strings.Index(body, `data-node="10.0.0.2"`)
	if a1, b1 := strings.Index(body, "inst-a1"), strings.Index(body, "inst-b1"); a < 0 || b < 0 || !(a < a1 && a1 < b && b < b1) {
		t.Errorf("instances are not under their nodes: node A at %d, inst-a1 at %d, node B at %d, inst-b1 at %d", a, a1, b, b1)
	}
	if strings.Contains(body, "heartbeat failure <script>") {
		t.Error("a node's message is not escaped")
	}
	// Node states and health verdicts are not store writes: the page
	// polls through its feed.
	wantContains(t, body, `data-feed="/console/events?poll=5s"`)

	// Signed out, the page is not shown.
	if rec := e.do("GET", "/console/cluster", nil, true); rec.Code != http.StatusSeeOther || strings.Contains(rec.Body.String(), "node-a") {
		t.Errorf("GET /console/cluster signed out: status %d, want a redirect to sign-in and no nodes", rec.Code)
	}
}

func TestClusterPageManagerDown(t *testing.T) {
	e := newEnv(t)
	e.c.SetCluster(fakeCluster{err: errors.New("dial unix /secret/docker.sock: connection refused")})
	rec := e.get("/console/cluster")
	if rec.Code != http.StatusBadGateway {
		t.Errorf("GET /console/cluster with the manager down: status %d, want 502", rec.Code)
	}
	body := rec.Body.String()
	wantContains(t, body, "The Swarm manager did not answer", `href="/console/cluster"`)
	if strings.Contains(body, "/secret/docker.sock") || strings.Contains(body, "0 nodes") {
		t.Errorf("the page shows the internal error or an empty cluster:\n%s", body)
	}
}
