package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// TestDockerManagedRuntimes deploys unmodified code services, configured
// through the API, with `slipway server --runtime docker`: a PYTHON_3 app
// (pip included, which Debian's PEP 668 marker would otherwise refuse) and
// a NODEJS_22 app, built and run on the base images Slipway makes from
// Debian packages. dockerenv.BaseImage makes them first (once per engine,
// however many test processes ask), so the daemon finds them by their
// content-addressed tags instead of building them again.
func TestDockerManagedRuntimes(t *testing.T) {
	host := dockerenv.Docker(t)
	py, _, took := dockerenv.BaseImage(t, "PYTHON_3")
	if py.Built {
		t.Logf("built %s in %s", py.Ref, took.Round(time.Second))
	}
	node, _, took := dockerenv.BaseImage(t, "NODEJS_18")
	if node.Built {
		t.Logf("built %s in %s", node.Ref, took.Round(time.Second))
	}
	s := startServer(t, "--runtime", "docker", "--docker-host", host)
	t.Cleanup(func() { removeContainers(host, s.DataDir) })

	repo := newGitRepo(t)
	repo.Write("py/app.py", testenv.PyApp)
	repo.Write("py/version.txt", "v1\n")
	repo.Write("py/requirements.txt", "# nothing beyond the standard library\n")
	repo.Write("node/server.js", `const http = require("http");
http.createServer((req, res) => res.end("node " + process.version + " " + process.env.GREETING + "\n"))
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT));
`)
	repo.Write("node/package.json", `{"name": "node-app", "version": "1.0.0", "private": true}`+"\n")
	repo.Commit("a Python app and a Node.js app")

	source := func(dir string, values map[string]any) string {
		src := valuesSource(repo, values)
		src["CodeRepository"].(map[string]any)["SourceDirectory"] = dir
		return mustJSON(t, src)
	}
	out := s.MustAWS("create-service", "--service-name", "py-docker", "--source-configuration", source("py", map[string]any{
		"Runtime":                     "PYTHON_3",
		"BuildCommand":                "pip install -r requirements.txt",
		"StartCommand":                "python3 app.py",
		"Port":                        "8080",
		"RuntimeEnvironmentVariables": map[string]any{"GREETING": "from-debian"},
	}), "--health-check-configuration", mustJSON(t, fastHealth))
	pyARN, pyURL := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	out = s.MustAWS("create-service", "--service-name", "node-docker", "--source-configuration", source("node", map[string]any{
		"Runtime":                     "NODEJS_22",
		"BuildCommand":                "npm install",
		"StartCommand":                "node server.js",
		"Port":                        "3000",
		"RuntimeEnvironmentVariables": map[string]any{"GREETING": "hi"},
	}), "--health-check-configuration", mustJSON(t, fastHealth))
	nodeARN, nodeURL := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")

	s.WaitStatus(pyARN, "RUNNING", 5*time.Minute)
	s.WaitStatus(nodeARN, "RUNNING", 5*time.Minute)
	expectBody(t, s, pyURL, "app v1 from-debian pid=")
	expectBody(t, s, nodeURL, "node v18.")
	if cs := containers(t, host, s.DataDir); len(cs) != 2 {
		t.Errorf("%d containers run, want 2 (one per service)", len(cs))
	}

	pyLog := s.Logs("py-docker", "")
	for _, want := range []string{"(docker runtime)", "building on the PYTHON_3 base image " + py.Ref} {
		if !strings.Contains(pyLog, want) {
			t.Errorf("py-docker's log lacks %q:\n%s", want, pyLog)
		}
	}
	if strings.Contains(pyLog, "externally-managed-environment") || strings.Contains(pyLog, "warning: runtime") {
		t.Errorf("py-docker's log has a pip refusal or a version warning:\n%s", pyLog)
	}
	nodeLog := s.Logs("node-docker", "")
	for _, want := range []string{
		"building on the NODEJS_22 base image " + node.Ref,
		"warning: runtime NODEJS_22 asks for Node.js 22, Slipway's Debian bookworm base image has Node.js 18",
	} {
		if !strings.Contains(nodeLog, want) {
			t.Errorf("node-docker's log lacks %q:\n%s", want, nodeLog)
		}
	}
}
