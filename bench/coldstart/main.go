// Command coldstart measures a scale-to-zero service's cold start: from the
// first request to a service at zero to its response, minus the app's own
// start time (the same app started directly until it accepts), for a
// trivial app on the process runtime. Each round waits for the service to
// scale to zero (idle timeout 1s) and checks that a new instance answered.
//
//	go run ./bench/coldstart [-n 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/slipwayhq/slipway/bench/internal/benchenv"
)

// app is a trivial Python app that answers with its pid.
const app = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(os.getpid()).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

func main() {
	n := flag.Int("n", 10, "cold starts to measure")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	env, err := benchenv.New()
	if err != nil {
		return err
	}
	defer env.Close()
	repo, err := env.NewRepo(map[string]string{"app.py": app})
	if err != nil {
		return err
	}
	s, err := env.Start()
	if err != nil {
		return err
	}
	defer s.Stop()
	ctx := context.Background()
	asc, err := s.Client.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{
		AutoScalingConfigurationName: aws.String("to-zero"),
		MinSize:                      aws.Int32(1), MaxSize: aws.Int32(1),
		Tags: []types.Tag{{Key: aws.String("slipway:min-size"), Value: aws.String("0")},
			{Key: aws.String("slipway:idle-timeout"), Value: aws.String("1s")}},
	})
	if err != nil {
		return err
	}
	out, err := s.Client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:                 aws.String("cold"),
		AutoScalingConfigurationArn: asc.AutoScalingConfiguration.AutoScalingConfigurationArn,
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo.Dir),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				CodeConfiguration: &types.CodeConfiguration{
					ConfigurationSource: types.ConfigurationSourceApi,
					CodeConfigurationValues: &types.CodeConfigurationValues{
						Runtime: types.RuntimePython3, StartCommand: aws.String("python3 app.py"),
					},
				},
			},
		},
	})
	if err != nil {
		return err
	}
	if err := s.WaitOp(ctx, out.Service.ServiceArn, aws.ToString(out.OperationId)); err != nil {
		return err
	}
	host := aws.ToString(out.Service.ServiceUrl)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (string, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.Router+"/", nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), nil
	}
	pid, err := get()
	if err != nil {
		return err
	}
	appDir := filepath.Join(env.Dir, "direct")
	os.MkdirAll(appDir, 0o755)
	os.WriteFile(filepath.Join(appDir, "app.py"), []byte(app), 0o644)

	var cold, direct []time.Duration
	for range n {
		if err := waitGone(pid, 30*time.Second); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		t0 := time.Now()
		next, err := get()
		if err != nil {
			return err
		}
		cold = append(cold, time.Since(t0))
		if next == pid {
			return fmt.Errorf("pid %s answered again: not a cold start", pid)
		}
		pid = next
		d, err := startDirect(appDir)
		if err != nil {
			return err
		}
		direct = append(direct, d)
	}
	mc, md := median(cold), median(direct)
	fmt.Printf("%d cold starts of a trivial Python app on the process runtime\n", n)
	fmt.Printf("first request to a service at zero → response: median %s (min %s, max %s)\n", ms(mc), ms(slices.Min(cold)), ms(slices.Max(cold)))
	fmt.Printf("the app started directly until it accepts:        median %s\n", ms(md))
	fmt.Printf("Slipway's cold start overhead: %s (goal < 300 ms); ratio %.2f\n", ms(mc-md), float64(mc)/float64(md))
	return nil
}

// waitGone waits for the process pid to end.
func waitGone(pid string, timeout time.Duration) error {
	p, err := strconv.Atoi(strings.TrimSpace(pid))
	if err != nil {
		return fmt.Errorf("pid %q: %w", pid, err)
	}
	for deadline := time.Now().Add(timeout); syscall.Kill(p, 0) == nil; {
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %d did not stop after the idle timeout", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// startDirect starts the app as the runtime would and times it until it
// accepts a connection.
func startDirect(dir string) (time.Duration, error) {
	port := benchenv.FreeAddr()
	_, p, _ := net.SplitHostPort(port)
	cmd := exec.Command("python3", "app.py")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+p)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", "127.0.0.1:"+p); err == nil {
			c.Close()
			return time.Since(t0), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the app did not start")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
