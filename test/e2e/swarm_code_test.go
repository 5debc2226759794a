package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/swarmenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// loadBaseImage copies runtime rt's base image from the test engine, where
// dockerenv.BaseImage made it (TestDockerManagedRuntimes already did, so
// no test builds it twice), into node n's engine, in the background. The
// daemon then finds it on the manager, as if it had built it there, and
// pushes it to the cluster registry. It returns the image's tag and a
// channel that gets the copy's outcome.
func loadBaseImage(t *testing.T, n *swarmenv.Node, rt string) (string, <-chan error) {
	t.Helper()
	img, _, took := dockerenv.BaseImage(t, rt)
	if img.Built {
		t.Logf("built %s in %s", img.Ref, took.Round(time.Second))
	}
	src, err := client.New(client.WithHost(dockerenv.Docker(t)), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	dst := n.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	done, out := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(done)
		defer src.Close()
		start := time.Now()
		err := copyImage(ctx, src, dst, img.Ref)
		if err == nil {
			t.Logf("loaded %s into node %s in %s", img.Ref, n.Name, time.Since(start).Round(time.Millisecond))
		}
		out <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return img.Ref, out
}

// copyImage saves ref from src and loads it into dst.
func copyImage(ctx context.Context, src, dst *client.Client, ref string) error {
	saved, err := src.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer saved.Close()
	loaded, err := dst.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	msg, err := io.ReadAll(loaded)
	loaded.Close()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if _, err := dst.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("after loading (%s): %w", strings.TrimSpace(string(msg)), err)
	}
	return nil
}

