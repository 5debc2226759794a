package e2e

import (
	"bufio"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// TestGitDaemonSource deploys from a git:// URL served by a real git daemon
// on loopback, and follows the service's logs with slipway logs -f.
func TestGitDaemonSource(t *testing.T) {
	repo := monorepo(t)
	base := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", "--bare", repo.Dir, filepath.Join(base, "mono.git")).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	// `git daemon` is a wrapper that runs git-daemon as its child, which
	// in turn forks a child per connection: all of them get a process
	// group of their own, stopped as one when the test ends.
	daemon := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+base, "--listen="+host, "--port="+port, base)
	daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := daemon.Start(); err != nil {
		t.Fatalf("git daemon: %v", err)
	}
	t.Cleanup(func() { stopGroup(t, daemon) })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("git daemon did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	s := startServer(t)
	src := apiValuesSource(repo, "services/web", map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 app.py",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "daemon"}})
	src["CodeRepository"].(map[string]any)["RepositoryUrl"] = "git://" + addr + "/mono.git"

	// Follow the logs from before the service exists until its app speaks.
	follow := exec.Command(binary, "logs", "daemon-svc", "-f")
	follow.Env = append(follow.Environ(), "SLIPWAY_DATA_DIR="+s.DataDir)
	out := s.MustAWS("create-service", "--service-name", "daemon-svc", "--source-configuration", mustJSON(t, src))
	stdout, _ := follow.StdoutPipe()
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follow.Process.Kill(); follow.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	s.WaitStatus(str(out, "Service", "ServiceArn"), "RUNNING", 60*time.Second)
	expectBody(t, s, str(out, "Service", "ServiceUrl"), "daemon v1")
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("slipway logs -f ended")
			}
			if strings.Contains(l, "daemon v1 listening") {
				return
			}
		case <-timeout:
			t.Fatal("slipway logs -f did not show the app's output")
		}
	}
}

// stopGroup stops cmd, started with Setpgid, and every process of its
// group by the group's ID (cmd's PID), waits for cmd and then until none
// of the group is left, so that nothing it started outlives the test.
func stopGroup(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	for deadline := time.Now().Add(10 * time.Second); groupAlive(pgid); {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of group %d (%s) outlived it", pgid, cmd.Path)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAlive reports whether a live (not zombie) process is in process
// group pgid.
func groupAlive(pgid int) bool {
	for _, p := range testenv.Procs() {
		if p.PGID == pgid && p.State != "Z" {
			return true
		}
	}
	return false
}
