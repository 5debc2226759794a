package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
)

// containers lists the containers a daemon started, by ID, with their
// memory limit.
func containers(t *testing.T, host, dataDir string) map[string]int64 {
	t.Helper()
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	abs, _ := filepath.Abs(dataDir)
	res, err := cli.ContainerList(t.Context(), client.ContainerListOptions{
		Filters: client.Filters{}.Add("label", "slipway.daemon="+abs),
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range res.Items {
		in, err := cli.ContainerInspect(t.Context(), c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[c.ID] = in.Container.HostConfig.Memory
	}
	return out
}

// removeContainers removes what a test daemon left on the shared engine.
func removeContainers(host, dataDir string) {
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	abs, _ := filepath.Abs(dataDir)
	ctx := context.Background()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "slipway.daemon="+abs)})
	if err != nil {
		return
	}
	for _, c := range res.Items {
		cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
}

// TestDocker runs image services and a Dockerfile service on a real Docker
// Engine with a real registry: create from an image, automatic deployment
// on a push to the tag with no failed request, a crashing image and one
// that runs out of memory roll back, a Dockerfile from a monorepo source
// directory, and kill -9 of the daemon leaves containers serving and
// re-adopted.
func TestDocker(t *testing.T) {
	host := dockerenv.Docker(t)
	reg := dockerenv.Registry(t)
	repoName := reg + "/e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION=v1"))

	s := startServer(t, "--docker-host", host, "--git-poll-interval", "1s")
	t.Cleanup(func() { removeContainers(host, s.DataDir) })

	src := map[string]any{
		"ImageRepository": map[string]any{
			"ImageIdentifier":     repoName + ":latest",
			"ImageRepositoryType": "ECR",
			"ImageConfiguration":  map[string]any{"Port": "8080", "RuntimeEnvironmentVariables": map[string]any{"GREETING": "x"}},
		},
	}
	out := s.MustAWS("create-service", "--service-name", "image-svc", "--source-configuration", mustJSON(t, src),
		"--instance-configuration", `{"Cpu":"0.25 vCPU","Memory":"0.5 GB"}`,
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	if auto := out["Service"].(map[string]any)["SourceConfiguration"].(map[string]any)["AutoDeploymentsEnabled"]; auto != true {
		t.Errorf("AutoDeploymentsEnabled = %v, want App Runner's default true for a private (ECR) image", auto)
	}
	s.WaitStatus(arn, "RUNNING", 90*time.Second)
	expectBody(t, s, url, "hello from testapp v1")
	cs := containers(t, host, s.DataDir)
	if len(cs) != 1 {
		t.Fatalf("%d containers run, want 1", len(cs))
	}
	for id, mem := range cs {
		if mem != 512<<20 {
			t.Errorf("container %s memory limit = %d, want 512 MiB", id[:12], mem)
		}
	}

	// A push to the tag deploys automatically, with no failed request.
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, s, url, "testapp v1", "testapp v2")
	dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION=v2"))
	expectBodyWithin(t, s, url, "testapp v2", 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-l.done
	if l.failed != 0 || l.total < 10 {
		t.Fatalf("during the automatic image deployment %d of %d requests failed (first: %s)", l.failed, l.total, l.firstFailure)
	}
	if ds := decisions(t, s, "image-svc"); len(ds) == 0 || ds[0].Decision != "deploy" || !strings.Contains(ds[0].Commit, "@sha256:") {
		t.Errorf("decision log = %+v, want a deploy of a digest first", ds)
	}

	// A crashing image and one that runs out of memory roll back.
	dockerenv.Push(t, repoName+":crash", dockerenv.AppImage(t, "APP_MODE=exit"))
	dockerenv.Push(t, repoName+":oom", dockerenv.AppImage(t, "APP_MODE=oom"))
	for _, tc := range []struct{ tag, want string }{{"crash", "exited with code 3"}, {"oom", "out of memory"}} {
		bad := map[string]any{"ImageRepository": map[string]any{"ImageIdentifier": repoName + ":" + tc.tag, "ImageRepositoryType": "ECR"},
			"AutoDeploymentsEnabled": false}
		// A patient health check: filling 512 MiB takes a few seconds on a
		// busy machine, and the out-of-memory kill must come first.
		patient := map[string]any{"Protocol": "HTTP", "Path": "/", "Interval": 1, "Timeout": 1, "UnhealthyThreshold": 20}
		op := s.MustAWS("update-service", "--service-arn", arn, "--source-configuration", mustJSON(t, bad),
			"--health-check-configuration", mustJSON(t, patient))["OperationId"].(string)
		if st := s.WaitOperation(arn, op, 90*time.Second); st != "ROLLBACK_SUCCEEDED" {
			t.Fatalf("deploying the %s image ended %s, want ROLLBACK_SUCCEEDED", tc.tag, st)
		}
		if logs := s.Logs("image-svc", op); !strings.Contains(logs, tc.want) {
			t.Errorf("the %s image's failure does not say %q:\n%s", tc.tag, tc.want, logs)
		}
		expectBody(t, s, url, "testapp v2")
	}

	// A Dockerfile in a monorepo's source directory.
	repo := newGitRepo(t)
	bin, err := os.ReadFile(dockerenv.TestApp(t))
	if err != nil {
		t.Fatal(err)
	}
	repo.Write("README.md", "mono\n")
	repo.Write("services/boxed/Dockerfile", "FROM scratch\nCOPY app /app\nENV APP_VERSION=boxed\nCMD [\"/app\"]\n")
	if err := os.WriteFile(filepath.Join(repo.Dir, "services/boxed/app"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	repo.Commit("a Dockerfile service")
	out = s.MustAWS("create-service", "--service-name", "boxed-svc", "--source-configuration", mustJSON(t, map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   "services/boxed",
		},
		"AutoDeploymentsEnabled": false,
	}))
	boxedARN, boxedURL := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(boxedARN, "RUNNING", 120*time.Second)
	expectBody(t, s, boxedURL, "hello from testapp boxed")

	// kill -9: containers keep serving; the restarted daemon re-adopts
	// the same containers.
	before := containers(t, host, s.DataDir)
	s.Kill()
	s.Restart()
	expectBody(t, s, url, "testapp v2")
	expectBody(t, s, boxedURL, "testapp boxed")
	after := containers(t, host, s.DataDir)
	if len(after) != len(before) || len(after) != 2 {
		t.Fatalf("containers before the restart %v, after %v; want the same 2", keys(before), keys(after))
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("container %s was replaced instead of re-adopted", id[:12])
		}
	}
}