// consoleCluster signs in to the console with a `slipway console-url` link,
// as a browser would, and checks that its Cluster page, linked in the
// navigation, shows both nodes, each with one of instances (the IDs
// `slipway cluster status` reported) linked to service's page.
func consoleCluster(t *testing.T, s *testenv.Server, c *swarmenv.Cluster, service string, instances []string) {
	t.Helper()
	out, err := s.Slipway("console-url")
	if err != nil {
		t.Fatalf("slipway console-url: %v\n%s", err, out)
	}
	link, err := url.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := hc.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "slipway_session" && ck.Value != "" {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("sign-in link: status %d, no session cookie", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, link.Scheme+"://"+link.Host+"/console/cluster", nil)
	req.AddCookie(session)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("console's Cluster page: status %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{`<a href="/console/cluster">Cluster</a>`, "2 nodes, 2 instances",
		`<span class="badge ok">leader</span>`, "manager", "worker"} {
		if !strings.Contains(body, want) {
			t.Errorf("console's Cluster page lacks %q", want)
		}
	}
	// Each node's section, in order, holds one of the instances.
	iA, iB := strings.Index(body, `data-node="`+c.A.Addr+`"`), strings.Index(body, `data-node="`+c.B.Addr+`"`)
	if iA < 0 || iB < iA {
		t.Fatalf("console's Cluster page lists node %s at %d and node %s at %d, want both, the manager first\n%s", c.A.Addr, iA, c.B.Addr, iB, body)
	}
	sections := []string{body[iA:iB], body[iB:]}
	for i, sec := range sections {
		var on []string
		for _, id := range instances {
			if strings.Contains(sec, `data-instance="`+id+`"`) {
				on = append(on, id)
			}
		}
		if len(on) != 1 || !strings.Contains(sec, `">`+service+`</a>`) || !strings.Contains(sec, "Healthy") ||
			!strings.Contains(sec, `<span class="status ok">ready</span>`) {
			t.Errorf("console's Cluster page, node %d: instances %v of %v, want one healthy instance of %s linked, on a ready node\n%s",
				i, on, instances, service, sec)
		}
	}
}

// codeService deploys a PYTHON_3 service from a git repository with
// MinSize 2 (asc) on the cluster: it is built on the manager on the base
// image Slipway made from Debian packages, pushed to the cluster registry,
// runs an instance on each node and serves through the router; deleting it
// leaves nothing on either node.
func codeService(t *testing.T, s *testenv.Server, c *swarmenv.Cluster, asc map[string]any) {
	ctx := t.Context()
	mgr := c.A.Client(t)
	repo := newGitRepo(t)
	// On a cluster an instance is reached at its node's address.
	repo.Write("app.py", strings.Replace(testenv.PyApp, `(("127.0.0.1"`, `(("0.0.0.0"`, 1))
	repo.Write("version.txt", "v1\n")
	repo.Write("requirements.txt", "# nothing beyond the standard library\n")
	repo.Commit("a Python app")
	src := valuesSource(repo, map[string]any{
		"Runtime":                     "PYTHON_3",
		"BuildCommand":                "pip install -r requirements.txt",
		"StartCommand":                "python3 app.py",
		"Port":                        "8080",
		"RuntimeEnvironmentVariables": map[string]any{"GREETING": "on-swarm"},
	})
	start := time.Now()
	out := s.MustAWS("create-service", "--service-name", "swarm-py", "--source-configuration", mustJSON(t, src),
		"--auto-scaling-configuration-arn", str(asc, "AutoScalingConfiguration", "AutoScalingConfigurationArn"),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, svcURL := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	if st := s.WaitOperation(arn, str(out, "OperationId"), 3*time.Minute); st != "SUCCEEDED" {
		t.Fatalf("creating swarm-py: %s\n%s", st, s.Logs("swarm-py", ""))
	}
	t.Logf("code service built, pushed and running on the cluster in %s (operation %s)",
		time.Since(start).Round(time.Millisecond), opDuration(t, s, arn, str(out, "OperationId")))
	for i, line := range strings.Split(s.Logs("swarm-py", ""), "\n") {
		for _, step := range []string{"base image", "pushing", "started at", "Successfully built", "healthy"} {
			if i == 0 || strings.Contains(line, step) {
				t.Log(line)
				break
			}
		}
	}
	expectBody(t, s, svcURL, "app v1 on-swarm pid=")

	// One instance on each node, each serving at its node's address.
	if nodes := runningNodes(ctx, t, mgr, arn); len(nodes) != 2 || nodes[0] == nodes[1] {
		t.Fatalf("swarm-py's tasks run on nodes %v, want one on each of 2", nodes)
	}
	addrs := instanceAddrs(t, s, "swarm-py")
	slices.Sort(addrs)
	if len(addrs) != 2 || !strings.HasPrefix(addrs[0], c.A.Addr+":") || !strings.HasPrefix(addrs[1], c.B.Addr+":") {
		t.Fatalf("slipway cluster status puts swarm-py's instances at %v, want one on %s and one on %s", addrs, c.A.Addr, c.B.Addr)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, a := range addrs {
		resp, err := hc.Get("http://" + a + "/")
		if err != nil {
			t.Errorf("instance at %s: %v", a, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "app v1 on-swarm") {
			t.Errorf("instance at %s answered %d %q", a, resp.StatusCode, b)
		}
	}

	// Its image went through the cluster registry: the instances run the
	// pushed build by digest, pulled by each node, and the base image was
	// pushed there too.
	svcs, err := mgr.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", "slipway.service="+arn)})
	if err != nil {
		t.Fatal(err)
	}
	var image string
	for _, sv := range svcs.Items {
		img := sv.Spec.TaskTemplate.ContainerSpec.Image
		if !strings.HasPrefix(img, c.Registry+"/slipway-build@sha256:") {
			t.Errorf("swarm-py's Swarm service %s runs %s, want a build in %s by digest", sv.Spec.Name, img, c.Registry)
		}
		image = img
	}
	for _, n := range []*swarmenv.Node{c.A, c.B} {
		if _, err := n.Client(t).ImageInspect(ctx, image); err != nil {
			t.Errorf("node %s lacks %s: %v", n.Name, image, err)
		}
	}
	log := s.Logs("swarm-py", "")
	for _, want := range []string{"pushing " + c.Registry + "/slipway-build:", "pushed the base image to " + c.Registry + "/slipway/runtime-python:"} {
		if !strings.Contains(log, want) {
			t.Errorf("swarm-py's log lacks %q:\n%s", want, log)
		}
	}
	if repos := registryCatalog(t, c.Registry); !slices.Contains(repos, "slipway-build") || !slices.Contains(repos, "slipway/runtime-python") {
		t.Errorf("the cluster registry holds %v, want slipway-build and slipway/runtime-python", repos)
	}

	_, digest, _ := strings.Cut(image, "@")
	if code := manifestStatus(t, c.Registry, "slipway-build", digest); code != http.StatusOK {
		t.Errorf("the registry answers %d for the build %s, want 200", code, image)
	}

	s.MustAWS("delete-service", "--service-arn", arn)
	nothingLeft(t, c, "deleting the code service")
	// Its build's manifest is gone from the registry, for the registry's
	// garbage collection to reclaim.
	for deadline := time.Now().Add(30 * time.Second); ; {
		code := manifestStatus(t, c.Registry, "slipway-build", digest)
		if code == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the service was deleted its build %s answers %d in the registry, want 404\n%s", image, code, s.DaemonLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// manifestStatus is the status the registry at addr answers a HEAD of
// repo's manifest ref (a tag or digest) with.
func manifestStatus(t *testing.T, addr, repo, ref string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+addr+"/v2/"+repo+"/manifests/"+ref, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// instanceAddrs returns the node address and port of service's instances
// as `slipway cluster status --json` reports them.
func instanceAddrs(t *testing.T, s *testenv.Server, service string) []string {
	t.Helper()
	out, err := s.Slipway("cluster", "status", "--json")
	if err != nil {
		t.Fatalf("slipway cluster status --json: %v\n%s", err, out)
	}
	var nodes []struct {
		Addr      string
		Instances []struct {
			Service, Health string
			Port            int
		}
	}
	if err := json.Unmarshal([]byte(out), &nodes); err != nil {
		t.Fatalf("cluster status: %v\n%s", err, out)
	}
	var addrs []string
	for _, n := range nodes {
		for _, in := range n.Instances {
			if in.Service == service {
				addrs = append(addrs, fmt.Sprintf("%s:%d", n.Addr, in.Port))
			}
		}
	}
	return addrs
}

// registryCatalog lists the repositories of the registry at addr.
func registryCatalog(t *testing.T, addr string) []string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cat struct{ Repositories []string }
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil {
		t.Fatalf("registry catalog: %v", err)
	}
	return cat.Repositories
}
