// Command webhook measures how fast a GitHub push webhook starts a
// deployment: from the webhook's arrival to the START_DEPLOYMENT operation
// being visible in ListOperations, beside the time the fetch alone takes
// (measured directly with git on the same repository).
//
//	go run ./bench/webhook [-n 10]
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
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
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
`

func main() {
	n := flag.Int("n", 10, "pushes to measure")
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
	srv, err := env.Start("--git-poll-interval", "0")
	if err != nil {
		return err
	}
	defer srv.Stop()
	secret, err := os.ReadFile(filepath.Join(srv.DataDir, "webhook-secret"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	out, err := srv.Client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("hook"),
		SourceConfiguration: &types.SourceConfiguration{
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo.Dir),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				SourceDirectory:   aws.String("svc"),
				CodeConfiguration: &types.CodeConfiguration{
					ConfigurationSource:     types.ConfigurationSourceApi,
					CodeConfigurationValues: &types.CodeConfigurationValues{Runtime: types.RuntimePython3, StartCommand: aws.String("python3 app.py")},
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
	mirror := filepath.Join(env.Dir, "mirror.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", repo.Dir, mirror).CombinedOutput(); err != nil {
		return fmt.Errorf("clone: %v %s", err, out)
	}
	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "repository": map[string]any{"clone_url": "file://" + repo.Dir}})
	mac := hmac.New(sha256.New, bytes.TrimSpace(secret))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	var toOp, fetch []time.Duration
	for i := range n {
		if err := repo.Commit(map[string]string{"svc/n.txt": fmt.Sprint(i + 1)}, fmt.Sprint(i+1)); err != nil {
			return err
		}
		// The fetch alone, as the daemon does it, into a mirror of our own.
		start := time.Now()
		if out, err := exec.Command("git", "-C", mirror, "fetch", "-q", "--prune", "--no-tags", repo.Dir, "+refs/heads/*:refs/heads/*").CombinedOutput(); err != nil {
			return fmt.Errorf("fetch: %v %s", err, out)
		}
		fetch = append(fetch, time.Since(start))

		before, err := count(ctx, srv, arn)
		if err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.API+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		start = time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		var opID string
		for opID == "" {
			ops, err := srv.Client.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn, MaxResults: aws.Int32(1)})
			if err != nil {
				return err
			}
			if c, _ := count(ctx, srv, arn); c > before {
				opID = aws.ToString(ops.OperationSummaryList[0].Id)
			}
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("no deployment after the webhook")
			}
		}
		toOp = append(toOp, time.Since(start))
		if err := srv.WaitOp(ctx, arn, opID); err != nil {
			return err
		}
	}
	w, f := benchenv.Median(toOp), benchenv.Median(fetch)
	fmt.Printf("GitHub push webhook, %d pushes, medians:\n", n)
	fmt.Printf("  webhook -> START_DEPLOYMENT visible:  %6.1f ms\n", benchenv.Ms(w))
	fmt.Printf("  git fetch alone (same repository):    %6.1f ms\n", benchenv.Ms(f))
	fmt.Printf("  after the fetch:                      %6.1f ms (goal < 100 ms)\n", benchenv.Ms(w-f))
	return nil
}

func count(ctx context.Context, srv *benchenv.Server, arn *string) (int, error) {
	out, err := srv.Client.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range out.OperationSummaryList {
		if o.Type == types.OperationTypeStartDeployment {
			n++
		}
	}
	return n, nil
}
