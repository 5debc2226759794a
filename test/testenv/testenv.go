// Package testenv runs the real slipway binary for end-to-end tests: it
// builds it, starts daemons on free loopback ports, drives them with the
// real aws CLI and slipway's own commands, and makes real git repositories.
package testenv

import (
	"bytes"
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

	"github.com/slipwayhq/slipway/internal/cgroup"
)

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds the slipway binary into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "slipway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/slipway")
	cmd.Dir = RepoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building slipway: %w", err)
	}
	return bin, nil
}

// Need fails with a message when a tool the tests need is missing: tests
// that need real tools fail, never skip.
func Need(tools ...string) error {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("these tests need %s on PATH: %w", tool, err)
		}
	}
	return nil
}

// Server is a running slipway daemon.
type Server struct {
	t       testing.TB
	binary  string
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has ended and been waited for
	logf    *os.File
	DataDir string
	// ConfigHome is the daemon's XDG_CONFIG_HOME, where it records its
	// data directory for the client commands.
	ConfigHome string
	// Env is the environment `slipway env` prints, added to ours.
	Env    []string
	API    string // host:port of the API listener
	Router string // host:port of the router
}

// FreeAddr returns a free loopback address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start starts binary as a daemon with a fresh data directory and extra
// server flags. The daemon and the app instances it leaves are stopped
// when the test ends.
func Start(t testing.TB, binary string, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, binary: binary, DataDir: t.TempDir(), ConfigHome: t.TempDir(), API: FreeAddr(t), Router: FreeAddr(t)}
	s.args = append([]string{"server", "--data-dir", s.DataDir, "--api-listen", s.API, "--router-listen", s.Router,
		"--log-level", "debug"}, extra...)
	s.Restart()
	t.Cleanup(s.cleanup)
	return s
}

// Restart starts the daemon again on the same data directory and ports.
func (s *Server) Restart() {
	s.t.Helper()
	s.RestartWith()
}

// RestartWith is Restart with extra environment variables for the daemon,
// such as SLIPWAY_FAILPOINT.
func (s *Server) RestartWith(env ...string) {
	t := s.t
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.DataDir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.logf = f
	s.cmd = exec.Command(s.binary, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = f, f
	// The server records its data directory under XDG_CONFIG_HOME for the
	// client commands; each test server has its own.
	s.cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+s.ConfigHome), env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, cmd := make(chan struct{}), s.cmd
	s.exited = exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + s.API + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slipway did not start: %v\n%s", err, s.DaemonLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command(s.binary, "env", "--data-dir", s.DataDir).Output()
	if err != nil {
		t.Fatalf("slipway env: %v", err)
	}
	s.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	for line := range strings.Lines(string(out)) {
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			t.Fatalf("slipway env printed %q", line)
		}
		k, v, _ := strings.Cut(kv, "=")
		s.Env = append(s.Env, k+"="+strings.Trim(v, "'"))
	}
}

// Stop sends SIGTERM and waits, as an operator stopping the daemon would.
func (s *Server) Stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
	s.logf.Close()
}

// Kill sends SIGKILL: the daemon dies at once, mid-whatever.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
	s.logf.Close()
}

// WaitExit waits up to timeout for the daemon to end by itself (a
// failpoint killed it) and reports whether it did.
func (s *Server) WaitExit(timeout time.Duration) bool {
	select {
	case <-s.exited:
		s.logf.Close()
		return true
	case <-time.After(timeout):
		return false
	}
}

// Credentials returns the daemon's access key pair.
func (s *Server) Credentials() (id, secret string) {
	for _, kv := range s.Env {
		if v, ok := strings.CutPrefix(kv, "AWS_ACCESS_KEY_ID="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(kv, "AWS_SECRET_ACCESS_KEY="); ok {
			secret = v
		}
	}
	return id, secret
}

// DaemonLog returns the end of the daemon's log.
func (s *Server) DaemonLog() string {
	b, _ := os.ReadFile(filepath.Join(s.DataDir, "daemon.log"))
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// cleanup stops the daemon and then every app instance it left running:
// each instance is a session led by its shim, found by the shim's pid file,
// and a control group named by the instance.
func (s *Server) cleanup() {
	select {
	case <-s.exited:
	default:
		s.Stop()
	}
	pids, _ := filepath.Glob(filepath.Join(s.DataDir, "run", "*.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var sid int
		if _, err := fmt.Sscan(string(b), &sid); err == nil && sid > 1 {
			KillSession(sid)
		}
		// The shim died with SIGKILL and could not remove its control group.
		if g, err := cgroup.Load(strings.TrimSuffix(filepath.Base(p), ".pid")); err == nil {
			g.Kill()
			if err := g.Delete(); err != nil {
				s.t.Logf("cleanup: %v", err)
			}
		}
	}
	if s.t.Failed() {
		s.t.Logf("daemon log:\n%s", s.DaemonLog())
	}
}

// Proc is a process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID, PGID, SID int
	State                string // "R", "S", "Z", ...
}

// Procs lists the machine's processes.
func Procs() []Proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []Proc
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses: state,
		// ppid, pgrp, session.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 4 {
			continue
		}
		p := Proc{State: f[0]}
		fmt.Sscan(filepath.Base(filepath.Dir(st)), &p.PID)
		fmt.Sscan(f[1], &p.PPID)
		fmt.Sscan(f[2], &p.PGID)
		fmt.Sscan(f[3], &p.SID)
		out = append(out, p)
	}
	return out
}

