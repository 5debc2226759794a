package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the slipway binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "slipway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "slipway")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/slipway")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building slipway:", err)
		os.Exit(1)
	}
	for _, tool := range []string{"aws", "git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			// These tests need the real tools: fail, never skip.
			fmt.Fprintf(os.Stderr, "e2e tests need %s on PATH: %v\n", tool, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running slipway daemon.
type server struct {
	t       *testing.T
	dataDir string
	args    []string
	cmd     *exec.Cmd
	logf    *os.File
	env     []string // the environment `slipway env` prints, plus ours
	api     string
	router  string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts slipway with a fresh data directory.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), api: freeAddr(t), router: freeAddr(t)}
	s.args = append([]string{"server", "--data-dir", s.dataDir, "--api-listen", s.api, "--router-listen", s.router, "--log-level", "debug"}, extra...)
	s.start()
	t.Cleanup(s.cleanup)
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.dataDir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.logf = f
	s.cmd = exec.Command(binary, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = f, f
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slipway did not start: %v\n%s", err, s.daemonLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command(binary, "env", "--data-dir", s.dataDir).Output()
	if err != nil {
		t.Fatalf("slipway env: %v", err)
	}
	s.env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	for line := range strings.Lines(string(out)) {
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			t.Fatalf("slipway env printed %q", line)
		}
		k, v, _ := strings.Cut(kv, "=")
		s.env = append(s.env, k+"="+strings.Trim(v, "'"))
	}
}

// stop sends SIGTERM and waits, as an operator stopping the daemon would.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.logf.Close()
}

// kill sends SIGKILL: the daemon dies at once, mid-whatever.
func (s *server) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.logf.Close()
}

func (s *server) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "daemon.log"))
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// cleanup stops the daemon and then every app instance it left running:
// each instance is a session led by its shim, found by the shim's pid file.
func (s *server) cleanup() {
	if s.cmd.ProcessState == nil {
		s.stop()
	}
	pids, _ := filepath.Glob(filepath.Join(s.dataDir, "run", "*.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var sid int
		if _, err := fmt.Sscan(string(b), &sid); err == nil && sid > 1 {
			killSession(sid)
		}
	}
	if s.t.Failed() {
		s.t.Logf("daemon log:\n%s", s.daemonLog())
	}
}

// killSession sends SIGKILL to every process of session sid.
func killSession(sid int) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 3 && f[3] == fmt.Sprint(sid) {
			var pid int
			fmt.Sscan(filepath.Base(filepath.Dir(st)), &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// awsErr is a failed aws CLI call.
type awsErr struct {
	code   int
	stderr string
}

func (e *awsErr) Error() string { return fmt.Sprintf("aws exited %d: %s", e.code, e.stderr) }

// aws runs the real aws CLI against the server and decodes its JSON output.
func (s *server) aws(args ...string) (map[string]any, error) {
	cmd := exec.Command("aws", append(append([]string{"apprunner"}, args...), "--output", "json")...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return nil, &awsErr{code: code, stderr: stderr.String()}
	}
	out := map[string]any{}
	if stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			return nil, fmt.Errorf("aws output %q: %w", stdout.String(), err)
		}
	}
	return out, nil
}

func (s *server) mustAWS(args ...string) map[string]any {
	s.t.Helper()
	out, err := s.aws(args...)
	if err != nil {
		s.t.Fatalf("aws apprunner %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// awsError runs a call that must fail with the AWS error code want.
func (s *server) awsError(want string, args ...string) string {
	s.t.Helper()
	_, err := s.aws(args...)
	ae, ok := err.(*awsErr)
	if !ok {
		s.t.Fatalf("aws apprunner %s: err = %v, want %s", strings.Join(args, " "), err, want)
	}
	if !strings.Contains(ae.stderr, "("+want+")") {
		s.t.Fatalf("aws apprunner %s: stderr %q, want error code %s", strings.Join(args, " "), ae.stderr, want)
	}
	return ae.stderr
}

// slipway runs a slipway client command against the server.
func (s *server) slipway(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR="+s.dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// get fetches path from a service through the router.
func (s *server) get(serviceURL, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.router+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = serviceURL
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

// waitStatus polls describe-service until the status is want.
func (s *server) waitStatus(arn, want string, timeout time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		out := s.mustAWS("describe-service", "--service-arn", arn)
		last = str(out, "Service", "Status")
		if last == want {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("service %s: status %s after %s, want %s\n%s", arn, last, timeout, want, s.logs(arn, ""))
	return nil
}

// waitOperation polls list-operations until the operation ends.
func (s *server) waitOperation(arn, opID string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := s.mustAWS("list-operations", "--service-arn", arn)
		for _, o := range out["OperationSummaryList"].([]any) {
			op := o.(map[string]any)
			if op["Id"] != opID {
				continue
			}
			switch st := op["Status"].(string); st {
			case "SUCCEEDED", "FAILED", "ROLLBACK_SUCCEEDED", "ROLLBACK_FAILED":
				return st
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("operation %s did not end within %s\n%s", opID, timeout, s.logs(arn, opID))
	return ""
}

func (s *server) logs(service, op string) string {
	args := []string{"logs", service}
	if op != "" {
		args = append(args, "--operation", op)
	}
	out, err := s.slipway(args...)
	if err != nil {
		return fmt.Sprintf("slipway logs: %v: %s", err, out)
	}
	return out
}

// gitRepo is a real git repository the tests commit to.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *gitRepo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// load sends GET requests to a service in a loop until stop is closed and
// counts the ones that did not answer 200 with a body containing one of
// the wanted strings.
type load struct {
	total, failed int
	firstFailure  string
	done          chan struct{}
}

func startLoad(ctx context.Context, s *server, serviceURL string, want ...string) *load {
	l := &load{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			code, body, err := s.get(serviceURL, "/")
			l.total++
			ok := err == nil && code == 200
			if ok {
				ok = false
				for _, w := range want {
					ok = ok || strings.Contains(body, w)
				}
			}
			if !ok {
				l.failed++
				if l.firstFailure == "" {
					l.firstFailure = fmt.Sprintf("code %d body %q err %v", code, body, err)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}

func scanLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
