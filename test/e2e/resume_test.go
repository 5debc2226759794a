package e2e

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/test/dockerenv"
)

// TestDockerPauseResume pauses and resumes an image service on a real
// Docker Engine: the resume serves again from the digest the service
// deployed, with no pull, although its tag has moved to another image
// meanwhile.
func TestDockerPauseResume(t *testing.T) {
	host := dockerenv.Docker(t)
	reg := dockerenv.Registry(t)
	repoName := reg + "/e2e-" + strings.ToLower(t.Name())
	// A run of its own in the image, so that its digest is new to the
	// engine and the first deployment pulls it.
	run := "E2E_RUN=" + strconv.FormatInt(time.Now().UnixNano(), 10)
	dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION=v1", run))

	created := time.Now()
	s := startServer(t, "--docker-host", host, "--git-poll-interval", "0")
	t.Cleanup(func() {
		removeContainers(host, s.DataDir)
		removeImages(host, repoName)
	})
	src := map[string]any{
		"ImageRepository": map[string]any{
			"ImageIdentifier":     repoName + ":latest",
			"ImageRepositoryType": "ECR",
			"ImageConfiguration":  map[string]any{"Port": "8080"},
		},
		"AutoDeploymentsEnabled": false,
	}
	out := s.MustAWS("create-service", "--service-name", "resumed-svc", "--source-configuration", mustJSON(t, src),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 90*time.Second)
	expectBody(t, s, url, "hello from testapp v1")
	if p := pulls(t, host, repoName, created); len(p) == 0 {
		t.Fatal("no pull event for the first deployment: the check for pulls below would see nothing either")
	}
	before := containerImages(t, host, s.DataDir)
	if len(before) != 1 {
		t.Fatalf("%d containers run, want 1", len(before))
	}

	s.MustAWS("pause-service", "--service-arn", arn)
	s.WaitStatus(arn, "PAUSED", 60*time.Second)
	if code, body, _ := s.Get(url, "/"); code != 503 || !strings.Contains(strings.ToLower(body), "paused") {
		t.Fatalf("paused service answered %d %q, want 503 saying paused", code, body)
	}
	if n := len(containerImages(t, host, s.DataDir)); n != 0 {
		t.Fatalf("%d containers run while paused, want 0", n)
	}

	// The tag moves on: a resume that resolved or pulled it again would
	// serve v2.
	dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION=v2", run))

	resumed := time.Now()
	op := s.MustAWS("resume-service", "--service-arn", arn)["OperationId"].(string)
	if st := s.WaitOperation(arn, op, 90*time.Second); st != "SUCCEEDED" {
		t.Fatalf("resume ended %s, want SUCCEEDED\n%s", st, s.Logs("resumed-svc", op))
	}
	s.WaitStatus(arn, "RUNNING", 30*time.Second)
	expectBody(t, s, url, "hello from testapp v1")
	after := containerImages(t, host, s.DataDir)
	if len(after) != 1 || after[0] != before[0] {
		t.Errorf("after the resume containers run images %v, want the deployed %v", after, before)
	}
	logs := s.Logs("resumed-svc", op)
	if !strings.Contains(logs, "no rebuild") {
		t.Errorf("resume log does not say it starts the same release:\n%s", logs)
	}
	for _, pulled := range []string{"pulling", "resolving", "deploying image"} {
		if strings.Contains(logs, pulled) {
			t.Errorf("resume log says %q, want no pull:\n%s", pulled, logs)
		}
	}
	if p := pulls(t, host, repoName, resumed); len(p) != 0 {
		t.Errorf("the engine pulled %v during the resume, want no pull", p)
	}
}

// containerImages lists the image IDs of the containers a daemon runs.
func containerImages(t *testing.T, host, dataDir string) []string {
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
	var out []string
	for _, c := range res.Items {
		out = append(out, c.ImageID)
	}
	return out
}

// pulls lists the engine's image pull events of repo since a time.
func pulls(t *testing.T, host, repo string, since time.Time) []string {
	t.Helper()
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res := cli.Events(ctx, client.EventsListOptions{
		Since:   strconv.FormatInt(since.Unix()-1, 10),
		Until:   strconv.FormatInt(time.Now().Unix()+1, 10),
		Filters: client.Filters{}.Add("type", "image").Add("event", "pull"),
	})
	var out []string
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return out
			}
			if name := m.Actor.Attributes["name"]; strings.HasPrefix(m.Actor.ID, repo) || strings.HasPrefix(name, repo) {
				out = append(out, m.Actor.ID)
			}
		case err, ok := <-res.Err:
			if ok && err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("docker events: %v", err)
			}
			return out
		}
	}
}

// removeImages removes the images of repo a test pulled into the shared
// engine.
func removeImages(host, repo string) {
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx := context.Background()
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", repo)})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
}
