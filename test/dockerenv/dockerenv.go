// Package dockerenv gives tests a real Docker Engine and a real registry on
// loopback, installing (Debian's docker.io and docker-registry) and starting
// them on first use and reusing running ones after that; tests that call it
// fail, never skip, when either cannot start.
package dockerenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables that change where the environment lives.
const (
	// EnvDockerHost, when set, names a running Docker Engine to use instead
	// of starting one (e.g. unix:///var/run/docker.sock).
	EnvDockerHost = "SLIPWAY_TEST_DOCKER_HOST"
	// EnvDir is the state directory shared by test processes
	// (default: <os.TempDir()>/slipway-dockerenv).
	EnvDir = "SLIPWAY_DOCKERENV_DIR"
)

// storageDrivers are tried in order until dockerd starts with one.
var storageDrivers = []string{"overlay2", "fuse-overlayfs", "vfs"}

const startTimeout = 60 * time.Second

var (
	dockerOnce sync.Once
	dockerHost string
	dockerErr  error

	registryOnce sync.Once
	registryAddr string
	registryErr  error
)

// Docker returns the DOCKER_HOST of a running Docker Engine, starting one
// if needed. The engine outlives the test process, for the next one.
func Docker(t testing.TB) string {
	t.Helper()
	dockerOnce.Do(func() { dockerHost, dockerErr = ensureDocker() })
	if dockerErr != nil {
		t.Fatalf("dockerenv: no Docker Engine: %v", dockerErr)
	}
	return dockerHost
}

// Registry returns host:port of a running registry on 127.0.0.1 shared by
// tests, starting one if needed. Tests push to repositories of their own
// names.
func Registry(t testing.TB) string {
	t.Helper()
	registryOnce.Do(func() { registryAddr, registryErr = ensureRegistry() })
	if registryErr != nil {
		t.Fatalf("dockerenv: no registry: %v", registryErr)
	}
	return registryAddr
}

// StartRegistry starts a registry of the test's own that posts its event
// notifications to notifyURL, and stops it when the test ends.
func StartRegistry(t testing.TB, notifyURL string) string {
	t.Helper()
	return StartRegistryWithToken(t, notifyURL, "")
}

