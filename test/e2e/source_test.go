package e2e

import (
	"bufio"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	daemon := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+base, "--listen="+host, "--port="+port, base)
	if err := daemon.Start(); err != nil {
		t.Fatalf("git daemon: %v", err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
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
