package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/test/testenv"
)

var pidRE = regexp.MustCompile(`pid=(\d+)`)

func servedPID(t *testing.T, s *testenv.Server, url string) string {
	t.Helper()
	_, body, err := s.Get(url, "/")
	m := pidRE.FindStringSubmatch(body)
	if err != nil || m == nil {
		t.Fatalf("GET %s = %q, %v; want a pid", url, body, err)
	}
	return m[1]
}

func alive(pid string) bool {
	var n int
	for _, c := range pid {
		n = n*10 + int(c-'0')
	}
	return syscall.Kill(n, 0) == nil
}

// TestKillRestart kills the daemon with SIGKILL in steady state and in the
// middle of a deployment: apps keep running, a restarted daemon re-adopts
// them without restarting them, and the interrupted deployment settles.
func TestKillRestart(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	out := s.MustAWS("create-service", "--service-name", "api-svc",
		"--source-configuration", mustJSON(t, apiSource(repo)),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)
	expectBody(t, s, url, "api v1")
	pid1 := servedPID(t, s, url)

	// Steady state: a clean stop (SIGTERM), then kill -9: the app lives on
	// through both, and each restart re-adopts it.
	for _, stop := range []func(){s.Stop, s.Kill} {
		stop()
		if !alive(pid1) {
			t.Fatalf("app process %s died with the daemon", pid1)
		}
		s.Restart()
		expectBody(t, s, url, "api v1")
		if got := servedPID(t, s, url); got != pid1 {
			t.Fatalf("after restart the app is pid %s, want the re-adopted %s", got, pid1)
		}
	}

	// Mid-deployment: the daemon dies (SIGKILL, by a failpoint) once v2 is
	// built, before the build is recorded or an instance of it starts.
	// v2's build waits for a gate file, open for this first attempt.
	gate := filepath.Join(t.TempDir(), "gate")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	repo.Write("services/api/version.txt", "v2\n")
	repo.Write("services/api/apprunner.yaml", strings.Replace(apiYAML, `- echo "building api at $(pwd)"`,
		`- while [ ! -e `+gate+` ]; do sleep 0.05; done`, 1))
	repo.Commit("api v2, built once the gate is open")
	s.Stop()
	s.RestartWith(failpoint.EnvVar + "=deploy.after-build")
	opID := s.MustAWS("start-deployment", "--service-arn", arn)["OperationId"].(string)
	if !s.WaitExit(30 * time.Second) {
		t.Fatal("the daemon did not reach failpoint deploy.after-build within 30s")
	}
	if !alive(pid1) {
		t.Fatalf("app process %s died with the daemon mid-deploy", pid1)
	}
	// The gate is shut: the resumed deployment rebuilds v2 (its build was
	// not recorded) and cannot switch until the test opens it, so the old
	// version, the re-adopted instance, must serve as soon as the daemon
	// is back, whatever the timing.
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	expectBody(t, s, url, "api v1")
	if got := servedPID(t, s, url); got != pid1 {
		t.Fatalf("while v2 is rebuilt pid %s serves, want the re-adopted %s", got, pid1)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := s.WaitOperation(arn, opID, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("interrupted deployment ended %s, want SUCCEEDED after resuming", st)
	}
	s.WaitStatus(arn, "RUNNING", 5*time.Second)
	expectBody(t, s, url, "api v2")
	if logs := s.Logs("api-svc", opID); !strings.Contains(logs, "resuming START_DEPLOYMENT after a daemon restart") {
		t.Errorf("operation log does not mention the resume:\n%s", logs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(pid1) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid1) {
		t.Errorf("old instance %s still runs after v2 took over", pid1)
	}
	for _, o := range s.MustAWS("list-services")["ServiceSummaryList"].([]any) {
		if st := o.(map[string]any)["Status"]; st == "OPERATION_IN_PROGRESS" {
			t.Errorf("service %v still OPERATION_IN_PROGRESS", o)
		}
	}
}
