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
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/slipwayhq/slipway/bench/internal/benchenv"
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
	env, err := benchenv.New()
	if err != nil {
		return err
	}
	defer env.Close()
	repo, err := env.NewRepo(map[string]string{"svc/app.py": app, "svc/n.txt": "0"})
	if err != nil {
		return err
	}

	// Direct: the same build command, then the app until it accepts a
	// connection.
	var direct []time.Duration
	for range n {
		addr := benchenv.FreeAddr()
		_, port, _ := net.SplitHostPort(addr)
		start := time.Now()
		if out, err := exec.Command("sh", "-c", buildCmd).CombinedOutput(); err != nil {
			return fmt.Errorf("direct build: %v %s", err, out)
		}
		cmd := exec.Command("python3", "app.py")
		cmd.Dir = filepath.Join(repo.Dir, "svc")
		cmd.Env = append(os.Environ(), "PORT="+port)
		if err := cmd.Start(); err != nil {
			return err
		}
		benchenv.WaitListening(addr)
		direct = append(direct, time.Since(start))
		cmd.Process.Kill()
		cmd.Wait()
	}

	srv, err := env.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	out, err := srv.Client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("bench"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo.Dir),
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
	if err := srv.WaitOp(ctx, arn, aws.ToString(out.OperationId)); err != nil {
		return err
	}
	var slipway []time.Duration
	for i := range n {
		if err := repo.Commit(map[string]string{"svc/n.txt": fmt.Sprint(i + 1)}, fmt.Sprint(i+1)); err != nil {
			return err
		}
		start := time.Now()
		dep, err := srv.Client.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
		if err != nil {
			return err
		}
		if err := srv.WaitOp(ctx, arn, aws.ToString(dep.OperationId)); err != nil {
			return err
		}
		slipway = append(slipway, time.Since(start))
	}
	d, s := benchenv.Median(direct), benchenv.Median(slipway)
	fmt.Printf("trivial Python app, %d deployments, medians:\n", n)
	fmt.Printf("  direct build+start:              %6.0f ms\n", benchenv.Ms(d))
	fmt.Printf("  StartDeployment -> SUCCEEDED:    %6.0f ms\n", benchenv.Ms(s))
	fmt.Printf("  Slipway overhead:                %6.0f ms (goal < 500 ms)\n", benchenv.Ms(s-d))
	fmt.Printf("  ratio Slipway/direct:            %6.2f\n", float64(s)/float64(d))
	return nil
}
