package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is one of the three paths wrk measures.
type target struct {
	name string
	url  string
	// proxy lists the PIDs of the proxy's processes (nil for direct), whose
	// CPU time is counted per request.
	proxy func() []int
	// ctl is the router's control address, for allocation counters and
	// profiles; "" for the others.
	ctl string
}

// sample is one measured run of one target.
type sample struct {
	wrkResult
	proxyCPU, backendCPU time.Duration // per request
	allocs, allocBytes   float64       // router heap allocations per request
}

func run(ctx context.Context, cfg config) error {
	if err := install("nginx", "wrk"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "slipway-bench-router-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// nginx workers drop root; let them read the prefix.
	os.Chmod(dir, 0o755)
	if cfg.profile != "" {
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			return err
		}
	}

	backend, f, err := startSelf("backend", "-serve-backend")
	if err != nil {
		return err
	}
	defer backend.stop()
	backendAddr := f[0]
	rt, f, err := startSelf("router", "-serve-router", backendAddr)
	if err != nil {
		return err
	}
	defer rt.stop()
	routerAddr, ctlAddr := f[0], f[1]
	ngx, nginxAddr, err := startNginx(dir, backendAddr)
	if err != nil {
		return err
	}
	defer ngx.stop()

	targets := []target{
		{name: "direct", url: "http://" + backendAddr + "/"},
		{name: "nginx", url: "http://" + nginxAddr + "/", proxy: func() []int { return withChildren(ngx.pid()) }},
		{name: "router", url: "http://" + routerAddr + "/", proxy: func() []int { return []int{rt.pid()} }, ctl: ctlAddr},
	}
	for _, t := range targets {
		if err := waitOK(t.url); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}

	fmt.Printf("Slipway router vs nginx vs direct: wrk -t%d, %s per run after 1s warm-up, %d round(s) interleaved, every other one in reverse order\n",
		cfg.threads, cfg.duration, cfg.rounds)
	fmt.Printf("%d CPUs, load average at start %s, %s, %s, %s\n\n",
		goruntime.NumCPU(), loadAvg(), goruntime.Version(), nginxVersion(), wrkVersion())

	samples := make(map[int][][]sample) // by connections, then target
	for _, n := range cfg.connections {
		samples[n] = make([][]sample, len(targets))
	}
	for round := range cfg.rounds {
		// Every other round runs the paths in reverse order, so that
		// whatever running first or last in a round does to a path (the
		// backend's state, the machine's) falls on each in turn.
		order := make([]int, len(targets))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, n := range cfg.connections {
			for _, i := range order {
				t := targets[i]
				prof := ""
				if cfg.profile != "" && t.ctl != "" {
					prof = filepath.Join(cfg.profile, fmt.Sprintf("router-c%d", n))
					if cfg.rounds > 1 {
						prof += fmt.Sprintf("-r%d", round+1)
					}
				}
				s, err := measure(ctx, cfg, t, n, backend.pid(), prof)
				if err != nil {
					return fmt.Errorf("%s, %d connections: %w", t.name, n, err)
				}
				fmt.Fprintf(os.Stderr, "bench: round %d, %d connections, %-6s %9.0f req/s  p50 %s  p99 %s\n",
					round+1, n, t.name, s.reqPerSec, ms(s.p50), ms(s.p99))
				samples[n][i] = append(samples[n][i], s)
			}
		}
	}
	report(cfg, targets, samples)
	return nil
}

// measure warms t up for a second, then runs wrk for cfg.duration, counting
// the CPU time of the proxy and the backend and, for the router, its heap
// allocations; with prof set it also profiles the router meanwhile.
func measure(ctx context.Context, cfg config, t target, conns, backendPID int, prof string) (sample, error) {
	if _, err := runWrk(ctx, t.url, cfg.threads, conns, time.Second); err != nil {
		return sample{}, err
	}
	var s sample
	var h0 heapStats
	if t.ctl != "" {
		var err error
		if h0, err = getStats(t.ctl); err != nil {
			return s, fmt.Errorf("router stats: %w", err)
		}
	}
	var pids []int
	if t.proxy != nil {
		pids = t.proxy()
	}
	p0, b0 := cpuTime(pids...), cpuTime(backendPID)

	var wg sync.WaitGroup
	var profErr error
	if prof != "" {
		secs := strconv.Itoa(max(1, int(cfg.duration/time.Second)-1))
		var mu sync.Mutex
		for _, p := range []struct{ path, file string }{
			{"/debug/pprof/profile?seconds=" + secs, prof + ".cpu.pprof"},
			{"/debug/pprof/allocs?seconds=" + secs, prof + ".allocs.pprof"},
		} {
			wg.Go(func() {
				if err := fetchTo("http://"+t.ctl+p.path, p.file); err != nil {
					mu.Lock()
					profErr = err
					mu.Unlock()
				}
			})
		}
	}
	r, err := runWrk(ctx, t.url, cfg.threads, conns, cfg.duration)
	wg.Wait()
	if err != nil {
		return s, err
	}
	if profErr != nil {
		return s, fmt.Errorf("profile: %w", profErr)
	}
	if r.non2xx > 0 || r.requests == 0 {
		return s, fmt.Errorf("%d of %d responses were not 2xx", r.non2xx, r.requests)
	}
	s.wrkResult = r
	perReq := func(d time.Duration) time.Duration { return d / time.Duration(r.requests) }
	if pids != nil {
		s.proxyCPU = perReq(cpuTime(pids...) - p0)
	}
	s.backendCPU = perReq(cpuTime(backendPID) - b0)
	if t.ctl != "" {
		h1, err := getStats(t.ctl)
		if err != nil {
			return s, fmt.Errorf("router stats: %w", err)
		}
		s.allocs = float64(h1.Objects-h0.Objects) / float64(r.requests)
		s.allocBytes = float64(h1.Bytes-h0.Bytes) / float64(r.requests)
	}
	return s, nil
}

