package e2e

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// The apps below are written as App Runner users write them: they listen on
// the port their configuration names, hard-coded, and never read $PORT.

const nodeYAML = `version: 1.0
runtime: nodejs18
build:
  commands:
    build:
      - echo "building node app"
run:
  command: node server.js
  network:
    port: 3000
    env: APP_PORT
`

const nodeServer = `const http = require('http');
const fs = require('fs');
const version = fs.readFileSync(__dirname + '/version.txt', 'utf8').trim();
http.createServer((req, res) => {
  res.end('node ' + version + ' APP_PORT=' + process.env.APP_PORT + ' pid=' + process.pid + '\n');
}).listen(3000, () => console.log('listening on 3000'));
`

const goServer = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	v, _ := os.ReadFile("version.txt")
	version := strings.TrimSpace(string(v))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "gin-like %s PORT=%s pid=%d\n", version, os.Getenv("PORT"), os.Getpid())
	})
	fmt.Println("listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

// twoInstances is an auto scaling configuration that keeps two instances.
func twoInstances(t *testing.T, s *testenv.Server) string {
	t.Helper()
	out := s.MustAWS("create-auto-scaling-configuration", "--auto-scaling-configuration-name", "two-instances",
		"--min-size", "2", "--max-size", "2")
	return str(out, "AutoScalingConfiguration", "AutoScalingConfigurationArn")
}

// instanceRE finds an instance's name in its answer: a pid, or for
// containers a host name and pid.
var instanceRE = regexp.MustCompile(`pid=(\S+)`)

// servingPIDs asks a service's URL until it has seen want different
// instances (by the pid in their answers) and returns them.
func servingPIDs(t *testing.T, s *testenv.Server, url, path, body string, want int) map[string]bool {
	t.Helper()
	pids := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(pids) < want {
		code, got, err := s.Get(url, path)
		if err != nil || code != 200 || !strings.Contains(got, body) {
			t.Fatalf("%s answered %d %q (%v), want %q", url, code, got, err, body)
		}
		if m := instanceRE.FindStringSubmatch(got); m != nil {
			pids[m[1]] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: saw instances %v, want %d", url, pids, want)
		}
	}
	return pids
}

// portCase is one App Runner app that hard-codes its configured port.
type portCase struct {
	name    string
	create  func(name string) []string // create-service arguments after the name
	path    string                     // answers with the instance's pid
	body    func(version string) string
	advance func(version string) // makes the next version
}

// runPortCase deploys the app with two instances, a second service with the
// same port beside it, and redeploys the first under continuous requests
// with no failure. It returns the first service's URL.
func runPortCase(t *testing.T, s *testenv.Server, tc portCase, scaling string) string {
	t.Helper()
	first := s.MustAWS(append([]string{"create-service", "--service-name", tc.name, "--auto-scaling-configuration-arn", scaling}, tc.create(tc.name)...)...)
	second := s.MustAWS(append([]string{"create-service", "--service-name", tc.name + "-beside"}, tc.create(tc.name+"-beside")...)...)
	arn, url := str(first, "Service", "ServiceArn"), str(first, "Service", "ServiceUrl")
	arn2, url2 := str(second, "Service", "ServiceArn"), str(second, "Service", "ServiceUrl")
	if d := s.WaitStatus(arn, "RUNNING", 120*time.Second); str(d, "Service", "Status") != "RUNNING" {
		t.Fatalf("%s did not start:\n%s", tc.name, s.Logs(tc.name, ""))
	}
	s.WaitStatus(arn2, "RUNNING", 120*time.Second)
	servingPIDs(t, s, url, tc.path, tc.body("v1"), 2)
	servingPIDs(t, s, url2, tc.path, tc.body("v1"), 1)

	tc.advance("v2")
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, s, url, tc.body("v1"), tc.body("v2"))
	l2 := startLoad(ctx, s, url2, tc.body("v1"))
	time.Sleep(200 * time.Millisecond)
	op := s.MustAWS("start-deployment", "--service-arn", arn)["OperationId"].(string)
	if st := s.WaitOperation(arn, op, 120*time.Second); st != "SUCCEEDED" {
		t.Fatalf("%s: redeploy ended %s\n%s", tc.name, st, s.Logs(tc.name, op))
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-l.done
	<-l2.done
	if l.failed != 0 || l.total < 20 {
		t.Fatalf("%s: during the redeploy %d of %d requests failed (first: %s)", tc.name, l.failed, l.total, l.firstFailure)
	}
	if l2.failed != 0 {
		t.Fatalf("%s-beside: %d of %d requests failed while %s redeployed (first: %s)", tc.name, l2.failed, l2.total, tc.name, l2.firstFailure)
	}
	t.Logf("%s: redeploy under load: %d requests, 0 failed; beside it %d requests, 0 failed", tc.name, l.total, l2.total)
	servingPIDs(t, s, url, tc.path, tc.body("v2"), 2)
	return url
}

// TestAppRunnerPorts deploys, unmodified, a Node app whose apprunner.yaml
// sets network.port 3000 (and the variable APP_PORT) and a Go app
// configured through the API with Port 8080, both listening on their
// configured port, on the process runtime.
func TestAppRunnerPorts(t *testing.T) {
	s := startServer(t)
	scaling := twoInstances(t, s)

	node := newGitRepo(t)
	node.Write("apps/hono-api/apprunner.yaml", nodeYAML)
	node.Write("apps/hono-api/server.js", nodeServer)
	node.Write("apps/hono-api/version.txt", "v1\n")
	node.Commit("node app")
	nodeSource := mustJSON(t, map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     node.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   "apps/hono-api",
			"CodeConfiguration": map[string]any{"ConfigurationSource": "REPOSITORY"},
		},
		"AutoDeploymentsEnabled": false,
	})

	goRepo := newGitRepo(t)
	goRepo.Write("go.mod", "module example.com/ginlike\n\ngo 1.21\n")
	goRepo.Write("main.go", goServer)
	goRepo.Write("version.txt", "v1\n")
	goRepo.Commit("go app")
	goSource := mustJSON(t, map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     goRepo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"CodeConfiguration": map[string]any{
				"ConfigurationSource": "API",
				"CodeConfigurationValues": map[string]any{
					"Runtime": "GO_1", "BuildCommand": "go build -o app .", "StartCommand": "./app", "Port": "8080",
				},
			},
		},
		"AutoDeploymentsEnabled": false,
	})

	for _, tc := range []portCase{
		{
			name:   "node-3000",
			path:   "/",
			create: func(string) []string { return []string{"--source-configuration", nodeSource} },
			body:   func(v string) string { return "node " + v + " APP_PORT=3000 " },
			advance: func(v string) {
				node.Write("apps/hono-api/version.txt", v+"\n")
				node.Commit("node " + v)
			},
		},
		{
			name:   "go-8080",
			path:   "/",
			create: func(string) []string { return []string{"--source-configuration", goSource} },
			body:   func(v string) string { return "gin-like " + v + " PORT=8080 " },
			advance: func(v string) {
				goRepo.Write("version.txt", v+"\n")
				goRepo.Commit("go " + v)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runPortCase(t, s, tc, scaling) })
	}
}

