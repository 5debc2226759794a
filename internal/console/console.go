package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Prefix is where the console is mounted on the API listener.
const Prefix = "/console/"

// Controller is the part of the control plane the console drives. Every
// change the console makes goes through it, so the console and the API
// can't disagree.
type Controller interface {
	CreateService(context.Context, *ar.CreateServiceRequest) (*ar.CreateServiceResponse, error)
	UpdateService(context.Context, *ar.UpdateServiceRequest) (*ar.UpdateServiceResponse, error)
	DeleteService(context.Context, *ar.DeleteServiceRequest) (*ar.DeleteServiceResponse, error)
	PauseService(context.Context, *ar.PauseServiceRequest) (*ar.PauseServiceResponse, error)
	ResumeService(context.Context, *ar.ResumeServiceRequest) (*ar.ResumeServiceResponse, error)
	StartDeployment(context.Context, *ar.StartDeploymentRequest) (*ar.StartDeploymentResponse, error)
	AssociateCustomDomain(context.Context, *ar.AssociateCustomDomainRequest) (*ar.AssociateCustomDomainResponse, error)
	DescribeCustomDomains(context.Context, *ar.DescribeCustomDomainsRequest) (*ar.DescribeCustomDomainsResponse, error)
	DisassociateCustomDomain(context.Context, *ar.DisassociateCustomDomainRequest) (*ar.DisassociateCustomDomainResponse, error)
	ListAutoScalingConfigurations(context.Context, *ar.ListAutoScalingConfigurationsRequest) (*ar.ListAutoScalingConfigurationsResponse, error)
	CommitDecisions(ctx context.Context, service string) ([]store.CommitDecision, error)
	ServiceURL(host string) string
}

// LogReader reads a service's build and app logs (the engine).
type LogReader interface {
	Logs(ctx context.Context, service, operation string, follow bool, fn func(applog.Entry)) error
}

// Keys looks up the secret of an access key ID (the daemon's credentials).
type Keys interface {
	Secret(accessKeyID string) (secret string, ok bool)
}

// Config is the console's configuration.
type Config struct {
	// SessionIdle is how long a session lasts without use; default 12h.
	SessionIdle time.Duration
	// SessionLifetime is how long a session lasts however much it is
	// used; default 24h.
	SessionLifetime time.Duration
	// LinkTTL is how long a one-time sign-in link is valid; default 5m.
	LinkTTL time.Duration
}

// Console serves the web console.
type Console struct {
	cfg   Config
	ctl   Controller
	store *store.Store
	logs  LogReader
	keys  Keys
	log   *slog.Logger
	pages *pages
	now   func() time.Time
	// cluster is nil when instances run on this machine.
	cluster Cluster

	sessions *sessions
	throttle *throttle

	// done is closed by Close, ending live streams so that the HTTP server
	// can shut down without waiting for them.
	done      chan struct{}
	closeOnce sync.Once
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns a console over the control plane, store and logs.
func New(cfg Config, ctl Controller, st *store.Store, logs LogReader, keys Keys, log *slog.Logger) *Console {
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = defaultSessionIdle
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = defaultSessionLifetime
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = 5 * time.Minute
	}
	c := &Console{
		cfg: cfg, ctl: ctl, store: st, logs: logs, keys: keys, log: log,
		pages:    mustParsePages(),
		now:      time.Now,
		throttle: newThrottle(maxClients),
		done:     make(chan struct{}),
	}
	c.sessions = newSessions(sessionPolicy{idle: cfg.SessionIdle, lifetime: cfg.SessionLifetime}, cfg.LinkTTL, st,
		func() time.Time { return c.now() })
	return c
}

// Close ends live streams (server-sent events); call it when the server
// shuts down.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.done) }) }

// Handler serves everything under Prefix.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", cacheStatic(http.FileServerFS(static))))

	mux.HandleFunc("GET /console/signin", c.signinPage)
	mux.HandleFunc("POST /console/signin", c.signin)
	mux.HandleFunc("GET /console/signin/link", c.signinLink)
	mux.Handle("POST /console/signout", c.authed(c.signout))

	mux.Handle("GET /console/{$}", c.authed(c.servicesPage))
	mux.Handle("GET /console/events", c.authed(c.events))
	mux.Handle("GET /console/create", c.authed(c.createPage))
	mux.Handle("GET /console/cluster", c.authed(c.clusterPage))
	mux.Handle("POST /console/create", c.authed(c.create))
	mux.Handle("GET /console/services/{id}", c.authed(c.servicePage))
	mux.Handle("GET /console/services/{id}/{tab}", c.authed(c.servicePage))
	mux.Handle("GET /console/services/{id}/logs/stream", c.authed(c.logStream))
	mux.Handle("POST /console/services/{id}/deploy", c.authed(c.deploy))
	mux.Handle("POST /console/services/{id}/pause", c.authed(c.pause))
	mux.Handle("POST /console/services/{id}/resume", c.authed(c.resume))
	mux.Handle("POST /console/services/{id}/delete", c.authed(c.deleteService))
	mux.Handle("POST /console/services/{id}/configuration", c.authed(c.updateConfig))
	mux.Handle("POST /console/services/{id}/domains", c.authed(c.associateDomain))
	mux.Handle("POST /console/services/{id}/domains/disassociate", c.authed(c.disassociateDomain))
	return securityHeaders(mux)
}

// securityHeaders keeps the console out of frames and limits what its
// pages may load to their own origin.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
