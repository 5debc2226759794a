package console

import (
	"bytes"
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

// The harness is a trimmed copy of test/e2e's (packages don't share test
// code): build the binary once, start it on free loopback ports, make real
// git repositories.

var (
	binary   string
	chromium string
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "slipway-console-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..")
	binary = filepath.Join(dir, "slipway")
	build := exec.Command("go", "build", "-o", binary, "./cmd/slipway")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building slipway:", err)
		os.Exit(1)
	}
	// The browser test needs the real tools: fail, never skip.
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		fmt.Fprintf(os.Stderr, "console tests need Debian's chromium (apt-get install chromium) at %s or $CHROMIUM: %v\n", chromium, err)
		os.Exit(1)
	}
	for _, tool := range []string{"git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "console tests need %s on PATH: %v\n", tool, err)
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
	cmd     *exec.Cmd
	logf    *os.File
	api     string // host:port
	router  string // host:port
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

// startServer starts slipway with a fresh data directory. Branch polling
// is off, so only the console's Deploy button deploys new commits.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), api: freeAddr(t), router: freeAddr(t)}
	f, err := os.Create(filepath.Join(s.dataDir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logf = f
	s.cmd = exec.Command(binary, "server", "--data-dir", s.dataDir, "--api-listen", s.api,
		"--router-listen", s.router, "--git-poll-interval", "0", "--deploy-timeout", "30s", "--log-level", "debug")
	s.cmd.Stdout, s.cmd.Stderr = f, f
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cleanup)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("slipway did not start: %v\n%s", err, s.daemonLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "daemon.log"))
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// credentials returns the access key pair `slipway env` prints.
func (s *server) credentials() (id, secret string) {
	s.t.Helper()
	out, err := exec.Command(binary, "env", "--data-dir", s.dataDir).Output()
	if err != nil {
		s.t.Fatalf("slipway env: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		kv, _ := strings.CutPrefix(strings.TrimSpace(line), "export ")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ACCESS_KEY_ID":
			id = strings.Trim(v, "'")
		case "AWS_SECRET_ACCESS_KEY":
			secret = strings.Trim(v, "'")
		}
	}
	if id == "" || secret == "" {
		s.t.Fatalf("slipway env printed no key pair:\n%s", out)
	}
	return id, secret
}

// consoleURL runs `slipway console-url`.
func (s *server) consoleURL() string {
	s.t.Helper()
	out, err := exec.Command(binary, "console-url", "--data-dir", s.dataDir).CombinedOutput()
	if err != nil {
		s.t.Fatalf("slipway console-url: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// get fetches path from a service through the router.
func (s *server) get(serviceURL, path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.router+path, nil)
	req.Host = serviceURL
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cleanup stops the daemon and then every app instance it left running:
// each instance is a session led by its shim, found by the shim's pid file.
func (s *server) cleanup() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.logf.Close()
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

// gitRepo is a real git repository the test commits to.
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
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
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
