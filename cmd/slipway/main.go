// Command slipway runs Slipway, a self-hosted App Runner, and talks to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/certs"
	"github.com/slipwayhq/slipway/internal/daemon"
	"github.com/slipwayhq/slipway/internal/runtime/process"
)

const usage = `Slipway: a self-hosted AWS App Runner.

Usage:
  slipway server [--data-dir DIR] [--api-listen ADDR] [--router-listen ADDR] [flags]
  slipway env [--data-dir DIR]                 print export lines for the aws CLI and SDKs
  slipway logs SERVICE [--operation ID] [-f]   build and app logs of a service (name or ARN)
  slipway deployments SERVICE                  commits automatic deployment considered, and why it deployed or skipped each
  slipway console-url [--data-dir DIR]         print a one-time sign-in link to the web console
  slipway cluster status [--json]              nodes of the cluster (--runtime swarm), their instances and health
  slipway trust [--data-dir DIR] [--install]   print the local CA's root certificate, or install it in the system's trust store

Run 'slipway COMMAND -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "_shim":
		// Internal: the process runtime's per-instance supervisor.
		os.Exit(process.RunShim(args))
	case "server":
		err = runServer(args)
	case "env":
		err = runEnv(args, os.Stdout)
	case "logs":
		err = runLogs(args, os.Stdout)
	case "deployments":
		err = runDeployments(args, os.Stdout)
	case "cluster":
		err = runCluster(args, os.Stdout)
	case "console-url":
		err = runConsoleURL(args, os.Stdout)
	case "trust":
		err = runTrust(args, os.Stdout)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "slipway: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "slipway:", err)
		}
		os.Exit(1)
	}
}

// defaultDataDir is $SLIPWAY_DATA_DIR, else ~/.slipway. The client
// commands use clientDataDir instead.
func defaultDataDir() string {
	if d := os.Getenv("SLIPWAY_DATA_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".slipway"
	}
	return filepath.Join(home, ".slipway")
}

// clientDataDir is the data directory client commands talk to:
// $SLIPWAY_DATA_DIR, else the one the last started server recorded, else
// ~/.slipway.
func clientDataDir() string {
	if d := os.Getenv("SLIPWAY_DATA_DIR"); d != "" {
		return d
	}
	if d, ok := daemon.PointedDataDir(); ok {
		return d
	}
	return defaultDataDir()
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var cfg daemon.Config
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "state directory (database, credentials, builds, logs)")
	fs.StringVar(&cfg.APIListen, "api-listen", "127.0.0.1:8600", "address of the App Runner API")
	fs.StringVar(&cfg.RouterListen, "router-listen", "127.0.0.1:8080", "address of the router that serves the apps")
	fs.StringVar(&cfg.PrivateListen, "private-listen", "", "address serving private services (IsPubliclyAccessible false) under their VPC ingress connections' domains; the public router never serves them (default: none, so they are served nowhere)")
	fs.Func("trusted-proxies", "`CIDR[,CIDR...]` of proxies in front of the router whose X-Forwarded-For and X-Real-IP apps may believe (default: none; from anyone else they are dropped)", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(f))
			if err != nil {
				if a, aerr := netip.ParseAddr(strings.TrimSpace(f)); aerr == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					return fmt.Errorf("not a CIDR or an address: %q", f)
				}
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
		}
		return nil
	})
	fs.IntVar(&cfg.APIMaxConnections, "api-max-connections", 512, "most connections the API listener holds open at once; more wait to be accepted")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "address serving Prometheus metrics at /metrics (default: on the API listener)")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "AWS region Slipway answers as")
	fs.StringVar(&cfg.Domain, "domain", "localhost", "domain of service URLs: <id>.<region>.<domain>")
	fs.StringVar(&cfg.Account, "account-id", "000000000000", "12-digit account ID used in ARNs")
	fs.IntVar(&cfg.MaxServices, "max-services", 30, "quota of services")
	fs.DurationVar(&cfg.DeployTimeout, "deploy-timeout", 10*time.Minute, "a deployment running longer rolls back")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 120*time.Second, "router timeout of one request")
	fs.DurationVar(&cfg.GitPollInterval, "git-poll-interval", 30*time.Second, "how often branches of services with automatic deployments are polled (0: webhooks only)")
	fs.StringVar(&cfg.Runtime, "runtime", daemon.RuntimeProcess, "runtime of code repositories: process (the host's toolchains), docker (containers on base images made from Debian packages) or auto (docker when an engine answers and mmdebstrap is installed); images always run on Docker")
	fs.StringVar(&cfg.DockerHost, "docker-host", "", "Docker Engine address (default: $DOCKER_HOST, else the default socket)")
	fs.StringVar(&cfg.SwarmHost, "swarm-host", "", "with --runtime swarm: the Docker Engine address of a Swarm manager (default: --docker-host)")
	fs.StringVar(&cfg.ClusterRegistry, "cluster-registry", "", "with --runtime swarm: the registry `HOST:PORT` every node pulls from, where builds are pushed")
	fs.StringVar(&cfg.InstanceNetwork, "instance-network", daemon.NetworkAuto, "instances' network: namespace (each its own, on its configured port), host (the host's, each on a free port in $PORT) or auto (namespace where it can be made)")
	cfg.RuntimeImages = map[string]string{}
	fs.Func("runtime-image", "`RUNTIME=IMAGE` base image of a managed runtime on the docker runtime (repeatable), e.g. PYTHON_3=python:3.11-slim (default: slipway/runtime-<language>, made from Debian bookworm packages with mmdebstrap on first use)", func(v string) error {
		k, img, ok := strings.Cut(v, "=")
		if !ok || k == "" || img == "" {
			return fmt.Errorf("want RUNTIME=IMAGE, got %q", v)
		}
		cfg.RuntimeImages[k] = img
		return nil
	})
	fs.StringVar(&cfg.HTTPSListen, "https-listen", "", "address serving the apps over HTTPS too (custom domains, and the default domain with the local CA's certificates); off when empty")
	fs.StringVar(&cfg.ACMECA, "acme-ca", certs.LetsEncrypt, "ACME directory URL custom domains get certificates from (empty: none)")
	fs.StringVar(&cfg.ACMEEmail, "acme-email", "", "contact address of the ACME account")
	fs.StringVar(&cfg.ACMERoots, "acme-ca-roots", "", "PEM `FILE` of roots to trust for the ACME CA's own HTTPS (a private CA; default: the system's)")
	fs.StringVar(&cfg.ACMEDNS, "acme-dns", "", "DNS provider answering the ACME CA's DNS-01 challenges, which wildcard custom domains (*.example.com) need: rfc2136 (dynamic DNS updates signed with TSIG: BIND, Knot, PowerDNS); none when empty. Other domains keep HTTP-01 and TLS-ALPN-01")
	fs.StringVar(&cfg.RFC2136.Server, "rfc2136-server", "", "`HOST:PORT` of the primary DNS server of the wildcard domains' zones (--acme-dns rfc2136); challenge records are checked there too")
	fs.StringVar(&cfg.RFC2136.KeyName, "rfc2136-key-name", "", "name of the TSIG key the DNS server accepts updates signed with")
	fs.StringVar(&cfg.RFC2136.KeyAlg, "rfc2136-key-alg", "hmac-sha256", "algorithm of the TSIG key: hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512")
	fs.StringVar(&cfg.RFC2136.KeyFile, "rfc2136-key-file", "", "`FILE` holding the TSIG key's base64 secret, alone or in the key statement tsig-keygen prints")
	fs.StringVar(&cfg.ECRRegistry, "ecr-registry", "", "`HOST:PORT` of the registry that stands for Slipway's own ECR: <account-id>.dkr.ecr.<region>.amazonaws.com/REPO:TAG is pulled from HOST:PORT/REPO:TAG (credentials from the host's docker config)")
	fs.StringVar(&cfg.ECRPublicRegistry, "ecr-public-registry", "", "`HOST:PORT` of a mirror of ECR Public: public.ecr.aws/ALIAS/REPO:TAG is pulled from HOST:PORT/ALIAS/REPO:TAG")
	fs.IntVar(&cfg.MaxCustomDomains, "max-custom-domains", 20, "quota of custom domains per service (App Runner's is 5)")
	fs.DurationVar(&cfg.LogRetention, "log-retention", 30*24*time.Hour, "how long logs are kept after their last line, as a CloudWatch log group's retention (0: forever)")
	fs.DurationVar(&cfg.DomainValidationTimeout, "domain-validation-timeout", 72*time.Hour, "how long a custom domain may wait for its certificate before it fails")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "OTLP/HTTP base `URL` (e.g. http://127.0.0.1:4318) the router exports the spans of services with AWSXRAY observability to, and their instances too; tracing is off when empty")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.ShimPath = exe
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return daemon.Run(ctx, cfg, log)
}

// parseInterspersed parses flags that may come after positional arguments
// ("slipway logs api -f"), which package flag alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
