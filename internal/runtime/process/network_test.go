package process

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// nsServer answers GET / with NAME, its port variable and its capability
// bounding set, and GET /host/PORT with what the host's loopback port PORT
// answers through netns.HostLoopback (or the error).
const nsServer = `
import http.server, os, socket, sys, urllib.request
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/host/"):
            port = self.path[len("/host/"):]
            try:
                body = urllib.request.urlopen("http://10.0.2.2:" + port + "/", timeout=3).read().decode()
            except Exception as e:
                body = "error: " + str(e)
        else:
            capbnd = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapBnd:")][0]
            body = name + " port=" + os.environ["PORT"] + " capbnd=" + capbnd
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

func newNSBackend(t *testing.T, deny ...uint16) *Backend {
	t.Helper()
	if err := netns.Available(""); err != nil {
		t.Fatalf("network namespaces unavailable (tests need root and slirp4netns): %v", err)
	}
	b := New(Config{Dir: t.TempDir(), ShimPath: os.Args[0], Network: &netns.Config{DenyPorts: deny}}, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

// nsGet sends GET path to inst inside its namespace.
func nsGet(t *testing.T, inst runtime.Instance, path string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return netns.DialPath(ctx, inst.NetNS, network, inst.Addr)
		},
	}}
	resp, err := c.Get("http://" + inst.Addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func waitServing(t *testing.T, inst runtime.Instance) string {
	t.Helper()
	var body string
	waitFor(t, inst.ID+" serving in its namespace", func() bool {
		var err error
		body, err = nsGet(t, inst, "/")
		return err == nil
	})
	return body
}

func TestInstancesShareAPortInTheirOwnNamespaces(t *testing.T) {
	denied := hostServer(t, "api")
	open := hostServer(t, "database")
	b := newNSBackend(t, port(t, denied))
	art := runtime.Artifact{Backend: Name, Key: "k", Path: t.TempDir()}
	if err := os.WriteFile(filepath.Join(art.Path, "server.py"), []byte(nsServer), 0o644); err != nil {
		t.Fatal(err)
	}
	var insts []runtime.Instance
	for _, name := range []string{"blue", "green"} {
		inst := start(t, b, runtime.InstanceSpec{ID: name, Artifact: art, Port: 8080, Command: "python3 server.py " + name})
		if inst.Addr != "127.0.0.1:8080" || inst.NetNS == "" {
			t.Fatalf("%s: Addr %q NetNS %q, want 127.0.0.1:8080 in a namespace", name, inst.Addr, inst.NetNS)
		}
		insts = append(insts, inst)
	}
	for i, name := range []string{"blue", "green"} {
		body := waitServing(t, insts[i])
		if !strings.HasPrefix(body, name+" port=8080 ") {
			t.Fatalf("%s answers %q", name, body)
		}
		// CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21) are out of the bounding
		// set, so the app cannot undo its firewall or leave its namespace.
		bnd, err := strconv.ParseUint(body[strings.Index(body, "capbnd=")+len("capbnd="):], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if bnd&(1<<12) != 0 || bnd&(1<<21) != 0 || bnd&1 == 0 {
			t.Fatalf("%s: bounding set %x, want CAP_CHOWN without CAP_NET_ADMIN or CAP_SYS_ADMIN", name, bnd)
		}
	}
	if got, _ := nsGet(t, insts[0], "/host/"+strconv.Itoa(int(port(t, open)))); got != "database" {
		t.Fatalf("host loopback from the instance: got %q, want database", got)
	}
	if got, _ := nsGet(t, insts[0], "/host/"+strconv.Itoa(int(port(t, denied)))); !strings.Contains(got, "refused") {
		t.Fatalf("denied port from the instance: got %q, want connection refused", got)
	}
	// Nothing of the instances is on the host's loopback.
	hc := &http.Client{Timeout: 2 * time.Second}
	if resp, err := hc.Get("http://127.0.0.1:8080/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "port=8080") {
			t.Fatalf("an instance answers on the host's 127.0.0.1:8080: %q", body)
		}
	}

	// A new Backend (a restarted daemon) finds them running and reachable.
	nb := New(b.cfg, nil)
	defer nb.Close()
	for _, inst := range insts {
		if st := status(t, nb, inst); !st.Running {
			t.Fatalf("after restart %s: %+v", inst.ID, st)
		}
		if body, err := nsGet(t, inst, "/"); err != nil || !strings.HasPrefix(body, inst.ID) {
			t.Fatalf("after restart %s: %q, %v", inst.ID, body, err)
		}
	}
	// Stopping one leaves the other serving.
	if err := nb.Stop(t.Context(), insts[0], 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if body, err := nsGet(t, insts[1], "/"); err != nil || !strings.HasPrefix(body, "green") {
		t.Fatalf("green after blue stopped: %q, %v", body, err)
	}
}

func hostServer(t *testing.T, body string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}

func port(t *testing.T, ln net.Listener) uint16 {
	t.Helper()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// A host resolver on the host's loopback (systemd-resolved's stub) does not
// answer inside an instance's namespace: the instance sees a resolv.conf
// that sends queries to slirp4netns's forwarder instead, and the host's own
// file stays as it is.
func TestResolvConfInNamespace(t *testing.T) {
	before, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	hostConf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(hostConf, []byte("nameserver 127.0.0.53\nsearch example.internal\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newNSBackend(t)
	b.cfg.Network.ResolvConf = hostConf
	logPath := filepath.Join(t.TempDir(), "dns.log")
	inst := start(t, b, runtime.InstanceSpec{ID: "dns", Port: 8080, LogPath: logPath, Command: "cat /etc/resolv.conf"})
	if st := waitEnded(t, b, inst); st.ExitCode != 0 {
		t.Fatalf("cat /etc/resolv.conf: %+v", st)
	}
	es := readLog(t, logPath)
	if !hasEntry(es, "dns", applog.Stdout, "nameserver "+netns.DNS) || !hasEntry(es, "dns", applog.Stdout, "search example.internal") || hasEntry(es, "dns", applog.Stdout, "127.0.0.53") {
		t.Fatalf("the instance's resolv.conf: %+v", es)
	}
	after, err := os.ReadFile("/etc/resolv.conf")
	if err != nil || string(after) != string(before) {
		t.Fatalf("the host's /etc/resolv.conf changed: %q, then %q (%v)", before, after, err)
	}
}

// An instance's setup leaves the host's mounts alone. slirp4netns's
// sandbox detaches the mount tree it was started in; from the host's mount
// namespace that detach propagated through shared mounts, and Docker's
// data root is one: the host lost the root file systems of the containers
// that existed at that moment, and one about to start ran without its
// files. Here a shared tmpfs with a tmpfs under it stands in for the data
// root and a container's root file system.
func TestNamespaceKeepsHostMounts(t *testing.T) {
	b := newNSBackend(t)
	root := t.TempDir()
	if err := unix.Mount("slipway-test", root, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(root, unix.MNT_DETACH) })
	if err := unix.Mount("", root, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(root, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("slipway-test", rootfs, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(rootfs, "app")
	if err := os.WriteFile(app, []byte("app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The app runs after the shim's network setup, slirp4netns's sandbox
	// included; once it has ended, the sandbox is there.
	inst := start(t, b, runtime.InstanceSpec{ID: "mounts", Port: 8080, Command: "true"})
	if st := waitEnded(t, b, inst); st.ExitCode != 0 {
		t.Fatalf("true: %+v", st)
	}
	if _, err := os.Stat(app); err != nil {
		t.Fatalf("a mount under a shared mount is gone from the host after an instance started: %v", err)
	}
}
