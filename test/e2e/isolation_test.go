package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/test/testenv"
)

// probeApp listens on 8080, App Runner's default port, hard-coded. GET /
// names it; /dial?addr=HOST:PORT says whether it can connect there;
// /get?url=URL fetches URL.
const probeApp = `import http.server, os, socket, urllib.request
from urllib.parse import urlparse, parse_qs
name = os.environ.get("APP_NAME", "app")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        try:
            if u.path == "/dial":
                host, port = q["addr"][0].rsplit(":", 1)
                socket.create_connection((host, int(port)), timeout=2).close()
                body = "connected"
            elif u.path == "/get":
                body = urllib.request.urlopen(q["url"][0], timeout=3).read().decode()
            else:
                body = f"{name} pid={os.getpid()}"
        except Exception as e:
            body = f"error: {e}"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
`

func probeSource(repo *testenv.GitRepo, name string) map[string]any {
	return valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "Port": "8080",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": name},
	})
}

func ask(t *testing.T, s *testenv.Server, url, path string) string {
	t.Helper()
	code, body, err := s.Get(url, path)
	if err != nil || code != 200 {
		t.Fatalf("GET %s%s: %d %q %v", url, path, code, body, err)
	}
	return body
}

// TestInstanceIsolation shows what an instance's own network namespace
// gives: it reaches the host's loopback services at 10.0.2.2, but not the
// API listener, nor another instance's port (the same port on every
// loopback is its own), and nothing of it is on the host's loopback. Then
// kill -9 of the daemon: the instances keep serving in their namespaces
// and the restarted daemon re-adopts them.
func TestInstanceIsolation(t *testing.T) {
	s := startServer(t)
	repo := newGitRepo(t)
	repo.Write("app.py", probeApp)
	repo.Commit("probe app")
	a := s.MustAWS("create-service", "--service-name", "svc-a", "--source-configuration", mustJSON(t, probeSource(repo, "svc-a")))
	b := s.MustAWS("create-service", "--service-name", "svc-b", "--source-configuration", mustJSON(t, probeSource(repo, "svc-b")))
	aARN, aURL := str(a, "Service", "ServiceArn"), str(a, "Service", "ServiceUrl")
	bARN, bURL := str(b, "Service", "ServiceArn"), str(b, "Service", "ServiceUrl")
	s.WaitStatus(aARN, "RUNNING", 60*time.Second)
	s.WaitStatus(bARN, "RUNNING", 60*time.Second)

	// A database on the host's loopback, reached at the documented address.
	db, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "host database") })}
	go srv.Serve(db)
	defer srv.Close()
	dbPort := db.Addr().(*net.TCPAddr).Port
	if got := ask(t, s, aURL, "/get?url=http://"+netns.HostLoopback+":"+strconv.Itoa(dbPort)+"/"); got != "host database" {
		t.Fatalf("host loopback service from svc-a: %q, want host database", got)
	}

	// The API listener is refused, at the host loopback address and at
	// the daemon's own address.
	_, apiPort, _ := net.SplitHostPort(s.API)
	for _, addr := range []string{netns.HostLoopback + ":" + apiPort, s.API} {
		if got := ask(t, s, aURL, "/dial?addr="+addr); !strings.HasPrefix(got, "error:") {
			t.Fatalf("svc-a dialled the API listener at %s: %q", addr, got)
		}
	}
	if got := ask(t, s, aURL, "/get?url=http://"+netns.HostLoopback+":"+apiPort+"/healthz"); !strings.Contains(got, "refused") {
		t.Fatalf("svc-a reached the API's /healthz: %q, want connection refused", got)
	}

	// Port 8080 on svc-a's loopback is svc-a itself, never svc-b, and the
	// host's loopback does not have either.
	self := ask(t, s, aURL, "/get?url=http://127.0.0.1:8080/")
	if !strings.HasPrefix(self, "svc-a pid=") {
		t.Fatalf("svc-a's own 127.0.0.1:8080 answered %q", self)
	}
	for _, addr := range []string{netns.HostLoopback + ":8080", "127.0.0.2:8080"} {
		if got := ask(t, s, aURL, "/get?url=http://"+addr+"/"); strings.Contains(got, "svc-b") {
			t.Fatalf("svc-a reached svc-b at %s: %q", addr, got)
		}
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	if resp, err := hc.Get("http://127.0.0.1:8080/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "svc-") {
			t.Fatalf("an instance answers on the host's 127.0.0.1:8080: %q", body)
		}
	}

	// kill -9: the instances keep serving inside their namespaces, where
	// this test reaches them directly, and the restarted daemon re-adopts
	// them without restarting them.
	pidA := servedPID(t, s, aURL)
	pidB := servedPID(t, s, bURL)
	s.Kill()
	for pid, name := range map[string]string{pidA: "svc-a", pidB: "svc-b"} {
		if !alive(pid) {
			t.Fatalf("%s (pid %s) died with the daemon", name, pid)
		}
		if got := nsGet(t, "/proc/"+pid+"/ns/net", "127.0.0.1:8080"); !strings.HasPrefix(got, name+" pid="+pid) {
			t.Fatalf("%s in its namespace with the daemon dead: %q", name, got)
		}
	}
	s.Restart()
	if got := servedPID(t, s, aURL); got != pidA {
		t.Fatalf("after restart svc-a is pid %s, want the re-adopted %s", got, pidA)
	}
	if got := servedPID(t, s, bURL); got != pidB {
		t.Fatalf("after restart svc-b is pid %s, want the re-adopted %s", got, pidB)
	}
	if got := ask(t, s, aURL, "/dial?addr="+netns.HostLoopback+":"+apiPort); !strings.HasPrefix(got, "error:") {
		t.Fatalf("after restart svc-a dialled the API listener: %q", got)
	}
}

// nsGet sends GET / to addr inside the network namespace at path.
func nsGet(t *testing.T, path, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return netns.DialPath(ctx, path, network, addr)
		},
	}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET %s in %s: %v", addr, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
