package swarm

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestProberSilent(t *testing.T) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, port, _ := net.SplitHostPort(a.Addr().String())
	b, err := net.Listen("tcp", "127.0.0.2:"+port)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	pr := newProber(p, 200*time.Millisecond)
	ctx := context.Background()
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	// 127.0.0.3 never answered: Swarm's word stands for it.
	if s := pr.silent(ctx, addrs); len(s) != 0 {
		t.Fatalf("silent %v, want none", s)
	}
	b.Close()
	s := pr.silent(ctx, addrs)
	if len(s) != 1 || !s["127.0.0.2"] {
		t.Fatalf("silent %v, want only 127.0.0.2, which answered before", s)
	}
}
