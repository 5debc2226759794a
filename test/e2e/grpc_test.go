package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/slipwayhq/slipway/test/testenv"
)

// TestGRPCAndWebSockets deploys a grpc-go app (testdata/grpcserver, built
// here and committed as a binary that runs with no build command) and
// reaches it through the router at its ServiceUrl: a unary call, a
// server-streaming call whose messages arrive while it stays open, a
// WebSocket echo, and a plain request over HTTP/2 by prior knowledge, which
// the app gets over HTTP/1.1.
func TestGRPCAndWebSockets(t *testing.T) {
	repo := newGitRepo(t)
	build := exec.Command("go", "build", "-o", filepath.Join(repo.Dir, "grpcserver"), "./test/e2e/testdata/grpcserver")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the gRPC app: %v\n%s", err, out)
	}
	repo.Commit("grpc app")

	s := startServer(t)
	out := s.MustAWS("create-service", "--service-name", "grpc-svc", "--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "GO_1", "StartCommand": "./grpcserver", "Port": "8080",
	})))
	arn := str(out, "Service", "ServiceArn")
	url := str(s.WaitStatus(arn, "RUNNING", 60*time.Second), "Service", "ServiceUrl")

	cc, err := grpc.NewClient(s.Router, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(url))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	health := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "e2e"})
	if err != nil {
		t.Fatalf("unary Check through the router: %v\n%s", err, s.Logs(arn, ""))
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check = %v, want SERVING", resp.Status)
	}

	// The app flips "flip" every 100ms; the stream never ends by itself, so
	// each message must come through on its own.
	stream, err := health.Watch(ctx, &healthpb.HealthCheckRequest{Service: "flip"})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var last healthpb.HealthCheckResponse_ServingStatus
	for i := range 4 {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("Watch message %d: %v", i, err)
		}
		if msg.Status != healthpb.HealthCheckResponse_SERVING && msg.Status != healthpb.HealthCheckResponse_NOT_SERVING || msg.Status == last {
			t.Fatalf("Watch message %d = %v after %v, want the other of SERVING and NOT_SERVING", i, msg.Status, last)
		}
		last = msg.Status
	}

	conn, err := net.Dial("tcp", s.Router)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wsConfig, err := websocket.NewConfig("ws://"+url+"/echo", "http://"+url)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(wsConfig, conn)
	if err != nil {
		t.Fatalf("WebSocket handshake through the router: %v", err)
	}
	for _, msg := range []string{"hello", "again"} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatalf("WebSocket echo: %v", err)
		}
		if got != msg {
			t.Errorf("WebSocket echo = %q, want %q", got, msg)
		}
	}
	ws.Close()

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Router+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = url
	hresp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET over h2c: %v", err)
	}
	body, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.ProtoMajor != 2 || hresp.StatusCode != 200 || string(body) != "grpcserver HTTP/1.1\n" {
		t.Errorf("GET over h2c: %s %s %q, want HTTP/2.0 200 %q", hresp.Proto, hresp.Status, body, "grpcserver HTTP/1.1\n")
	}
}
