package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/swarmenv"
)

// TestSwarm runs an image service on a real two-node Swarm (test/swarmenv)
// with --runtime swarm: MinSize 2 puts an instance on each node, the
// router serves it from both, a redeploy under continuous requests fails
// none, and deleting it leaves nothing on either node.
func TestSwarm(t *testing.T) {
	c := swarmenv.Start(t)
	repo := c.Registry + "/e2e-swarm"
	dockerenv.Push(t, repo+":latest", dockerenv.AppImage(t, "APP_HOST=0.0.0.0", "APP_VERSION=v1"))

	s := startServer(t, "--runtime", "swarm", "--swarm-host", c.A.Host, "--cluster-registry", c.Registry)
	mgr := c.A.Client(t)
	ctx := t.Context()

	asc := s.MustAWS("create-auto-scaling-configuration", "--auto-scaling-configuration-name", "two-nodes",
		"--min-size", "2", "--max-size", "2")
	src := map[string]any{
		"AutoDeploymentsEnabled": false,
		"ImageRepository": map[string]any{
			"ImageIdentifier":     repo + ":latest",
			"ImageRepositoryType": "ECR",
			"ImageConfiguration":  map[string]any{"Port": "8080"},
		},
	}
	start := time.Now()
	out := s.MustAWS("create-service", "--service-name", "swarm-svc", "--source-configuration", mustJSON(t, src),
		"--auto-scaling-configuration-arn", str(asc, "AutoScalingConfiguration", "AutoScalingConfigurationArn"),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 120*time.Second)
	t.Logf("created and running on the cluster in %s", time.Since(start).Round(time.Millisecond))
	expectBody(t, s, url, "hello from testapp v1")

	// One instance on each node.
	nodes := runningNodes(ctx, t, mgr, arn)
	if len(nodes) != 2 || nodes[0] == nodes[1] {
		t.Fatalf("the service's tasks run on nodes %v, want one on each of 2", nodes)
	}

	// A redeploy under continuous requests fails none.
	dockerenv.Push(t, repo+":latest", dockerenv.AppImage(t, "APP_HOST=0.0.0.0", "APP_VERSION=v2"))
	lctx, cancel := context.WithCancel(context.Background())
	l := startLoad(lctx, s, url, "testapp v1", "testapp v2")
	start = time.Now()
	op := str(s.MustAWS("start-deployment", "--service-arn", arn), "OperationId")
	if st := s.WaitOperation(arn, op, 120*time.Second); st != "SUCCEEDED" {
		cancel()
		t.Fatalf("redeploy: %s\n%s", st, s.Logs("swarm-svc", op))
	}
	t.Logf("redeployed across 2 nodes in %s", time.Since(start).Round(time.Millisecond))
	expectBody(t, s, url, "hello from testapp v2")
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-l.done
	if l.failed != 0 || l.total < 20 {
		t.Errorf("during the redeploy %d of %d requests failed (first: %s)", l.failed, l.total, l.firstFailure)
	}
	t.Logf("%d requests during the redeploy, %d failed", l.total, l.failed)
	// The old instances are drained and stopped after the switch.
	for deadline := time.Now().Add(30 * time.Second); ; {
		nodes := runningNodes(ctx, t, mgr, arn)
		if len(nodes) == 2 && nodes[0] != nodes[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the redeploy the tasks run on nodes %v, want one on each of 2", nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Deleting it leaves nothing on either node.
	s.MustAWS("delete-service", "--service-arn", arn)
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range []*swarmenv.Node{c.A, c.B} {
		cli := n.Client(t)
		for {
			svcs, err := mgr.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", "slipway.managed=true")})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(svcs.Items) == 0 && len(cs.Items) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after delete-service: %d swarm service(s) left, %d container(s) on node %s", len(svcs.Items), len(cs.Items), n.Name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// runningNodes returns the nodes of the running tasks of arn's instances.
func runningNodes(ctx context.Context, t *testing.T, cli *client.Client, arn string) []string {
	t.Helper()
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", "slipway.service="+arn)})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, s := range svcs.Items {
		tasks, err := cli.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", s.ID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks.Items {
			if tk.Status.State == swarm.TaskStateRunning && tk.DesiredState == swarm.TaskStateRunning {
				nodes = append(nodes, tk.NodeID)
			}
		}
	}
	return nodes
}
