// Command api measures the App Runner API under load: SigV4-signed calls
// from aws-sdk-go-v2 at a fixed rate (open loop: each call is sent at its
// scheduled time whatever the ones before it do, and its latency counts
// from that time, so a slow server cannot hide behind a waiting client),
// against the real slipway binary with a fresh data directory and a few
// running code services. The calls mix reads (DescribeService,
// ListServices, ListTagsForResource), tag writes (TagResource,
// UntagResource) and UpdateService, which redeploys a service with a new
// environment variable.
//
// It checks that no call failed and no write was lost: at the end every
// key holds what its last TagResource or UntagResource left, every
// service shows its last UpdateService's configuration and every update's
// operation SUCCEEDED; during the run every ListTagsForResource saw each
// key's latest answered write (or one in flight). It prints the rate
// achieved, errors, lost writes and the latency percentiles, and exits 1
// if a goal is missed (0 errors, 0 lost writes, p99 < 50 ms).
//
//	go run ./bench/api [-rate 500] [-duration 60s] [-services 8] [-updated 4]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/slipwayhq/slipway/bench/internal/benchenv"
)

// app is a trivial Python app.
const app = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

// goalP99 is the latency the API must keep 99% of calls under.
const goalP99 = 50 * time.Millisecond

// config is what the flags set.
type config struct {
	rate     float64
	duration time.Duration
	services int
	updated  int
	keys     int
	seed     uint64
}

func main() {
	var cfg config
	flag.Float64Var(&cfg.rate, "rate", 500, "calls per second")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long to send calls")
	flag.IntVar(&cfg.services, "services", 8, "services to create")
	flag.IntVar(&cfg.updated, "updated", 4, "of those, services that UpdateService redeploys")
	flag.IntVar(&cfg.keys, "keys", 32, "tag keys written per service")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the call mix")
	flag.Parse()
	if cfg.updated > cfg.services || cfg.services < 1 || cfg.rate <= 0 || cfg.keys < 1 {
		fmt.Fprintln(os.Stderr, "bench: need 1 <= -services, -updated <= -services, -rate > 0, -keys >= 1")
		os.Exit(2)
	}
	ok, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(cfg config) (bool, error) {
	env, err := benchenv.New()
	if err != nil {
		return false, err
	}
	defer env.Close()
	repo, err := env.NewRepo(map[string]string{"svc/app.py": app})
	if err != nil {
		return false, err
	}
	srv, err := env.Start("--git-poll-interval", "0")
	if err != nil {
		return false, err
	}
	defer srv.Stop()
	ctx := context.Background()

	// A client that never retries, so that every failure counts, with a
	// connection pool as large as the calls in flight can need.
	client := apprunner.New(srv.Client.Options(), func(o *apprunner.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
		}}
	})

	fmt.Printf("creating %d services...\n", cfg.services)
	svcs := make([]*service, cfg.services)
	for i := range svcs {
		svcs[i] = &service{name: fmt.Sprintf("load-%d", i), updated: i < cfg.updated}
		out, err := client.CreateService(ctx, &apprunner.CreateServiceInput{
			ServiceName:         aws.String(svcs[i].name),
			SourceConfiguration: source(repo.Dir, 0),
		})
		if err != nil {
			return false, fmt.Errorf("create %s: %w", svcs[i].name, err)
		}
		svcs[i].arn = aws.ToString(out.Service.ServiceArn)
		if err := srv.WaitOp(ctx, out.Service.ServiceArn, aws.ToString(out.OperationId)); err != nil {
			return false, fmt.Errorf("create %s: %w", svcs[i].name, err)
		}
	}

	l := newLoad(cfg, client, repo.Dir, svcs)
	fmt.Printf("sending %.0f calls/s for %s...\n", cfg.rate, cfg.duration)
	l.drive(ctx)
	if err := settle(ctx, client, svcs); err != nil {
		return false, err
	}
	v, err := l.verify(ctx)
	if err != nil {
		return false, err
	}
	return l.report(v), nil
}

// source is the services' source: the trivial app, with GEN=gen in its
// environment (what UpdateService changes).
func source(repo string, gen int) *types.SourceConfiguration {
	return &types.SourceConfiguration{
		AutoDeploymentsEnabled: aws.Bool(false),
		CodeRepository: &types.CodeRepository{
			RepositoryUrl:     aws.String(repo),
			SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
			SourceDirectory:   aws.String("svc"),
			CodeConfiguration: &types.CodeConfiguration{
				ConfigurationSource: types.ConfigurationSourceApi,
				CodeConfigurationValues: &types.CodeConfigurationValues{
					Runtime:                     types.RuntimePython3,
					StartCommand:                aws.String("python3 app.py"),
					RuntimeEnvironmentVariables: map[string]string{"GEN": fmt.Sprint(gen)},
				},
			},
		},
	}
}

// genOf reads GEN from a described service ("" if absent).
func genOf(s *types.Service) string {
	if s == nil || s.SourceConfiguration == nil || s.SourceConfiguration.CodeRepository == nil ||
		s.SourceConfiguration.CodeRepository.CodeConfiguration == nil ||
		s.SourceConfiguration.CodeRepository.CodeConfiguration.CodeConfigurationValues == nil {
		return ""
	}
	return s.SourceConfiguration.CodeRepository.CodeConfiguration.CodeConfigurationValues.RuntimeEnvironmentVariables["GEN"]
}

// settle waits, outside the measured load, until no service has an
// operation in progress.
func settle(ctx context.Context, client *apprunner.Client, svcs []*service) error {
	deadline := time.Now().Add(2 * time.Minute)
	for _, s := range svcs {
		for {
			out, err := client.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: aws.String(s.arn)})
			if err != nil {
				return fmt.Errorf("settle: %w", err)
			}
			if out.Service.Status != types.ServiceStatusOperationInProgress {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("settle: operations still in progress after 2 minutes")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
