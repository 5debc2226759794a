package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// holder starts a process in a new network namespace and returns it open;
// both end with the test. Tests need root and slirp4netns, and fail, not
// skip, without them.
func holder(t *testing.T) *Handle {
	t.Helper()
	if err := Available(""); err != nil {
		t.Fatalf("network namespaces unavailable: %v", err)
	}
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	h, err := Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := Loopback(h); err != nil {
		t.Fatal(err)
	}
	return h
}

// serve listens on addr inside h and answers every connection with name.
func serve(t *testing.T, h *Handle, addr, name string) {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	greet(t, ln, name)
}

// greet answers every connection to ln with name, until the test ends.
func greet(t *testing.T, ln net.Listener, name string) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name + "\n"))
			c.Close()
		}
	}()
}

func greeting(t *testing.T, dial func() (net.Conn, error)) string {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line[:len(line)-1]
}

func TestSamePortInTwoNamespaces(t *testing.T) {
	a, b := holder(t), holder(t)
	serve(t, a, "127.0.0.1:8080", "a")
	serve(t, b, "127.0.0.1:8080", "b")
	ctx := context.Background()
	for range 3 {
		if got := greeting(t, func() (net.Conn, error) { return a.DialContext(ctx, "tcp", "127.0.0.1:8080") }); got != "a" {
			t.Fatalf("dial into a: got %q, want a", got)
		}
		if got := greeting(t, func() (net.Conn, error) { return b.DialContext(ctx, "tcp", "127.0.0.1:8080") }); got != "b" {
			t.Fatalf("dial into b: got %q, want b", got)
		}
	}
	if got := greeting(t, func() (net.Conn, error) { return DialPath(ctx, b.Path(), "tcp", "127.0.0.1:8080") }); got != "b" {
		t.Fatalf("DialPath into b: got %q, want b", got)
	}
	// The daemon's own threads stay in the host's namespace.
	self, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	hostNS, err := Host()
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", hostNS.Fd()))
	if self != host {
		t.Fatalf("this thread is in %s after dialling, want the host's %s", self, host)
	}
	_, err = a.DialContext(ctx, "tcp", "127.0.0.1:8081")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: got %v, want a dial OpError with ECONNREFUSED", err)
	}
}

func TestOutboundAndFirewall(t *testing.T) {
	h := holder(t)
	open := hostListener(t)
	denied := hostListener(t)
	exitR, exitW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer exitR.Close()
	defer exitW.Close()
	if err := StartOutbound("", h.Path(), exitR, nil); err != nil {
		t.Fatal(err)
	}
	if err := Firewall(h, []uint16{port(denied)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got := greeting(t, func() (net.Conn, error) {
		return h.DialContext(ctx, "tcp", net.JoinHostPort(HostLoopback, strconv.Itoa(int(port(open)))))
	}); got != "host" {
		t.Fatalf("host loopback through %s: got %q", HostLoopback, got)
	}
	_, err = h.DialContext(ctx, "tcp", net.JoinHostPort(HostLoopback, strconv.Itoa(int(port(denied)))))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("denied port: got %v, want connection refused", err)
	}
	// The namespace's own loopback is not the host's.
	if c, err := h.DialContext(ctx, "tcp", open.Addr().String()); err == nil {
		c.Close()
		t.Fatalf("dialled the host's %s from inside the namespace", open.Addr())
	}

	// slirp4netns ends with the exit pipe's writer; the namespace loses its
	// way out.
	exitW.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		dctx, dcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		c, err := h.DialContext(dctx, "tcp", net.JoinHostPort(HostLoopback, strconv.Itoa(int(port(open)))))
		dcancel()
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("slirp4netns still forwards after its exit pipe closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hostListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	greet(t, ln, "host")
	return ln
}

func port(ln net.Listener) uint16 { return uint16(ln.Addr().(*net.TCPAddr).Port) }
