package swarm

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"
)

// Swarm finds a node down only after it has missed heartbeats (three
// periods, 15 s by default), and until then it keeps placing tasks there.
// The engine, meanwhile, may already be replacing that node's instances,
// whose health checks failed at once. So before a placement the backend
// knocks on each candidate's gossip port (TCP 7946, which every node of a
// swarm listens on): a node whose port answered before and does not now
// gets no new instance. A node never seen answering (a firewall between
// Slipway and the nodes, say) is left to Swarm's verdict, so the knock
// can only narrow a placement, never empty it.

// gossipPort is the port Swarm's nodes talk to each other on (memberlist).
const gossipPort = 7946

// knockTimeout bounds a knock: a node next to Slipway answers within a
// millisecond.
const knockTimeout = 500 * time.Millisecond

// prober remembers which node addresses answered a knock.
type prober struct {
	port    int
	timeout time.Duration

	mu       sync.Mutex
	answered map[string]bool
}

func newProber(port int, timeout time.Duration) *prober {
	return &prober{port: port, timeout: timeout, answered: map[string]bool{}}
}

// silent returns the addresses among addrs that answered a knock before
// and do not now. It knocks on all of them at once.
func (p *prober) silent(ctx context.Context, addrs []string) map[string]bool {
	ok := make([]bool, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { ok[i] = p.knock(ctx, a) })
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for i, a := range addrs {
		switch {
		case ok[i]:
			p.answered[a] = true
		case p.answered[a]:
			out[a] = true
		}
	}
	return out
}

func (p *prober) knock(ctx context.Context, addr string) bool {
	if addr == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(p.port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
