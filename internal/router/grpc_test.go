package router

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// trailerHealth is grpc-go's health service whose Check also sets a trailer
// of its own, to see trailers pass through the router.
type trailerHealth struct{ *health.Server }

func (h trailerHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	grpc.SetTrailer(ctx, metadata.Pairs("x-served-by", "backend"))
	return h.Server.Check(ctx, req)
}

// grpcBackend serves the health service on loopback with grpc-go's own
// HTTP/2 transport, which speaks nothing else.
func grpcBackend(t *testing.T) (*health.Server, Backend) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, trailerHealth{hs})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return hs, Backend{ID: "grpc", Addr: ln.Addr().String()}
}

// TestGRPC makes a unary and a server-streaming call through the router to
// a grpc-go server, the client dialling the router as an h2c client would.
func TestGRPC(t *testing.T) {
	r, front := newFront(t, Config{})
	hs, b := grpcBackend(t)
	r.SetRoute(Route{Host: "svc.test", Backends: []Backend{b}})
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)

	cc, err := grpc.NewClient(front.Listener.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("svc.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var trailer metadata.MD
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("unary Check: %v", err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check = %v, want SERVING", resp.Status)
	}
	if got := trailer.Get("x-served-by"); len(got) != 1 || got[0] != "backend" {
		t.Errorf("trailer x-served-by = %q, want [backend]", got)
	}
	// An error status travels in a headers-only response.
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check of an unknown service: %v, want NotFound", err)
	}

	// Each message must arrive while the stream stays open: nothing buffers.
	wctx, wcancel := context.WithCancel(ctx)
	stream, err := client.Watch(wctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for _, want := range []healthpb.HealthCheckResponse_ServingStatus{
		healthpb.HealthCheckResponse_SERVING,
		healthpb.HealthCheckResponse_NOT_SERVING,
		healthpb.HealthCheckResponse_SERVING,
	} {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("Watch: waiting for %v: %v", want, err)
		}
		if msg.Status != want {
			t.Fatalf("Watch sent %v, want %v", msg.Status, want)
		}
		if want == healthpb.HealthCheckResponse_SERVING {
			hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
		} else {
			hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
		}
	}
	if n := r.InFlight("grpc"); n != 1 {
		t.Errorf("InFlight with an open stream = %d, want 1", n)
	}
	wcancel()
	waitFor(t, func() bool { return r.InFlight("grpc") == 0 })
}
