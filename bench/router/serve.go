package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/router"
)

// benchHost is the Host header every request carries; the router routes it.
const benchHost = "bench.localhost"

// serveBackend is the trivial app: GET / answers "ok" over keep-alive.
func serveBackend() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	})}
	return serveUntilSignal(srv, ln)
}

// serveRouter serves Slipway's router in front of backend, with the
// router.Server internal/daemon serves it with,
// and a control listener with net/http/pprof and allocation counters. It
// prints both addresses.
func serveRouter(backend string) error {
	rt := router.New(router.Config{}, slog.New(slog.DiscardHandler))
	defer rt.Close()
	rt.SetRoute(router.Route{Host: benchHost, Service: "bench", Backends: []router.Backend{{ID: "b", Addr: backend}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(readHeapStats())
	})
	go http.Serve(ctl, mux)
	fmt.Println(ln.Addr(), ctl.Addr())
	return serveUntilSignal(router.NewServer(rt), ln)
}

func serveUntilSignal(srv interface {
	Serve(net.Listener) error
	Close() error
}, ln net.Listener) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-sig:
		return srv.Close()
	case err := <-errc:
		return err
	}
}

// heapStats are the router process's cumulative heap allocations.
type heapStats struct {
	Objects uint64 `json:"objects"`
	Bytes   uint64 `json:"bytes"`
}

func readHeapStats() heapStats {
	// allocs:objects leaves out tiny objects (under 16 B without pointers),
	// which testing's allocs/op counts.
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return heapStats{Objects: s[0].Value.Uint64() + s[1].Value.Uint64(), Bytes: s[2].Value.Uint64()}
}

// child is a process this benchmark started; stop ends it by its PID.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// startSelf re-executes this binary with args and returns the fields of the
// first line it prints (its addresses).
func startSelf(name string, args ...string) (*child, []string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	// If this process dies without cleaning up, the kernel ends the child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	c, err := start(name, cmd)
	if err != nil {
		return nil, nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, nil, fmt.Errorf("%s: no address: %w", name, err)
	}
	return c, strings.Fields(line), nil
}

func start(name string, cmd *exec.Cmd) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM (nginx's fast shutdown, which also ends its workers)
// and SIGKILL after 5 seconds, and waits.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		fmt.Fprintf(os.Stderr, "bench: %s (pid %d) ignored SIGTERM; killing it\n", c.name, c.pid())
		c.cmd.Process.Kill()
		<-c.done
	}
}

// waitOK polls url until it answers 200 "ok".
func waitOK(url string) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = benchHost
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == "ok" {
				return nil
			}
			err = fmt.Errorf("status %d, body %q", resp.StatusCode, body)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered ok: %w", url, last)
}

func getStats(ctl string) (heapStats, error) {
	var s heapStats
	resp, err := http.Get("http://" + ctl + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, errors.New(resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}