// StartRegistryWithToken is StartRegistry with notifications carrying
// "Authorization: Bearer token" (none when token is empty), as Slipway's
// /webhooks/registry wants.
func StartRegistryWithToken(t testing.TB, notifyURL, token string) string {
	t.Helper()
	if err := ensureInstalled("docker-registry"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr, cmd, err := startRegistry(dir, notifyURL, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return addr
}

func stateDir() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "slipway-dockerenv")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// Lock serialises setup across test processes (go test runs packages in
// parallel) with an flock on dir/lock; unlock releases it.
func Lock(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func ensureDocker() (string, error) {
	if h := os.Getenv(EnvDockerHost); h != "" {
		if err := PingDocker(h); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvDockerHost, h, err)
		}
		return h, nil
	}
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	unlock, err := Lock(dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	host := "unix://" + filepath.Join(dir, "docker.sock")
	if PingDocker(host) == nil {
		return host, nil
	}
	if err := ensureInstalled("dockerd"); err != nil {
		return "", err
	}
	var errs []error
	for _, driver := range storageDrivers {
		err := startDockerd(dir, host, driver)
		if err == nil {
			return host, nil
		}
		errs = append(errs, fmt.Errorf("storage driver %s: %w", driver, err))
	}
	return "", errors.Join(errs...)
}

// DockerdArgs is the dockerd command line the environment uses: its own
// socket, data and exec roots, and no networking of its own, since
// containers run with the host's network.
func DockerdArgs(dir, driver string) []string {
	return []string{
		"--host", "unix://" + filepath.Join(dir, "docker.sock"),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		"--storage-driver", driver,
	}
}

func startDockerd(dir, host, driver string) error {
	logPath := filepath.Join(dir, "dockerd-"+driver+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("dockerd", DockerdArgs(dir, driver)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: it outlives this test process and its signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if PingDocker(host) == nil {
			// It outlives this process; the next one finds it by its socket.
			return cmd.Process.Release()
		}
		if ended, status := exited(cmd); ended {
			return fmt.Errorf("dockerd exited (%s); last log lines:\n%s", status, Tail(logPath, 15))
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("dockerd did not answer within %s; last log lines:\n%s", startTimeout, Tail(logPath, 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited reaps cmd without blocking if it has ended.
func exited(cmd *exec.Cmd) (bool, string) {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	if err != nil {
		return true, err.Error()
	}
	if pid == 0 {
		return false, ""
	}
	if ws.Signaled() {
		return true, ws.Signal().String()
	}
	return true, fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// PingDocker asks the engine at host (unix:// or tcp://) for /_ping.
func PingDocker(host string) error {
	network, addr, ok := strings.Cut(host, "://")
	if !ok || (network != "unix" && network != "tcp") {
		return fmt.Errorf("unsupported docker host %q", host)
	}
	c := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

func ensureRegistry() (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	unlock, err := Lock(dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	addrFile := filepath.Join(dir, "registry.addr")
	if b, err := os.ReadFile(addrFile); err == nil {
		addr := strings.TrimSpace(string(b))
		if PingRegistry(addr) == nil {
			return addr, nil
		}
	}
	if err := ensureInstalled("docker-registry"); err != nil {
		return "", err
	}
	rdir := filepath.Join(dir, "registry")
	addr, cmd, err := startRegistry(rdir, "", "")
	if err != nil {
		return "", err
	}
	// It outlives this process; the next one finds it through addrFile.
	_ = cmd.Process.Release()
	if err := os.WriteFile(addrFile, []byte(addr+"\n"), 0o644); err != nil {
		return "", err
	}
	return addr, nil
}

// RegistryConfig is the docker-registry configuration the environment
// uses: storage in dir, HTTP on addr, and notifications to notifyURL if set
// (with a bearer token if token is set).
func RegistryConfig(dir, addr, notifyURL, token string) string {
	c := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	if notifyURL != "" {
		c += fmt.Sprintf(`notifications:
  endpoints:
    - name: slipway
      url: %s
      timeout: 2s
      threshold: 5
      backoff: 200ms
`, notifyURL)
		if token != "" {
			c += fmt.Sprintf("      headers:\n        Authorization: [\"Bearer %s\"]\n", token)
		}
	}
	return c
}

func startRegistry(dir, notifyURL, token string) (string, *exec.Cmd, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	for range 5 {
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cfg := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfg, []byte(RegistryConfig(dir, addr, notifyURL, token)), 0o644); err != nil {
			return "", nil, err
		}
		logPath := filepath.Join(dir, "registry.log")
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command("docker-registry", "serve", cfg)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return "", nil, err
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if PingRegistry(addr) == nil {
				return addr, cmd, nil
			}
			if ended, _ := exited(cmd); ended {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Most likely another process took the port first; try another.
		if ended, _ := exited(cmd); !ended {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("docker-registry did not answer on %s; log:\n%s", addr, Tail(logPath, 15))
		}
	}
	return "", nil, fmt.Errorf("docker-registry would not start; log:\n%s", Tail(filepath.Join(dir, "registry.log"), 15))
}

// PingRegistry asks the registry at addr (host:port) for /v2/.
func PingRegistry(addr string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + addr + "/v2/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("registry %s: %s", addr, resp.Status)
	}
	return nil
}

// packages names the Debian package that provides each command.
var packages = map[string]string{
	"dockerd":         "docker.io",
	"docker-registry": "docker-registry",
	"busybox":         "busybox-static",
	"mmdebstrap":      "mmdebstrap",
}

// ensureInstalled installs cmd's Debian package when cmd is not on PATH.
func ensureInstalled(cmd string) error { return EnsureInstalled(cmd, packages[cmd]) }

// EnsureInstalled installs the Debian package pkg when cmd is not on PATH.
func EnsureInstalled(cmd, pkg string) error {
	if _, err := exec.LookPath(cmd); err == nil {
		return nil
	}
	install := func() ([]byte, error) {
		c := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", pkg)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return c.CombinedOutput()
	}
	out, err := install()
	if err != nil {
		// The package lists may be missing or stale.
		if upd, uerr := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q").CombinedOutput(); uerr != nil {
			return fmt.Errorf("%s is not installed and apt-get update failed: %v\n%s", cmd, uerr, upd)
		}
		out, err = install()
	}
	if err != nil {
		return fmt.Errorf("%s is not installed and apt-get install %s failed: %v\n%s", cmd, pkg, err, out)
	}
	if _, err := exec.LookPath(cmd); err != nil {
		return fmt.Errorf("%s still not on PATH after installing %s", cmd, pkg)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last n lines of the file at path, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
