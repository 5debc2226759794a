package e2e

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hogApp serves "hog <version> pid=<pid>" on $PORT, and its
// /proc/self/cgroup at /cgroup; version "hog" first fills 1 GiB, touching
// every page.
const hogApp = `import http.server, os
version = open("version.txt").read().strip()
if version == "hog":
    print("allocating 1 GiB", flush=True)
    hog = bytearray(1 << 30)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hog {version} pid={os.getpid()}\n".encode()
        if self.path == "/cgroup":
            body = open("/proc/self/cgroup", "rb").read()
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
	src := valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "Port": "8080",
	})
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
	_, groups, err := s.Get(url, "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	checkGroupLimits(t, groups, "25000", 512<<20)

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

// checkGroupLimits reads the CPU quota (per 100 ms) and memory limit of the
// group an app runs in, given the app's /proc/self/cgroup, from the host's
// cgroup filesystem: v1 (here) or v2.
func checkGroupLimits(t *testing.T, procCgroup, wantQuota string, wantMemory int) {
	t.Helper()
	var quota, memory string
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		controllers, path := strings.Split(f[1], ","), f[2]
		switch {
		case !strings.HasPrefix(path, "/slipway/"):
			continue
		case f[1] == "": // v2
			quota, memory = readCgroupFile(t, "/sys/fs/cgroup"+path+"/cpu.max"), readCgroupFile(t, "/sys/fs/cgroup"+path+"/memory.max")
			quota, _, _ = strings.Cut(quota, " ")
		case slices.Contains(controllers, "cpu"):
			quota = readCgroupFile(t, "/sys/fs/cgroup/cpu"+path+"/cpu.cfs_quota_us")
		case slices.Contains(controllers, "memory"):
			memory = readCgroupFile(t, "/sys/fs/cgroup/memory"+path+"/memory.limit_in_bytes")
		}
	}
	if quota != wantQuota || memory != strconv.Itoa(wantMemory) {
		t.Fatalf("the app's group has CPU quota %q and memory limit %q, want %s and %d; /proc/self/cgroup:\n%s",
			quota, memory, wantQuota, wantMemory, procCgroup)
	}
}

func readCgroupFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
