package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/swarmenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// TestSwarm runs an image service on a real two-node Swarm (test/swarmenv)
// with --runtime swarm: MinSize 2 puts an instance on each node, the
// router serves it from both, `slipway cluster status` and the console's
// Cluster page show both nodes and their instances, a redeploy under
// continuous requests fails none, node B's loss under continuous requests
// (its engine killed, then, once it is back, its network gone silent)
// fails under 1% of them while its instance is replaced on node A and
// never on node B, node B takes instances again once back each time, and
// deleting the service leaves nothing
// on either node. Then a PYTHON_3 code service from a git repository runs
// on both nodes (subtest "code").
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

	instances := clusterStatus(t, s, c, "swarm-svc")
	consoleCluster(t, s, c, "swarm-svc", instances)

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
	t.Logf("redeployed across 2 nodes in %s (operation %s)", time.Since(start).Round(time.Millisecond), opDuration(t, s, arn, op))
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

	nodeLoss(t, s, c, arn, url, false)
	// Then node B vanishes from the network instead: nothing refuses or
	// resets a connection to it, packets to it are only dropped.
	nodeLoss(t, s, c, arn, url, true)

	// The code service's base image goes to the manager while the image
	// service is deleted, not while the timings above are taken.
	base, baseLoaded := loadBaseImage(t, c.A, "PYTHON_3")

	// Deleting it leaves nothing on either node.
	s.MustAWS("delete-service", "--service-arn", arn)
	nothingLeft(t, c, "delete-service")

	t.Run("code", func(t *testing.T) {
		if err := <-baseLoaded; err != nil {
			t.Fatalf("loading the base image %s into the manager: %v", base, err)
		}
		codeService(t, s, c, asc)
	})
}