func fetchTo(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report prints the medians over rounds as a Markdown table, with ratios.
func report(cfg config, targets []target, samples map[int][][]sample) {
	fmt.Println("| connections | path | req/s | req/s ÷ direct | req/s ÷ nginx | p50 | p99 | p99 ÷ direct | p99 ÷ nginx | proxy CPU/req | backend CPU/req | errors |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	type summary struct{ rate, p99, p50add, allocs, bytes, nginxCPU, routerCPU float64 }
	var sums []string
	for _, n := range cfg.connections {
		med := make([]sample, len(targets))
		for i := range targets {
			med[i] = median(samples[n][i])
		}
		direct, nginx := med[0], med[1]
		for i, t := range targets {
			m := med[i]
			ratio := func(a, b float64, self bool) string {
				if self {
					return "1.00×"
				}
				return fmt.Sprintf("%.2f×", a/b)
			}
			cpu := "–"
			if t.proxy != nil {
				cpu = us(m.proxyCPU)
			}
			errs := "0"
			if m.sockErrs > 0 {
				errs = strconv.FormatInt(m.sockErrs, 10) + " socket"
			}
			fmt.Printf("| %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				n, t.name, m.reqPerSec,
				ratio(m.reqPerSec, direct.reqPerSec, i == 0), ratio(m.reqPerSec, nginx.reqPerSec, i == 1),
				ms(m.p50), ms(m.p99),
				ratio(float64(m.p99), float64(direct.p99), i == 0), ratio(float64(m.p99), float64(nginx.p99), i == 1),
				cpu, us(m.backendCPU), errs)
		}
		r := med[2]
		rate, p99 := r.reqPerSec/nginx.reqPerSec, float64(r.p99)/float64(nginx.p99)
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "missed"
		}
		sums = append(sums, fmt.Sprintf(
			"%d connections: router req/s %.2f× nginx (goal ≥ 1.00×, %s), p99 %.2f× nginx (goal ≤ 1.10×, %s); "+
				"p50 adds %s over direct (nginx %s); router %.1f heap allocations, %.0f B per request",
			n, rate, verdict(rate >= 1), p99, verdict(p99 <= 1.1),
			ms(r.p50-direct.p50), ms(nginx.p50-direct.p50), r.allocs, r.allocBytes))
	}
	fmt.Println()
	for _, s := range sums {
		fmt.Println(s)
	}
}

// median takes each figure's median over the rounds on its own.
func median(ss []sample) sample {
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	d := func(f func(sample) time.Duration) time.Duration {
		return time.Duration(pick(func(s sample) float64 { return float64(f(s)) }))
	}
	var m sample
	m.requests = int64(pick(func(s sample) float64 { return float64(s.requests) }))
	m.reqPerSec = pick(func(s sample) float64 { return s.reqPerSec })
	m.p50 = d(func(s sample) time.Duration { return s.p50 })
	m.p99 = d(func(s sample) time.Duration { return s.p99 })
	m.sockErrs = int64(pick(func(s sample) float64 { return float64(s.sockErrs) }))
	m.proxyCPU = d(func(s sample) time.Duration { return s.proxyCPU })
	m.backendCPU = d(func(s sample) time.Duration { return s.backendCPU })
	m.allocs = pick(func(s sample) float64 { return s.allocs })
	m.allocBytes = pick(func(s sample) float64 { return s.allocBytes })
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times; 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime sums the user and system CPU time of pids.
func cpuTime(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		// Fields after "(comm)": state is 0, utime 11, stime 12.
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+s) * clockTick
	}
	return total
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return nil
	}
	return strings.Fields(rest)
}

// withChildren returns pid and its children (nginx's master and workers).
func withChildren(pid int) []int {
	out := []int{pid}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}
