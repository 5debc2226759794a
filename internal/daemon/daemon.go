package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/slipwayhq/slipway/internal/api"
	"github.com/slipwayhq/slipway/internal/autodeploy"
	"github.com/slipwayhq/slipway/internal/console"
	"github.com/slipwayhq/slipway/internal/control"
	"github.com/slipwayhq/slipway/internal/customdomain"
	"github.com/slipwayhq/slipway/internal/engine"
	"github.com/slipwayhq/slipway/internal/logquery"
	"github.com/slipwayhq/slipway/internal/logretention"
	"github.com/slipwayhq/slipway/internal/metrics"
	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/secret"
	"github.com/slipwayhq/slipway/internal/source/git"
	"github.com/slipwayhq/slipway/internal/source/image"
	"github.com/slipwayhq/slipway/internal/store"
)

// Config is the daemon's configuration; cmd/slipway fills it from flags.
type Config struct {
	DataDir        string
	APIListen      string
	RouterListen   string
	Region         string
	Domain         string
	Account        string
	MaxServices    int
	DeployTimeout  time.Duration
	RequestTimeout time.Duration
	// GitPollInterval is how often watched branches are polled; 0 leaves
	// only webhooks.
	GitPollInterval time.Duration
	// ShimPath is the slipway binary, which runs instance shims.
	ShimPath string
	// Runtime is RuntimeProcess, RuntimeDocker or RuntimeAuto.
	Runtime string
	// DockerHost is the Docker Engine's address ("" for DOCKER_HOST or the
	// default socket).
	DockerHost string
	// RuntimeImages overrides the base images of managed runtimes on the
	// docker runtime (PYTHON_3 → an image of the user's); the others are
	// made from Debian packages on first use.
	RuntimeImages map[string]string
	// InstanceNetwork is NetworkNamespace, NetworkHost or NetworkAuto.
	InstanceNetwork string
	// MetricsListen, if set, serves /metrics on a listener of its own
	// instead of the API listener.
	MetricsListen string
	// HTTPSListen, if set, serves the apps over HTTPS too: custom domains
	// with ACME certificates, the default domain with the local CA's.
	HTTPSListen string
	// ACMECA is the ACME directory custom domains get certificates from
	// ("" for none); ACMEEmail its account's contact; ACMERoots a PEM file
	// of roots to trust for the CA's own HTTPS (a private CA's).
	ACMECA, ACMEEmail, ACMERoots string
	// ACMEDNS names the DNS provider that answers the CA's DNS-01
	// challenges, which wildcard custom domains need: "" (none) or
	// ACMEDNSRFC2136.
	ACMEDNS string
	// ECRRegistry is the registry that holds the repositories of Slipway's
	// own ECR (<account>.dkr.ecr.<region>.amazonaws.com/...), and
	// ECRPublicRegistry a mirror of public.ecr.aws; empty maps none.
	ECRRegistry, ECRPublicRegistry string
	// RFC2136 configures the ACMEDNSRFC2136 provider.
	RFC2136 RFC2136
	// MaxCustomDomains is the quota of custom domains per service.
	MaxCustomDomains int
	// DomainValidationTimeout is how long a custom domain may wait for its
	// certificate before it fails.
	DomainValidationTimeout time.Duration
	// LogRetention is how long logs are kept after their last line, as a
	// CloudWatch log group's retention; 0 keeps them forever.
	LogRetention time.Duration
	// APIMaxConnections caps the API listener's open connections.
	APIMaxConnections int
	// PrivateListen, if set, serves private services (IsPubliclyAccessible
	// false) under their VPC ingress connections' domains; without it they
	// are served nowhere. The public router never serves them.
	PrivateListen string
	// TrustedProxies are the router's peers whose X-Forwarded-For and
	// X-Real-IP reach apps (a load balancer in front of Slipway).
	TrustedProxies []netip.Prefix
	// OTLPEndpoint, if set, is the OTLP/HTTP base URL the router sends the
	// spans of traced services to, and their instances too.
	OTLPEndpoint string
	// SwarmHost is the Docker Engine of a Swarm manager that --runtime
	// swarm drives ("" for DockerHost); ClusterRegistry the registry
	// (host:port) every node pulls builds from.
	SwarmHost, ClusterRegistry string
}

// listenAPI binds the API listener, holding at most max connections open
// at once (0: no cap): more wait in the kernel's backlog.
func listenAPI(addr string, max int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || max <= 0 {
		return ln, err
	}
	return netutil.LimitListener(ln, max), nil
}

