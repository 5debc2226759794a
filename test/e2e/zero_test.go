package e2e

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// TestScaleToZero: a service whose auto scaling configuration opts into
// scale to zero (tags slipway:min-size=0, slipway:idle-timeout) stops its
// last instance after the idle timeout, stays RUNNING, and serves the next
// request from a fresh instance; a daemon restart while it is at zero
// leaves it able to wake.
func TestScaleToZero(t *testing.T) {
	s := startServer(t)
	asc := s.MustAWS("create-auto-scaling-configuration", "--auto-scaling-configuration-name", "to-zero",
		"--min-size", "1", "--max-size", "2",
		"--tags", "Key=slipway:min-size,Value=0", "Key=slipway:idle-timeout,Value=2s")
	ascARN := str(asc, "AutoScalingConfiguration", "AutoScalingConfigurationArn")
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	out := s.MustAWS("create-service", "--service-name", "sleepy", "--auto-scaling-configuration-arn", ascARN,
		"--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
			"Runtime": "PYTHON_3", "StartCommand": "python3 app.py",
			"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "sleepy"},
		})))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)
	first := servedPID(t, s, url)
	defer func() {
		if t.Failed() {
			t.Log(s.DaemonLog())
		}
	}()

	waitGone := func(pid string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("instance %s still runs after the idle timeout\n%s", pid, s.DaemonLog())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitGone(first)
	if st := str(s.MustAWS("describe-service", "--service-arn", arn), "Service", "Status"); st != "RUNNING" {
		t.Fatalf("at zero the service is %s, want RUNNING", st)
	}

	// The next request waits for a fresh instance and is served.
	began := time.Now()
	second := servedPID(t, s, url)
	t.Logf("cold start, first request to response: %s", time.Since(began))
	if second == first {
		t.Fatalf("served by the old instance %s after scaling to zero", first)
	}
	expectBody(t, s, url, "sleepy v1")

	// At zero again, the daemon restarts; the service still wakes.
	waitGone(second)
	s.Stop()
	s.Restart()
	third := servedPID(t, s, url)
	if third == second {
		t.Fatalf("served by a stopped instance after the restart")
	}
	expectBody(t, s, url, "sleepy v1")
}