// KillSession sends SIGKILL to every process of session sid.
func KillSession(sid int) {
	for _, p := range Procs() {
		if p.SID == sid {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

// AWSError is a failed aws CLI call.
type AWSError struct {
	Code   int
	Stderr string
}

func (e *AWSError) Error() string { return fmt.Sprintf("aws exited %d: %s", e.Code, e.Stderr) }

// AWS runs the real aws CLI's apprunner commands against the server and
// decodes their JSON output.
func (s *Server) AWS(args ...string) (map[string]any, error) {
	return s.CLI(append([]string{"apprunner"}, args...)...)
}

// CLI runs the real aws CLI with any service's command ("sts",
// "get-caller-identity") against the server, with the environment `slipway
// env` prints, and decodes its JSON output.
func (s *Server) CLI(args ...string) (map[string]any, error) {
	cmd := exec.Command("aws", append(args, "--output", "json")...)
	cmd.Env = s.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return nil, &AWSError{Code: code, Stderr: stderr.String()}
	}
	out := map[string]any{}
	if stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			return nil, fmt.Errorf("aws output %q: %w", stdout.String(), err)
		}
	}
	return out, nil
}

// MustCLI is CLI for calls that must succeed.
func (s *Server) MustCLI(args ...string) map[string]any {
	s.t.Helper()
	out, err := s.CLI(args...)
	if err != nil {
		s.t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// MustAWS is AWS for calls that must succeed.
func (s *Server) MustAWS(args ...string) map[string]any {
	s.t.Helper()
	out, err := s.AWS(args...)
	if err != nil {
		s.t.Fatalf("aws apprunner %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// AWSFails runs a call that must fail with the AWS error code want and
// returns the CLI's message.
func (s *Server) AWSFails(want string, args ...string) string {
	s.t.Helper()
	_, err := s.AWS(args...)
	ae, ok := err.(*AWSError)
	if !ok {
		s.t.Fatalf("aws apprunner %s: err = %v, want %s", strings.Join(args, " "), err, want)
	}
	if !strings.Contains(ae.Stderr, "("+want+")") {
		s.t.Fatalf("aws apprunner %s: stderr %q, want error code %s", strings.Join(args, " "), ae.Stderr, want)
	}
	return ae.Stderr
}

// Slipway runs a slipway client command against the server.
func (s *Server) Slipway(args ...string) (string, error) {
	cmd := exec.Command(s.binary, args...)
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR="+s.DataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Get fetches path from a service through the router.
func (s *Server) Get(serviceURL, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Router+path, nil)
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

// Str digs a string out of decoded JSON ("" if absent).
func Str(m map[string]any, path ...string) string {
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

// WaitStatus polls describe-service until the service's status is want.
func (s *Server) WaitStatus(arn, want string, timeout time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		out := s.MustAWS("describe-service", "--service-arn", arn)
		last = Str(out, "Service", "Status")
		if last == want {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("service %s: status %s after %s, want %s\n%s", arn, last, timeout, want, s.Logs(arn, ""))
	return nil
}

// WaitOperation polls list-operations until the operation ends and
// returns its final status.
func (s *Server) WaitOperation(arn, opID string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := s.MustAWS("list-operations", "--service-arn", arn)
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
	s.t.Fatalf("operation %s did not end within %s\n%s", opID, timeout, s.Logs(arn, opID))
	return ""
}

// Logs returns `slipway logs` of a service (or of one operation).
func (s *Server) Logs(service, op string) string {
	args := []string{"logs", service}
	if op != "" {
		args = append(args, "--operation", op)
	}
	out, err := s.Slipway(args...)
	if err != nil {
		return fmt.Sprintf("slipway logs: %v: %s", err, out)
	}
	return out
}

// GitRepo is a real git repository tests commit to.
type GitRepo struct {
	t   testing.TB
	Dir string
}

// NewGitRepo makes an empty repository with a main branch.
func NewGitRepo(t testing.TB) *GitRepo {
	r := &GitRepo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository, with an identity and no user config.
func (r *GitRepo) Git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes a file in the work tree.
func (r *GitRepo) Write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Commit commits everything and returns the commit.
func (r *GitRepo) Commit(msg string) string {
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// PyApp is a small Python web app for tests. It serves
// "<APP_NAME> <version.txt> <GREETING> pid=<pid>" and reads its port from
// $PORT as App Runner apps do; version "broken" exits at once with code 3.
const PyApp = `import http.server, os, sys
here = os.path.dirname(os.path.abspath(__file__))
version = open(os.path.join(here, "version.txt")).read().strip()
if version == "broken":
    print("version is broken, exiting", flush=True)
    sys.exit(3)
name = os.environ.get("APP_NAME", "app")
print(f"{name} {version} listening on {os.environ['PORT']}", flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = f"{name} {version} {os.environ.get('GREETING', '')} pid={os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`
