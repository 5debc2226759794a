package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

func apiValuesSource(repo *testenv.GitRepo, dir string, values map[string]any) map[string]any {
	return map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   dir,
			"CodeConfiguration": map[string]any{"ConfigurationSource": "API", "CodeConfigurationValues": values},
		},
		"AutoDeploymentsEnabled": false,
	}
}

// TestFailureReasons checks that each way a deployment can fail ends the
// operation with a reason that says which, visible in slipway logs.
func TestFailureReasons(t *testing.T) {
	// The daemon runs with a PATH on which RUBY_31's ruby is not found,
	// whether or not this machine has it.
	const missing = "RUBY_31"
	s := startServer(t, "--deploy-timeout", "5s")
	s.Stop()
	s.RestartWith("PATH=" + pathWithout(t, "ruby"))
	repo := monorepo(t)
	repo.Write("services/bad/apprunner.yaml", "version: 1.0\nruntime: python3\nrun:\n  comand: python3 app.py\n")
	repo.Commit("a bad apprunner.yaml")
	cases := []struct {
		name string
		src  map[string]any
		hc   map[string]any
		want []string
	}{
		{"build-fails", apiValuesSource(repo, "services/web", map[string]any{
			"Runtime": "PYTHON_3", "BuildCommand": "echo compiling; exit 7", "StartCommand": "python3 app.py"}),
			nil, []string{"build failed", "exit", "7", "compiling"}},
		{"never-healthy", apiValuesSource(repo, "services/web", map[string]any{
			"Runtime": "PYTHON_3", "StartCommand": "python3 -m http.server $PORT --bind 127.0.0.1"}),
			map[string]any{"Protocol": "HTTP", "Path": "/healthz", "Interval": 1, "Timeout": 1, "UnhealthyThreshold": 2},
			[]string{"health check failed", "404"}},
		{"too-slow", apiValuesSource(repo, "services/web", map[string]any{
			"Runtime": "PYTHON_3", "BuildCommand": "sleep 30", "StartCommand": "python3 app.py"}),
			nil, []string{"timed out after 5s", "--deploy-timeout"}},
		{"bad-yaml", map[string]any{"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   "services/bad",
		}}, nil, []string{"line 4", `"comand"`}},
		{"no-toolchain", apiValuesSource(repo, "services/web", map[string]any{
			"Runtime": missing, "StartCommand": "true"}),
			nil, []string{missing, "not found"}},
		{"no-branch", map[string]any{"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "nope"},
		}}, nil, []string{`branch "nope"`}},
	}
	type started struct{ arn, op string }
	ops := map[string]started{}
	for _, tc := range cases {
		args := []string{"create-service", "--service-name", tc.name, "--source-configuration", mustJSON(t, tc.src)}
		if tc.hc != nil {
			args = append(args, "--health-check-configuration", mustJSON(t, tc.hc))
		}
		out := s.MustAWS(args...)
		ops[tc.name] = started{str(out, "Service", "ServiceArn"), out["OperationId"].(string)}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ops[tc.name]
			if st := s.WaitOperation(o.arn, o.op, 60*time.Second); st != "FAILED" {
				t.Fatalf("operation ended %s, want FAILED", st)
			}
			s.WaitStatus(o.arn, "CREATE_FAILED", 5*time.Second)
			logs := s.Logs(tc.name, o.op)
			for _, w := range tc.want {
				if !strings.Contains(logs, w) {
					t.Errorf("logs lack %q:\n%s", w, logs)
				}
			}
		})
	}

	// UpdateService retries a failed creation.
	o := ops["build-fails"]
	out := s.MustAWS("update-service", "--service-arn", o.arn, "--source-configuration", mustJSON(t,
		apiValuesSource(repo, "services/web", map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 app.py"})))
	if st := s.WaitOperation(o.arn, out["OperationId"].(string), 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("update of a CREATE_FAILED service ended %s", st)
	}
	s.WaitStatus(o.arn, "RUNNING", 5*time.Second)
	expectBody(t, s, str(out, "Service", "ServiceUrl"), "app v1")
}

// pathWithout returns $PATH with every directory that holds an executable
// tool replaced by a directory of symbolic links to everything else in it,
// so that the same commands are found, except tool.
func pathWithout(t *testing.T, tool string) string {
	t.Helper()
	var dirs []string
	for i, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if fi, err := os.Stat(filepath.Join(dir, tool)); err != nil || fi.IsDir() {
			dirs = append(dirs, dir)
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		farm := filepath.Join(t.TempDir(), fmt.Sprintf("path%d", i))
		if err := os.Mkdir(farm, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == tool {
				continue
			}
			if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(farm, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, farm)
	}
	path := strings.Join(dirs, string(filepath.ListSeparator))
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
			t.Fatalf("%s is still on the PATH made without it, in %s", tool, dir)
		}
	}
	return path
}

// TestUpdateAndRecovery updates a running service, rolls back a broken
// update (the old configuration stays in force) and checks that an
// instance that dies is replaced.
func TestUpdateAndRecovery(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	values := map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 app.py",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "one"}}
	out := s.MustAWS("create-service", "--service-name", "upd-svc",
		"--source-configuration", mustJSON(t, apiValuesSource(repo, "services/web", values)),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)
	expectBody(t, s, url, "one v1")

	values["RuntimeEnvironmentVariables"] = map[string]any{"APP_NAME": "two"}
	out = s.MustAWS("update-service", "--service-arn", arn, "--source-configuration", mustJSON(t, apiValuesSource(repo, "services/web", values)))
	if st := s.WaitOperation(arn, out["OperationId"].(string), 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("update ended %s", st)
	}
	expectBody(t, s, url, "two v1")

	bad := map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 -c 'raise SystemExit(1)'"}
	out = s.MustAWS("update-service", "--service-arn", arn, "--source-configuration", mustJSON(t, apiValuesSource(repo, "services/web", bad)))
	if st := s.WaitOperation(arn, out["OperationId"].(string), 60*time.Second); st != "ROLLBACK_SUCCEEDED" {
		t.Fatalf("broken update ended %s, want ROLLBACK_SUCCEEDED", st)
	}
	d := s.WaitStatus(arn, "RUNNING", 5*time.Second)
	if cmd := str(d, "Service", "SourceConfiguration", "CodeRepository", "CodeConfiguration", "CodeConfigurationValues", "StartCommand"); cmd != "python3 app.py" {
		t.Errorf("after a rolled-back update StartCommand = %q, want the old one", cmd)
	}
	expectBody(t, s, url, "two v1")

	// An instance that dies is replaced.
	pid := servedPID(t, s, url)
	var n int
	for _, c := range pid {
		n = n*10 + int(c-'0')
	}
	syscall.Kill(n, syscall.SIGKILL)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if code, body, err := s.Get(url, "/"); err == nil && code == 200 && !strings.Contains(body, "pid="+pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the killed instance (pid %s) was not replaced", pid)
}
