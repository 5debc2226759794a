package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// hogApp serves "hog <version> pid=<pid>" on $PORT; version "hog" first
// fills 1 GiB, touching every page.
const hogApp = `import http.server, os
version = open("version.txt").read().strip()
if version == "hog":
    print("allocating 1 GiB", flush=True)
    hog = bytearray(1 << 30)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hog {version} pid={os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

// TestProcessLimits: on the process runtime, InstanceConfiguration's
// Memory holds: a version that allocates 1 GiB under 0.5 GB is killed, the
// operation says "out of memory (limit 512 MiB)" and rolls back, and the
// old version keeps serving throughout.
func TestProcessLimits(t *testing.T) {
	s := startServer(t)
	repo := newGitRepo(t)
	repo.Write("app.py", hogApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	src := map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"CodeConfiguration": map[string]any{
				"ConfigurationSource": "API",
				"CodeConfigurationValues": map[string]any{
					"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "Port": "8080",
				},
			},
		},
		"AutoDeploymentsEnabled": false,
	}
	// A patient health check: the out-of-memory kill must come first.
	patient := map[string]any{"Protocol": "HTTP", "Path": "/", "Interval": 1, "Timeout": 1, "UnhealthyThreshold": 20}
	out := s.MustAWS("create-service", "--service-name", "hog-svc", "--source-configuration", mustJSON(t, src),
		"--instance-configuration", `{"Cpu":"0.25 vCPU","Memory":"0.5 GB"}`,
		"--health-check-configuration", mustJSON(t, patient))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)
	expectBody(t, s, url, "hog v1")
	if logs := s.Logs("hog-svc", out["OperationId"].(string)); strings.Contains(logs, "not enforced") {
		t.Fatalf("limits are not enforced on this host:\n%s", logs)
	}

	repo.Write("version.txt", "hog\n")
	repo.Commit("allocate 1 GiB")
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, s, url, "hog v1")
	op := s.MustAWS("start-deployment", "--service-arn", arn)["OperationId"].(string)
	if st := s.WaitOperation(arn, op, 90*time.Second); st != "ROLLBACK_SUCCEEDED" {
		t.Fatalf("the 1 GiB deployment ended %s, want ROLLBACK_SUCCEEDED\n%s", st, s.Logs("hog-svc", op))
	}
	cancel()
	<-l.done
	if l.failed != 0 {
		t.Fatalf("%d of %d requests failed while the hog was rolled back (first: %s)", l.failed, l.total, l.firstFailure)
	}
	if logs := s.Logs("hog-svc", op); !strings.Contains(logs, "out of memory (limit 512 MiB)") {
		t.Fatalf("operation log does not say out of memory (limit 512 MiB):\n%s", logs)
	}
	expectBody(t, s, url, "hog v1")
}
