package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// reserveAddr picks a free loopback address for a server started later.
func reserveAddr(t *testing.T) string { return deadAddr(t) }

func TestWaitHealthyOnceListening(t *testing.T) {
	for _, proto := range []string{TCP, HTTP} {
		t.Run(proto, func(t *testing.T) {
			addr := reserveAddr(t)
			var wg sync.WaitGroup
			defer wg.Wait()
			listening := make(chan time.Time, 1)
			srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
			defer srv.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(200 * time.Millisecond)
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("listen: %v", err)
					close(listening)
					return
				}
				listening <- time.Now()
				srv.Serve(ln)
			}()

			c := Check{Protocol: proto, Path: "/", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 5}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := WaitHealthy(ctx, Target{Addr: addr}, c, nil, time.Now); err != nil {
				t.Fatalf("WaitHealthy = %v, want nil", err)
			}
			healthy := time.Now()
			up, ok := <-listening
			if !ok {
				return
			}
			if d := healthy.Sub(up); d > 150*time.Millisecond {
				t.Errorf("healthy %v after listening, want within about 50ms", d)
			}
		})
	}
}

func TestWaitHealthyThreshold(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := Check{Protocol: TCP, Interval: 100 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 3, UnhealthyThreshold: 3}
	start := time.Now()
	if err := WaitHealthy(context.Background(), Target{Addr: ln.Addr().String()}, c, nil, nil); err != nil {
		t.Fatalf("WaitHealthy = %v, want nil", err)
	}
	// The 2nd and 3rd checks come one Interval apart.
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Errorf("took %v, want about 2 intervals (200ms)", d)
	}
}

func TestWaitHealthyGivesUp(t *testing.T) {
	c := Check{Protocol: TCP, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 3}
	start := time.Now()
	err := WaitHealthy(context.Background(), Target{Addr: deadAddr(t)}, c, func() error { return nil }, time.Now)
	d := time.Since(start)
	if !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("WaitHealthy = %v, want ErrUnhealthy", err)
	}
	if !strings.Contains(err.Error(), "checks failed") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q should count the failed checks and give the last probe error", err)
	}
	if d < 300*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("gave up after %v, want about UnhealthyThreshold*Interval = 300ms", d)
	}
}

func TestWaitHealthyProcessDied(t *testing.T) {
	errDied := errors.New("exit status 1")
	c := Check{Protocol: TCP, Interval: 10 * time.Second, Timeout: time.Second, UnhealthyThreshold: 5}
	var calls int
	alive := func() error {
		calls++
		if calls > 2 {
			return errDied
		}
		return nil
	}
	start := time.Now()
	err := WaitHealthy(context.Background(), Target{Addr: deadAddr(t)}, c, alive, time.Now)
	if !errors.Is(err, errDied) {
		t.Fatalf("WaitHealthy = %v, want it to wrap the process error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want promptly", d)
	}
}

func TestWaitHealthyContext(t *testing.T) {
	c := Check{Protocol: TCP, Interval: 10 * time.Second, Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := WaitHealthy(ctx, Target{Addr: deadAddr(t)}, c, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitHealthy = %v, want DeadlineExceeded", err)
	}
}