// TestImagePort80 runs, on Docker, an image whose server listens on :80
// (not $PORT) with ImageConfiguration.Port "80": two instances, a second
// service on port 80 beside it, and a redeploy of a new digest under load.
func TestImagePort80(t *testing.T) {
	host := dockerenv.Docker(t)
	reg := dockerenv.Registry(t)
	repoName := reg + "/e2e-port80"
	dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION=v1", "APP_LISTEN=:80"))
	s := startServer(t, "--docker-host", host)
	t.Cleanup(func() { removeContainers(host, s.DataDir) })
	source := mustJSON(t, map[string]any{
		"ImageRepository": map[string]any{
			"ImageIdentifier":     repoName + ":latest",
			"ImageRepositoryType": "ECR",
			"ImageConfiguration":  map[string]any{"Port": "80"},
		},
		"AutoDeploymentsEnabled": false,
	})
	url := runPortCase(t, s, portCase{
		name:   "image-80",
		create: func(string) []string { return []string{"--source-configuration", source} },
		path:   "/pid",
		body:   func(v string) string { return "hello from testapp " + v },
		advance: func(v string) {
			dockerenv.Push(t, repoName+":latest", dockerenv.AppImage(t, "APP_VERSION="+v, "APP_LISTEN=:80"))
		},
	}, twoInstances(t, s))

	// A container reaches the host's loopback at 10.0.2.2, but not the API.
	_, apiPort, _ := net.SplitHostPort(s.API)
	_, routerPort, _ := net.SplitHostPort(s.Router)
	if got := ask(t, s, url, "/dial?addr="+netns.HostLoopback+":"+routerPort); !strings.HasPrefix(got, "connected") {
		t.Fatalf("container to the host's loopback (the router's port): %q", got)
	}
	if got := ask(t, s, url, "/dial?addr="+netns.HostLoopback+":"+apiPort); !strings.Contains(got, "refused") {
		t.Fatalf("container to the API listener: %q, want connection refused", got)
	}
}

// TestHostNetworkFallback runs the daemon without namespaces, as on a host
// where they cannot be made: it says so once at start, and the Node app
// that listens on its configured port 3000 rather than on $APP_PORT fails
// its first deployment with a reason that says exactly that.
func TestHostNetworkFallback(t *testing.T) {
	s := startServer(t, "--instance-network", "host")
	node := newGitRepo(t)
	node.Write("apprunner.yaml", nodeYAML)
	node.Write("server.js", nodeServer)
	node.Write("version.txt", "v1\n")
	node.Commit("node app")
	out := s.MustAWS("create-service", "--service-name", "node-host",
		"--source-configuration", mustJSON(t, map[string]any{
			"CodeRepository": map[string]any{
				"RepositoryUrl":     node.Dir,
				"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
				"CodeConfiguration": map[string]any{"ConfigurationSource": "REPOSITORY"},
			},
			"AutoDeploymentsEnabled": false,
		}),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn := str(out, "Service", "ServiceArn")
	if st := s.WaitOperation(arn, out["OperationId"].(string), 60*time.Second); st != "FAILED" {
		t.Fatalf("first deployment ended %s, want FAILED", st)
	}
	s.WaitStatus(arn, "CREATE_FAILED", 10*time.Second)
	logs := s.Logs("node-host", out["OperationId"].(string))
	if !strings.Contains(logs, "the app listens on its configured port 3000 rather than on $APP_PORT") {
		t.Fatalf("operation log does not say the app listens on 3000 rather than $APP_PORT:\n%s", logs)
	}
	if !strings.Contains(s.DaemonLog(), "instance_network=host") {
		t.Fatalf("daemon log does not say instances share the host's network:\n%s", s.DaemonLog())
	}
}
