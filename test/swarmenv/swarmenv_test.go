package swarmenv_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/swarmenv"
)

// TestCluster proves the environment: a service of 2 replicas lands one
// task on each node, each on the node's network with its port published
// in host mode, and both answer from the host at their node's address.
func TestCluster(t *testing.T) {
	c := swarmenv.Start(t)
	ref := c.Registry + "/swarmenv-test/app:1"
	digest := dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_HOST=0.0.0.0", "APP_VERSION=env"))
	cli := c.A.Client(t)
	const port = 18080
	replicas := uint64(2)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "swarmenv-test"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: c.Registry + "/swarmenv-test/app@" + digest,
				Env:   []string{"PORT=18080"},
			},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: "host"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{MaxReplicas: 1},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{
			Protocol: network.TCP, TargetPort: port, PublishedPort: port,
			PublishMode: swarm.PortConfigPublishModeHost,
		}}},
	}
	created, err := cli.ServiceCreate(t.Context(), client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	nodeOf := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(nodeOf) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("tasks running on %d node(s) after 60 s, want 2", len(nodeOf))
		}
		time.Sleep(200 * time.Millisecond)
		tasks, err := cli.TaskList(t.Context(), client.TaskListOptions{Filters: client.Filters{}.Add("service", created.ID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks.Items {
			if tk.Status.State == swarm.TaskStateFailed || tk.Status.State == swarm.TaskStateRejected {
				t.Fatalf("task %s: %s: %s", tk.ID, tk.Status.State, tk.Status.Err)
			}
			if tk.Status.State == swarm.TaskStateRunning {
				nodeOf[tk.ID] = tk.NodeID
			}
		}
	}
	nodes := map[string]bool{}
	for _, n := range nodeOf {
		nodes[n] = true
	}
	if len(nodes) != 2 {
		t.Fatalf("2 tasks on %d node(s), want one on each", len(nodes))
	}
	for _, n := range []*swarmenv.Node{c.A, c.B} {
		url := "http://" + n.Addr + ":18080/pid"
		var body string
		for time.Now().Before(deadline) {
			body, err = getBody(url)
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || !strings.Contains(body, "hello from testapp env") {
			t.Fatalf("GET %s = %q, %v", url, body, err)
		}
		t.Logf("node %s: %s", n.Name, strings.TrimSpace(body))
	}
	// A node's engine dies: its task's address stops answering at once,
	// and the manager finds the node down.
	if err := c.Kill(c.B); err != nil {
		t.Fatal(err)
	}
	if _, err := getBody("http://" + c.B.Addr + ":18080/"); err == nil {
		t.Fatalf("node b still answers after Kill")
	}
	down := time.Now()
	for {
		res, err := cli.NodeList(t.Context(), client.NodeListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, nd := range res.Items {
			if nd.Status.State == swarm.NodeStateDown {
				n++
			}
		}
		if n == 1 {
			break
		}
		if time.Since(down) > 30*time.Second {
			t.Fatalf("node b not down after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("node b found down %s after its engine was killed", time.Since(down).Round(time.Millisecond))
	if err := c.Restart(c.B); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(t.Context(), 2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("node b ready again %s after it was killed", time.Since(down).Round(time.Millisecond))
}

func getBody(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
