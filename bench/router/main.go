// Command router measures Slipway's router against direct access and nginx,
// side by side in one run: wrk sends keep-alive GETs to a trivial Go backend
// (GET / answers "ok") directly, through nginx (proxy_pass to a keepalive
// upstream) and through Slipway's router (internal/router behind an
// http.Server set as the daemon sets it). The backend, the router, nginx and
// wrk are separate processes competing for the same CPUs, as in production,
// and the paths are interleaved (direct, nginx, router for each connection
// count, each warmed up for a second first) so that noise hits them alike.
//
// It prints req/s, p50 and p99 of each path, their ratios to direct and to
// nginx, the proxy's CPU time per request, and the router's heap
// allocations per request. nginx and wrk are installed from Debian with
// apt-get if missing (it needs root for that).
//
//	go run ./bench/router [-duration 10s] [-connections 32,256] [-threads 1] [-rounds 1] [-profile DIR]
//
// With -profile, it also writes a CPU profile (router-cN.cpu.pprof) and a
// heap allocation profile (router-cN.allocs.pprof) of the router process
// during each of its runs into DIR, for `go tool pprof -top`; profiling
// slows the router a little, so take the figures from a run without it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each measured wrk run")
	conns := flag.String("connections", "32,256", "comma-separated wrk connection counts")
	flag.IntVar(&cfg.threads, "threads", 1, "wrk threads")
	flag.IntVar(&cfg.rounds, "rounds", 1, "rounds of the interleaved runs; figures are medians over rounds")
	flag.StringVar(&cfg.profile, "profile", "", "directory for CPU and allocation profiles of the router")
	serveBackendFlag := flag.Bool("serve-backend", false, "internal: serve the trivial backend and print its address")
	serveRouterFlag := flag.String("serve-router", "", "internal: serve Slipway's router in front of this backend address")
	flag.Parse()

	var err error
	switch {
	case *serveBackendFlag:
		err = serveBackend()
	case *serveRouterFlag != "":
		err = serveRouter(*serveRouterFlag)
	default:
		if cfg.connections, err = parseConnections(*conns, cfg.threads); err == nil {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			err = run(ctx, cfg)
			stop()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	duration    time.Duration
	connections []int
	threads     int
	rounds      int
	profile     string
}

func parseConnections(s string, threads int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < threads {
			return nil, fmt.Errorf("-connections: %q is not a count of at least -threads (%d)", f, threads)
		}
		out = append(out, n)
	}
	return out, nil
}
