// Command instancenet measures what a network namespace per instance costs
// the router: the latency of a GET through Slipway's router to the same
// trivial Go server on the host's loopback (how instances ran before) and
// on the loopback of a namespace of its own (how they run now), side by
// side in one run, with the direct latencies to subtract. It also times a
// new connection to each, which the router makes only when its pool of idle
// connections has none. It needs root (it creates a namespace).
//
//	go run ./bench/instancenet [-n 20000] [-rounds 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/router"
)

func main() {
	n := flag.Int("n", 20000, "requests per path and round")
	rounds := flag.Int("rounds", 10, "rounds; paths alternate within each round")
	flag.Parse()
	if err := run(*n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })

func run(n, rounds int) error {
	// The host instance, on a free loopback port.
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(hostLn, hello)

	// The namespaced instance, on 127.0.0.1:8080 of its own namespace, held
	// by a sleeping process.
	holder := exec.Command("sleep", "3600")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := holder.Start(); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	nsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	ns, err := netns.Open(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := netns.Loopback(ns); err != nil {
		return err
	}
	var nsLn net.Listener
	if err := ns.Do(func() (err error) { nsLn, err = net.Listen("tcp", "127.0.0.1:8080"); return err }); err != nil {
		return err
	}
	go http.Serve(nsLn, hello)

	rt := router.New(router.Config{}, slog.New(slog.DiscardHandler))
	rt.SetRoute(router.Route{Host: "host.bench", Backends: []router.Backend{{ID: "host", Addr: hostLn.Addr().String()}}})
	rt.SetRoute(router.Route{Host: "ns.bench", Backends: []router.Backend{{ID: "ns", Addr: "127.0.0.1:8080", NetNS: nsPath}}})
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(front, rt)

	nsDial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return ns.DialContext(ctx, network, "127.0.0.1:8080")
	}
	paths := []struct {
		name string
		host string // Host header; "" for direct
		c    *http.Client
		url  string
	}{
		{"direct, host loopback", "", client(nil), "http://" + hostLn.Addr().String() + "/"},
		{"direct, own namespace", "", client(nsDial), "http://127.0.0.1:8080/"},
		{"router → host loopback (before)", "host.bench", client(nil), "http://" + front.Addr().String() + "/"},
		{"router → own namespace (after)", "ns.bench", client(nil), "http://" + front.Addr().String() + "/"},
	}
	lat := make([][]time.Duration, len(paths))
	for r := range rounds + 1 {
		for i, p := range paths {
			d, err := measure(p.c, p.url, p.host, n)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if r > 0 { // round 0 warms up
				lat[i] = append(lat[i], d...)
			}
		}
	}
	fmt.Printf("%d sequential keep-alive GETs per path (%d rounds, interleaved), %d CPUs\n\n", n*rounds, rounds, numCPU())
	fmt.Printf("%-34s %9s %9s %9s\n", "path", "mean", "p50", "p99")
	means := make([]time.Duration, len(paths))
	for i, p := range paths {
		slices.Sort(lat[i])
		means[i] = mean(lat[i])
		fmt.Printf("%-34s %9s %9s %9s\n", p.name, us(means[i]), us(pct(lat[i], 50)), us(pct(lat[i], 99)))
	}
	before := means[2] - means[0]
	after := means[3] - means[1]
	fmt.Printf("\nrouter's added latency (mean, router minus direct): before %s, after %s: ratio %.2f\n", us(before), us(after), float64(after)/float64(before))
	fmt.Printf("whole latency through the router: before %s, after %s: ratio %.2f\n", us(means[2]), us(means[3]), float64(means[3])/float64(means[2]))

	// A new backend connection, as the router makes when its pool is empty.
	hostDial := func() (net.Conn, error) { return net.Dial("tcp", hostLn.Addr().String()) }
	nsDialOnce := func() (net.Conn, error) { return ns.DialContext(context.Background(), "tcp", "127.0.0.1:8080") }
	dh, err := dials(hostDial, 2000)
	if err != nil {
		return err
	}
	dn, err := dials(nsDialOnce, 2000)
	if err != nil {
		return err
	}
	fmt.Printf("new connection (median of 2000): host loopback %s, own namespace %s: ratio %.2f\n", us(dh), us(dn), float64(dn)/float64(dh))
	return nil
}

func client(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4, DisableCompression: true}}
}

func measure(c *http.Client, url, host string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if host != "" {
			req.Host = host
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(t0))
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	return out, nil
}

func dials(dial func() (net.Conn, error), n int) (time.Duration, error) {
	d := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		c, err := dial()
		if err != nil {
			return 0, err
		}
		d = append(d, time.Since(t0))
		c.Close()
	}
	slices.Sort(d)
	return d[len(d)/2], nil
}

func mean(d []time.Duration) time.Duration {
	var s time.Duration
	for _, x := range d {
		s += x
	}
	return s / time.Duration(len(d))
}

func pct(sorted []time.Duration, p int) time.Duration { return sorted[(len(sorted)-1)*p/100] }

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func numCPU() int { return goruntime.NumCPU() }
