package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// slowApp answers after ?ms milliseconds with its pid and the most requests
// it ever held at once: "pid=<pid> peak=<n>".
const slowApp = `import http.server, os, threading, time
from urllib.parse import urlparse, parse_qs
lock = threading.Lock()
now = peak = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        global now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        try:
            ms = int(parse_qs(urlparse(self.path).query).get("ms", ["0"])[0])
            time.sleep(ms / 1000)
            body = f"pid={os.getpid()} peak={peak}\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with lock:
                now -= 1
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

var peakRE = regexp.MustCompile(`pid=(\d+) peak=(\d+)`)

// pound keeps n clients sending slow requests to url until ctx ends, and
// reports per pid the highest peak any answer showed, and the statuses.
type pound struct {
	mu       sync.Mutex
	peaks    map[string]int
	statuses map[int]int
	wg       sync.WaitGroup
}

func startPound(ctx context.Context, s *testenv.Server, url string, n int, ms int) *pound {
	p := &pound{peaks: map[string]int{}, statuses: map[int]int{}}
	for range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for ctx.Err() == nil {
				code, body, err := s.Get(url, "/?ms="+strconv.Itoa(ms))
				p.mu.Lock()
				if err != nil {
					code = 0
				}
				p.statuses[code]++
				if m := peakRE.FindStringSubmatch(body); m != nil {
					peak, _ := strconv.Atoi(m[2])
					p.peaks[m[1]] = max(p.peaks[m[1]], peak)
				}
				p.mu.Unlock()
			}
		}()
	}
	return p
}

func (p *pound) snapshot() (map[string]int, map[int]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	peaks, st := map[string]int{}, map[int]int{}
	for k, v := range p.peaks {
		peaks[k] = v
	}
	for k, v := range p.statuses {
		st[k] = v
	}
	return peaks, st
}

// TestAutoscaling: MaxConcurrency 4, MinSize 1, MaxSize 3 under 12
// concurrent slow requests scales to 3 instances, no instance ever holds
// more than 4 requests, the requests beyond capacity queue and succeed,
// and without load the service returns to 1 instance. A flood beyond the
// queue answers 429.
func TestAutoscaling(t *testing.T) {
	s := startServer(t)
	asc := s.MustAWS("create-auto-scaling-configuration", "--auto-scaling-configuration-name", "four-each",
		"--max-concurrency", "4", "--min-size", "1", "--max-size", "3",
		"--tags", "Key=slipway:stable-window,Value=6s")
	ascARN := str(asc, "AutoScalingConfiguration", "AutoScalingConfigurationArn")
	repo := newGitRepo(t)
	repo.Write("app.py", slowApp)
	repo.Commit("slow app")
	out := s.MustAWS("create-service", "--service-name", "slow-svc", "--auto-scaling-configuration-arn", ascARN,
		"--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
			"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "Port": "8080",
		})))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	p := startPound(ctx, s, url, 12, 500)
	deadline := time.Now().Add(30 * time.Second)
	for {
		peaks, _ := p.snapshot()
		if len(peaks) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("under 12 concurrent requests the service runs %d instances (%v), want 3\n%s", len(peaks), peaks, s.DaemonLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // load on three instances for a while
	cancel()
	p.wg.Wait()
	peaks, statuses := p.snapshot()
	t.Logf("peaks per instance %v, statuses %v", peaks, statuses)
	if len(peaks) != 3 {
		t.Fatalf("%d instances answered, want 3 (MaxSize): %v", len(peaks), peaks)
	}
	for pid, peak := range peaks {
		if peak > 4 {
			t.Fatalf("instance %s held %d requests at once, over MaxConcurrency 4", pid, peak)
		}
	}
	if statuses[200] == 0 || len(statuses) != 1 {
		t.Fatalf("statuses %v, want only 200: requests beyond capacity queue and succeed", statuses)
	}
	if !strings.Contains(s.DaemonLog(), "to=3") {
		t.Errorf("the daemon log shows no scaling to 3:\n%s", s.DaemonLog())
	}

	// Without load, back to one instance after the stable window.
	deadline = time.Now().Add(60 * time.Second)
	for {
		seen := map[string]bool{}
		for range 8 {
			_, body, _ := s.Get(url, "/")
			if m := peakRE.FindStringSubmatch(body); m != nil {
				seen[m[1]] = true
			}
		}
		if len(seen) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("without load the service still runs %d instances\n%s", len(seen), s.DaemonLog())
		}
		time.Sleep(time.Second)
	}

	// A flood beyond the queue (capacity 12, queue 12) is answered 429.
	ctx, cancel = context.WithCancel(context.Background())
	flood := startPound(ctx, s, url, 60, 3000)
	time.Sleep(2 * time.Second)
	cancel()
	flood.wg.Wait()
	_, statuses = flood.snapshot()
	t.Logf("flood statuses %v", statuses)
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("60 concurrent 3 s requests against capacity 4-12 and a queue of 12: no 429 (%v)", statuses)
	}
	if statuses[200] == 0 {
		t.Fatalf("no request of the flood succeeded: %v", statuses)
	}
	_ = fmt.Sprint()
}
