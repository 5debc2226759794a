// Command deploy measures Slipway's deployment overhead: the time from
// StartDeployment to SUCCEEDED, minus what the same app's build and start
// take when run directly, on a trivial app. Each round deploys a new commit,
// so every deployment fetches, exports and builds.
//
//	go run ./bench/deploy [-n 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

const app = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

const buildCmd = "python3 -c 'print(1)'"

func main() {
	n := flag.Int("n", 10, "deployments to measure")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	tmp, err := os.MkdirTemp("", "slipway-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/slipway").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	repo := filepath.Join(tmp, "repo")
	git := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
		return nil
	}
	os.MkdirAll(filepath.Join(repo, "svc"), 0o755)
	os.WriteFile(filepath.Join(repo, "svc", "app.py"), []byte(app), 0o644)
	os.WriteFile(filepath.Join(repo, "svc", "n.txt"), []byte("0"), 0o644)
	if err := git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	commit := func(i int) error {
		os.WriteFile(filepath.Join(repo, "svc", "n.txt"), []byte(fmt.Sprint(i)), 0o644)
		if err := git("add", "-A"); err != nil {
			return err
		}
		return git("commit", "-q", "-m", fmt.Sprint(i))
	}
	if err := commit(0); err != nil {
		return err
	}

	// Direct: the same build command, then the app until it accepts a
	// connection.
	var direct []time.Duration
	for range n {
		port := freePort()
		start := time.Now()
		if out, err := exec.Command("sh", "-c", buildCmd).CombinedOutput(); err != nil {
			return fmt.Errorf("direct build: %v %s", err, out)
		}
		cmd := exec.Command("python3", "app.py")
		cmd.Dir = filepath.Join(repo, "svc")
		cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
		if err := cmd.Start(); err != nil {
			return err
		}
		waitListening(fmt.Sprintf("127.0.0.1:%d", port))
		direct = append(direct, time.Since(start))
		cmd.Process.Kill()
		cmd.Wait()
	}

	// Slipway.
	data := filepath.Join(tmp, "data")
	apiAddr, routerAddr := fmt.Sprintf("127.0.0.1:%d", freePort()), fmt.Sprintf("127.0.0.1:%d", freePort())
	srv := exec.Command(bin, "server", "--data-dir", data, "--api-listen", apiAddr, "--router-listen", routerAddr, "--log-level", "warn")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		pids, _ := filepath.Glob(filepath.Join(data, "run", "*.pid"))
		for _, p := range pids {
			var pid int
			if b, err := os.ReadFile(p); err == nil {
				fmt.Sscan(string(b), &pid)
				if pid > 1 {
					syscall.Kill(pid, syscall.SIGTERM) // the shim stops its app
				}
			}
		}
	}()
	for {
		if resp, err := http.Get("http://" + apiAddr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	creds, err := exec.Command(bin, "env", "--data-dir", data).Output()
	if err != nil {
		return err
	}
	var key, secret string
	for _, l := range strings.Split(string(creds), "\n") {
		l = strings.TrimPrefix(l, "export ")
		k, v, _ := strings.Cut(l, "=")
		v = strings.Trim(v, "'")
		switch k {
		case "AWS_ACCESS_KEY_ID":
			key = v
		case "AWS_SECRET_ACCESS_KEY":
			secret = v
		}
	}
	client := apprunner.New(apprunner.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + apiAddr),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	ctx := context.Background()
	out, err := client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("bench"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				SourceDirectory:   aws.String("svc"),
				CodeConfiguration: &types.CodeConfiguration{
					ConfigurationSource: types.ConfigurationSourceApi,
					CodeConfigurationValues: &types.CodeConfigurationValues{
						Runtime:      types.RuntimePython3,
						BuildCommand: aws.String(buildCmd),
						StartCommand: aws.String("python3 app.py"),
					},
				},
			},
		},
	})
	if err != nil {
		return err
	}
	arn := out.Service.ServiceArn
	if _, err := waitOp(ctx, client, arn, aws.ToString(out.OperationId)); err != nil {
		return err
	}
	var slipway []time.Duration
	for i := range n {
		if err := commit(i + 1); err != nil {
			return err
		}
		start := time.Now()
		dep, err := client.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
		if err != nil {
			return err
		}
		if _, err := waitOp(ctx, client, arn, aws.ToString(dep.OperationId)); err != nil {
			return err
		}
		slipway = append(slipway, time.Since(start))
	}
	d, s := median(direct), median(slipway)
	fmt.Printf("trivial Python app, %d deployments, medians:\n", n)
	fmt.Printf("  direct build+start:              %6.0f ms\n", ms(d))
	fmt.Printf("  StartDeployment -> SUCCEEDED:    %6.0f ms\n", ms(s))
	fmt.Printf("  Slipway overhead:                %6.0f ms (goal < 500 ms)\n", ms(s-d))
	fmt.Printf("  ratio Slipway/direct:            %6.2f\n", float64(s)/float64(d))
	return nil
}

// waitOp polls until the operation ends, as a client would (every 10 ms).
func waitOp(ctx context.Context, c *apprunner.Client, arn *string, id string) (types.OperationStatus, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn, MaxResults: aws.Int32(1)})
		if err != nil {
			return "", err
		}
		for _, o := range out.OperationSummaryList {
			if aws.ToString(o.Id) != id {
				continue
			}
			switch o.Status {
			case types.OperationStatusSucceeded:
				return o.Status, nil
			case types.OperationStatusFailed, types.OperationStatusRollbackSucceeded, types.OperationStatusRollbackFailed:
				return o.Status, fmt.Errorf("operation %s ended %s", id, o.Status)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "", fmt.Errorf("operation %s did not end", id)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(addr string) {
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