// nothingLeft waits up to 60 s for no Slipway service to be left on the
// swarm and no container on either node.
func nothingLeft(t *testing.T, c *swarmenv.Cluster, after string) {
	t.Helper()
	ctx := t.Context()
	mgr := c.A.Client(t)
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
				t.Fatalf("after %s: %d swarm service(s) left, %d container(s) on node %s", after, len(svcs.Items), len(cs.Items), n.Name)
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
		if cerrdefs.IsNotFound(err) {
			continue // removed since it was listed: an instance stopped meanwhile
		}
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

// nodeLoss kills node B's engine (and its tasks) while requests run, or
// with vanish cuts it off the network (its packets dropped, so nothing
// refuses or resets a connection), and measures: the share of requests failed, when the router last sent one
// toward node B (its first failed dial marks the instance unreachable),
// when the engine took the lost instance out of the route, and when a
// replacement served on node A. Then node B comes back by itself and takes
// the instances of the next deployment.
func nodeLoss(t *testing.T, s *testenv.Server, c *swarmenv.Cluster, arn, url string, vanish bool) {
	t.Helper()
	lose, recover, what := c.Kill, c.Restart, "killed"
	if vanish {
		lose, recover, what = c.Partition, c.Heal, "vanished"
	}
	ctx := t.Context()
	mgr := c.A.Client(t)
	byAddr := map[string]string{}
	res, err := mgr.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Items {
		byAddr[n.Status.Addr] = n.ID
	}
	nodeA, nodeB := byAddr[c.A.Addr], byAddr[c.B.Addr]
	if nodeA == "" || nodeB == "" {
		t.Fatalf("nodes by address: %v", byAddr)
	}

	w := startWhere(s, url, 4)
	defer w.stop()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if seen := w.nodesSince(time.Now().Add(-time.Second)); seen[c.A.Addr] > 0 && seen[c.B.Addr] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("before node B %s, requests were answered by %v, want both nodes", what, w.nodesSince(time.Time{}))
		}
		time.Sleep(100 * time.Millisecond)
	}
	killed := time.Now()
	if err := lose(c.B); err != nil {
		t.Fatal(err)
	}
	// Replaced on the survivor: two tasks running on node A.
	var replaced time.Duration
	for deadline := time.Now().Add(60 * time.Second); ; {
		nodes := runningNodes(ctx, t, mgr, arn)
		if onA := slices.DeleteFunc(nodes, func(n string) bool { return n != nodeA }); len(onA) == 2 {
			replaced = time.Since(killed)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after node B's loss the tasks run on %v, want 2 on node A (%s)\n%s", nodes, nodeA, s.DaemonLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The replacement takes requests.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, body, err := s.Get(url, "/where"); err == nil && strings.Contains(body, " at "+c.A.Addr+":") {
			if ports := w.portsSince(time.Now().Add(-500*time.Millisecond), c.A.Addr); ports >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after its replacement started, requests reach %d instance(s) on node A, want 2", w.portsSince(time.Now().Add(-time.Second), c.A.Addr))
		}
		time.Sleep(100 * time.Millisecond)
	}
	served := time.Since(killed)
	// Requests go on for at least 5 s after the loss, so that the share
	// failed counts those that met the router's bounds on a vanished
	// node, and enough of them.
	time.Sleep(5*time.Second - time.Since(killed))
	w.stop()
	// The lost instance's service is removed once Swarm finds node B down.
	var removed time.Duration
	for deadline := time.Now().Add(30 * time.Second); ; {
		if nodes := runningNodes(ctx, t, mgr, arn); !slices.Contains(nodes, nodeB) {
			removed = time.Since(killed)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after node B's loss its task is still listed\n%s", s.DaemonLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	total, failed, first := w.failures(killed)
	fromB := w.lastFrom(c.B.Addr, killed)
	lastDial, _ := lastLogLine(t, s, "backend unreachable", killed)
	// "instance ended" (its node found down) or "instance unhealthy",
	// whichever the engine saw first.
	outOfRoute, why := lastLogLine(t, s, "; replacing it", killed)
	// No replacement went to node B: Swarm may call it ready for seconds
	// yet, but it no longer answers.
	if started, _ := daemonLogSince(t, s, killed, "instance started", "addr="+c.B.Addr+":"); len(started) > 0 {
		t.Errorf("%d instance(s) started on node B after it was lost:\n%s", len(started), strings.Join(started, "\n"))
	}
	t.Logf("node B %s: %d of %d requests failed (%.2f%%) over %s; last answer from node B %s after the loss, "+
		"last dial toward it %s after; the engine took its instance out of the route after %s (%s), "+
		"a replacement ran on node A after %s and served after %s; its service was removed after %s (first failure: %s)",
		what, failed, total, 100*float64(failed)/float64(max(total, 1)), served.Round(time.Millisecond),
		fromB.Round(time.Millisecond), lastDial, outOfRoute, why, replaced.Round(time.Millisecond),
		served.Round(time.Millisecond), removed.Round(time.Millisecond), first)
	if total < 100 || failed*100 >= total {
		t.Errorf("node B %s: %d of %d requests failed, want under 1%% (first: %s)", what, failed, total, first)
	}
	if outOfRoute < 0 || outOfRoute > 10*time.Second {
		t.Errorf("the engine took node B's instance out of the route %s after node B %s, want under 10 s", outOfRoute, what)
	}

	// Node B rejoins by itself, and the next deployment puts instances on it.
	back := time.Now()
	if err := recover(c.B); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, 2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("node B ready again %s after it came back", time.Since(back).Round(time.Millisecond))
	op := str(s.MustAWS("start-deployment", "--service-arn", arn), "OperationId")
	if st := s.WaitOperation(arn, op, 120*time.Second); st != "SUCCEEDED" {
		t.Fatalf("deployment after node B came back: %s\n%s", st, s.Logs(arn, op))
	}
	t.Logf("deployed across the 2 nodes again (operation %s)", opDuration(t, s, arn, op))
	for deadline := time.Now().Add(30 * time.Second); ; {
		nodes := runningNodes(ctx, t, mgr, arn)
		if len(nodes) == 2 && slices.Contains(nodes, nodeA) && slices.Contains(nodes, nodeB) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after node B came back and a deployment, tasks run on %v, want one on node A (%s) and one on node B (%s)", nodes, nodeA, nodeB)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, body, err := s.Get(url, "/where"); err == nil && strings.Contains(body, " at "+c.B.Addr+":") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node B's new instance never answered through the router")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// whereLoad sends GET /where from several clients at once and records who
// answered each request, and when.
type whereLoad struct {
	mu     sync.Mutex
	events []whereEvent
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type whereEvent struct {
	at   time.Time
	addr string // node address and port, "" when the request failed
	err  string
}

func startWhere(s *testenv.Server, url string, clients int) *whereLoad {
	ctx, cancel := context.WithCancel(context.Background())
	w := &whereLoad{cancel: cancel}
	for range clients {
		w.wg.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				ev := whereEvent{}
				req, _ := http.NewRequest(http.MethodGet, "http://"+s.Router+"/where", nil)
				req.Host = url
				resp, err := c.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				_, addr, found := strings.Cut(strings.TrimSpace(string(body)), " at ")
				switch {
				case err != nil:
					ev.err = err.Error()
				case resp.StatusCode != http.StatusOK || !found:
					ev.err = fmt.Sprintf("%s: %q", resp.Status, body)
				default:
					ev.addr = addr
				}
				ev.at = time.Now()
				w.mu.Lock()
				w.events = append(w.events, ev)
				w.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return w
}

func (w *whereLoad) stop() {
	w.cancel()
	w.wg.Wait()
}

// nodesSince counts the answers by node address since t.
func (w *whereLoad) nodesSince(t time.Time) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]int{}
	for _, ev := range w.events {
		if ev.at.After(t) && ev.addr != "" {
			host, _, _ := strings.Cut(ev.addr, ":")
			m[host]++
		}
	}
	return m
}

// portsSince counts the instances on node address host that answered since t.
func (w *whereLoad) portsSince(t time.Time, host string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]bool{}
	for _, ev := range w.events {
		if ev.at.After(t) && strings.HasPrefix(ev.addr, host+":") {
			m[ev.addr] = true
		}
	}
	return len(m)
}

func (w *whereLoad) failures(since time.Time) (total, failed int, first string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range w.events {
		if !ev.at.After(since) {
			continue
		}
		total++
		if ev.err != "" {
			failed++
			if first == "" {
				first = ev.err
			}
		}
	}
	return total, failed, first
}

// lastFrom is how long after since node address host last answered, or -1.
func (w *whereLoad) lastFrom(host string, since time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := time.Duration(-1)
	for _, ev := range w.events {
		if ev.at.After(since) && strings.HasPrefix(ev.addr, host+":") {
			last = ev.at.Sub(since)
		}
	}
	return last
}

// daemonLogSince returns the daemon's log lines logged after since that
// contain every one of substrs, with when each was logged.
func daemonLogSince(t *testing.T, s *testenv.Server, since time.Time, substrs ...string) (lines []string, at []time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, line := range strings.Split(string(b), "\n") {
		for _, sub := range substrs {
			if !strings.Contains(line, sub) {
				continue next
			}
		}
		ts, ok := strings.CutPrefix(line, "time=")
		if !ok {
			continue
		}
		ts, _, _ = strings.Cut(ts, " ")
		if when, err := time.Parse(time.RFC3339Nano, ts); err == nil && when.After(since) {
			lines, at = append(lines, line), append(at, when)
		}
	}
	return lines, at
}

// lastLogLine is how long after since the daemon last logged a line
// containing msg, or -1 if it did not, and that line's message.
func lastLogLine(t *testing.T, s *testenv.Server, msg string, since time.Time) (time.Duration, string) {
	t.Helper()
	lines, at := daemonLogSince(t, s, since, msg)
	if len(lines) == 0 {
		return -1, ""
	}
	_, what, _ := strings.Cut(lines[len(lines)-1], `msg="`)
	what, _, _ = strings.Cut(what, `"`)
	return at[len(at)-1].Sub(since).Round(time.Millisecond), what
}

// opDuration is how long an operation took by its own StartedAt and
// EndedAt (seconds since the epoch, as the API sends them).
func opDuration(t *testing.T, s *testenv.Server, arn, op string) time.Duration {
	t.Helper()
	out := s.MustAWS("list-operations", "--service-arn", arn)
	for _, o := range out["OperationSummaryList"].([]any) {
		m := o.(map[string]any)
		if m["Id"] != op {
			continue
		}
		start, ok1 := m["StartedAt"].(float64)
		end, ok2 := m["EndedAt"].(float64)
		if !ok1 || !ok2 {
			t.Fatalf("operation %s: StartedAt %v, EndedAt %v", op, m["StartedAt"], m["EndedAt"])
		}
		return time.Duration((end - start) * float64(time.Second)).Round(time.Millisecond)
	}
	t.Fatalf("operation %s not listed", op)
	return 0
}

// clusterStatus checks `slipway cluster status`: both nodes ready, each
// running one healthy active instance of service, and the table naming
// them. It returns the instances' IDs.
func clusterStatus(t *testing.T, s *testenv.Server, c *swarmenv.Cluster, service string) []string {
	t.Helper()
	out, err := s.Slipway("cluster", "status", "--json")
	if err != nil {
		t.Fatalf("slipway cluster status --json: %v\n%s", err, out)
	}
	var nodes []struct {
		Addr, Role, State, Availability string
		Leader                          bool
		Instances                       []struct {
			ID, Service, State, Health, Role string
			Port                             int
		}
	}
	if err := json.Unmarshal([]byte(out), &nodes); err != nil {
		t.Fatalf("cluster status: %v\n%s", err, out)
	}
	if len(nodes) != 2 || nodes[0].Addr != c.A.Addr || nodes[0].Role != "manager" || !nodes[0].Leader || nodes[1].Addr != c.B.Addr || nodes[1].Role != "worker" {
		t.Fatalf("cluster status lists nodes %+v, want the manager %s then the worker %s", nodes, c.A.Addr, c.B.Addr)
	}
	var ids []string
	for _, n := range nodes {
		if n.State != "ready" || n.Availability != "active" || len(n.Instances) != 1 {
			t.Errorf("node %s: %+v, want ready, active, with one instance", n.Addr, n)
			continue
		}
		in := n.Instances[0]
		ids = append(ids, in.ID)
		if in.Service != service || in.State != "running" || in.Health != "Healthy" || in.Role != "active" || in.Port < 20000 {
			t.Errorf("node %s runs %+v, want a running, healthy, active instance of %s on a node port", n.Addr, in, service)
		}
	}
	table, err := s.Slipway("cluster", "status")
	if err != nil {
		t.Fatalf("slipway cluster status: %v\n%s", err, table)
	}
	for _, want := range []string{"manager (leader)", c.A.Addr, c.B.Addr, service, "Healthy"} {
		if !strings.Contains(table, want) {
			t.Errorf("slipway cluster status lacks %q:\n%s", want, table)
		}
	}
	t.Logf("slipway cluster status:\n%s", table)
	return ids
}
