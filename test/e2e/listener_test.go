package e2e

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIListenerEdges checks the API listener's edges: a request without
// a valid signature is answered from its headers, before its body arrives,
// so a client cannot hold Slipway by trickling one; and a server that
// cannot bind its ports leaves no data directory behind.
func TestAPIListenerEdges(t *testing.T) {
	s := startServer(t)

	conn, err := net.Dial("tcp", s.API)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers of a 10 MB body, and then nothing.
	_, err = conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + s.API + "\r\nX-Amz-Target: AppRunner.ListServices\r\n" +
		"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 10000000\r\n\r\n{"))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %s, want 403 MissingAuthenticationTokenException", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}

	// A port in use: the server says so and writes nothing.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "never")
	cmd := exec.Command(binary, "server", "--data-dir", dir, "--api-listen", busy.Addr().String(), "--router-listen", freeAddr(t))
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") {
		t.Errorf("server on a busy port: err %v, output %s; want it to fail saying the address is in use", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a server that could not bind created its data directory %s (stat: %v)", dir, err)
	}
}