func keys(m map[string]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k[:12])
	}
	return out
}

// TestDockerRegistryWebhook deploys a push to a followed tag from the
// registry's notification alone (polling off): Debian's docker-registry
// posts to /webhooks/registry with the webhook secret as a bearer token.
func TestDockerRegistryWebhook(t *testing.T) {
	host := dockerenv.Docker(t)
	s := startServer(t, "--docker-host", host, "--git-poll-interval", "0")
	t.Cleanup(func() { removeContainers(host, s.DataDir) })
	secret, err := os.ReadFile(filepath.Join(s.DataDir, "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	reg := dockerenv.StartRegistryWithToken(t, "http://"+s.API+"/webhooks/registry", strings.TrimSpace(string(secret)))
	ref := reg + "/hooked:latest"
	dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_VERSION=v1"))
	out := s.MustAWS("create-service", "--service-name", "hooked-svc", "--source-configuration", mustJSON(t, map[string]any{
		"ImageRepository": map[string]any{"ImageIdentifier": ref, "ImageRepositoryType": "ECR"},
	}), "--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 90*time.Second)
	expectBody(t, s, url, "testapp v1")

	dockerenv.Push(t, ref, dockerenv.AppImage(t, "APP_VERSION=v2"))
	expectBodyWithin(t, s, url, "testapp v2", 60*time.Second)
	if ds := decisions(t, s, "hooked-svc"); len(ds) == 0 || ds[0].Trigger != "webhook" || ds[0].Decision != "deploy" {
		t.Errorf("decision log = %+v, want a deploy triggered by the webhook", ds)
	}
}