// Run starts Slipway and serves until ctx ends. Stopping leaves app
// instances running: the next start re-adopts them.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	// Bind first: a server that cannot have its ports leaves nothing
	// behind, not even a data directory.
	apiLn, err := listenAPI(cfg.APIListen, cfg.APIMaxConnections)
	if err != nil {
		return fmt.Errorf("API listener: %w", err)
	}
	defer apiLn.Close()
	routerLn, err := net.Listen("tcp", cfg.RouterListen)
	if err != nil {
		return fmt.Errorf("router listener: %w", err)
	}
	defer routerLn.Close()
	routerPort := routerLn.Addr().(*net.TCPAddr).Port
	var httpsLn net.Listener
	httpsPort := 0
	if cfg.HTTPSListen != "" {
		if httpsLn, err = net.Listen("tcp", cfg.HTTPSListen); err != nil {
			return fmt.Errorf("HTTPS listener: %w", err)
		}
		defer httpsLn.Close()
		httpsPort = httpsLn.Addr().(*net.TCPAddr).Port
	}
	var privateLn net.Listener
	if cfg.PrivateListen != "" {
		if privateLn, err = net.Listen("tcp", cfg.PrivateListen); err != nil {
			return fmt.Errorf("private listener: %w", err)
		}
		defer privateLn.Close()
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		defer metricsLn.Close()
	}
	if err := privateDir(cfg.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	creds, err := loadOrCreateCredentials(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	hookSecret, err := loadOrCreateWebhookSecret(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	if err := privateDir(filepath.Join(cfg.DataDir, "secrets")); err != nil {
		return fmt.Errorf("secrets dir: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "slipway.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	met := metrics.New(log.With("component", "metrics"))

	// The router wakes services that scaled to zero through the engine,
	// which needs the router first.
	var (
		eng *engine.Engine
		rt  *router.Router
	)
	certMgr, err := newCerts(cfg, routerLn, httpsLn, func(name string) bool { return rt.Serves(name) }, log)
	if err != nil {
		return err
	}
	defer certMgr.Close()
	spans, err := newSpans(cfg.OTLPEndpoint, log)
	if err != nil {
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	defer closeSpans(spans, log)
	rt = router.New(router.Config{RequestTimeout: cfg.RequestTimeout, Wake: func(host string) { eng.WakeHost(host) }, Observer: met,
		Challenge: certMgr.HandleHTTPChallenge, HTTPSPort: httpsPort, Tracer: routerTracer(spans), TrustedProxies: cfg.TrustedProxies}, log)
	network, err := instanceNetwork(cfg.InstanceNetwork, apiLn.Addr(), log)
	if err != nil {
		return err
	}
	backend, dock, err := runtimeBackends(cfg, network, log)
	if err != nil {
		return err
	}
	if dock != nil {
		defer dock.Close()
	}
	gitCache := git.NewCache(filepath.Join(cfg.DataDir, "git"), log)
	eng = engine.New(engine.Config{
		DataDir:       cfg.DataDir,
		Region:        cfg.Region,
		DeployTimeout: cfg.DeployTimeout,
		OTLPEndpoint:  instanceOTLPEndpoint(cfg.OTLPEndpoint, network),
	}, st, backend, rt, gitCache,
		secret.Store{Dir: filepath.Join(cfg.DataDir, "secrets")},
		log.With("component", "engine"))
	images := clusterImages(dock, imageResolver{ecr: image.ECR{Account: cfg.Account, Region: cfg.Region,
		Registry: cfg.ECRRegistry, PublicRegistry: cfg.ECRPublicRegistry}})
	if dock != nil {
		eng.SetDocker(dock, images)
	}
	eng.SetObserver(met)
	met.WatchRouter(rt)
	met.WatchEngine(eng)
	ctl := control.New(control.Config{
		Region:      cfg.Region,
		Account:     cfg.Account,
		Domain:      cfg.Domain,
		RouterPort:  routerPort,
		MaxServices: cfg.MaxServices,

		MaxCustomDomains: cfg.MaxCustomDomains,
		DNS01:            certMgr.DNS01(),
	}, st, eng, log.With("component", "control"))
	domains := customdomain.New(customdomain.Config{ValidationTimeout: cfg.DomainValidationTimeout, HTTPS: httpsLn != nil},
		st, certMgr, rt, log)
	if err := ctl.EnsureDefaultAutoScaling(ctx); err != nil {
		return err
	}
	watcher := autodeploy.NewWatcher(st, gitCache, ctl, cfg.GitPollInterval, log.With("component", "autodeploy"))
	if dock != nil {
		watcher.SetImages(images)
	}

	auth := &api.Authenticator{Keys: creds, Region: cfg.Region, Service: "apprunner", MaxSkew: 15 * time.Minute}
	mux := http.NewServeMux()
	logDir := func(serviceID string) string { return engine.LogDir(cfg.DataDir, serviceID) }
	retention := logretention.New(logretention.Config{Retention: cfg.LogRetention, LogDir: logDir}, st, log.With("component", "logretention"))
	mux.Handle("POST /{$}", &api.Endpoint{
		AppRunner: api.NewServer(auth, ctl, log.With("component", "api")),
		STS:       api.NewSTS(auth, cfg.Account, log.With("component", "sts")),
		Logs: api.NewCloudWatchLogs(auth, logquery.New(logquery.Config{Region: cfg.Region, Account: cfg.Account,
			Retention: cfg.LogRetention, LogDir: logDir}, st), log.With("component", "logs")),
	})
	mux.Handle("GET "+api.LogsPath, api.LogsHandler(auth, eng))
	mux.Handle("GET "+api.DeploymentsPath, api.DeploymentsHandler(auth, ctl))
	mux.Handle("GET "+api.ClusterPath, api.ClusterHandler(auth, eng))
	mux.Handle("POST /webhooks/github", autodeploy.GitHubHandler(hookSecret, watcher, log.With("component", "webhook")))
	mux.Handle("POST /webhooks/registry", autodeploy.RegistryHandler(hookSecret, watcher, log.With("component", "webhook")))
	con := console.New(console.Config{}, ctl, st, eng, creds, log.With("component", "console"))
	if _, ok := backend.(runtime.ClusterReporter); ok {
		con.SetCluster(eng)
	}
	mux.Handle(console.Prefix, con.Handler())
	mux.Handle("POST "+console.TokenPath, con.TokenHandler(auth))
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	// Metrics are unauthenticated, like /healthz, for Prometheus to scrape.
	var metricsSrv *http.Server
	if metricsLn == nil {
		mux.Handle("GET /metrics", met.Handler())
	} else {
		metricsMux := http.NewServeMux()
		metricsMux.Handle("GET /metrics", met.Handler())
		metricsSrv = &http.Server{Handler: metricsMux, ReadHeaderTimeout: 10 * time.Second}
	}

	ep := Endpoint{
		API:    "http://" + apiLn.Addr().String(),
		Router: routerLn.Addr().String(),
		HTTPS:  addrOf(httpsLn),
		Region: cfg.Region,
		Domain: cfg.Domain,
	}
	b, _ := json.MarshalIndent(ep, "", "  ")
	if err := writeFileAtomic(EndpointPath(cfg.DataDir), append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := writePointer(cfg.DataDir); err != nil {
		log.Warn("could not record the data directory for slipway's other commands; they need --data-dir", "err", err)
	}

	apiSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// A client must send its whole request within ReadTimeout: a
		// trickled body cannot hold a connection. Streams (logs with
		// follow, the console's events) lift it once authenticated.
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	// The console's live streams end on shutdown, so Shutdown need not wait
	// for browsers to hang up.
	apiSrv.RegisterOnShutdown(con.Close)
	routerSrv := router.NewServer(rt)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 6)
	serve := func(name string, srv interface{ Serve(net.Listener) error }, ln net.Listener) {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s: %w", name, err)
		}
	}
	wg.Add(4)
	go serve("API", apiSrv, apiLn)
	go func() {
		defer wg.Done()
		watcher.Run(ctx)
	}()
	go serve("router", routerSrv, routerLn)
	wg.Add(1)
	go func() {
		defer wg.Done()
		domains.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		retention.Run(ctx)
	}()
	if httpsLn != nil {
		wg.Add(1)
		go serve("HTTPS", tlsServer{routerSrv, certMgr.TLSConfig()}, httpsLn)
	}
	if metricsSrv != nil {
		wg.Add(1)
		go serve("metrics", metricsSrv, metricsLn)
	}
	var privateSrv *router.Server
	if privateLn != nil {
		privateSrv = router.NewPrivateServer(rt)
		wg.Add(1)
		go serve("private router", privateSrv, privateLn)
	}
	go func() {
		defer wg.Done()
		eng.Run(ctx)
	}()
	log.Info("slipway started", "api", ep.API, "router", ep.Router, "region", cfg.Region,
		"runtime", backend.Name(), "docker", dock != nil, "instance_network", networkName(network),
		"data", cfg.DataDir, "service_url_suffix", "."+cfg.Region+"."+cfg.Domain+":"+strconv.Itoa(routerPort))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	apiSrv.Shutdown(shutdownCtx)
	routerSrv.Shutdown(shutdownCtx)
	if privateSrv != nil {
		privateSrv.Shutdown(shutdownCtx)
	}
	if metricsSrv != nil {
		metricsSrv.Shutdown(shutdownCtx)
	}
	wg.Wait()
	log.Info("slipway stopped; app instances keep running")
	return runErr
}

// privateDir makes dir, with its parents, and makes it 0700 even when it
// already existed: MkdirAll leaves an existing directory's mode alone, and
// a data directory made readable by an older Slipway or by hand would let
// every local user read the credentials, secrets and logs in it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}
