package control

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Config is the control plane's configuration.
type Config struct {
	Region  string
	Account string
	// Domain and RouterPort make up service URLs:
	// <10 chars>.<region>.<domain>[:<port>].
	Domain     string
	RouterPort int
	// MaxServices is the quota of live services.
	MaxServices int
	// MaxCustomDomains is the quota of custom domains per service; 0 means
	// 20 (App Runner allows 5).
	MaxCustomDomains int
	// DNS01 says a DNS provider is configured, so certificates can be
	// validated over DNS: wildcard domains need it.
	DNS01 bool
}

// Waker is told when there is new work for the engine.
type Waker interface{ Wake() }

// Control implements api.Controller.
type Control struct {
	cfg    Config
	store  *store.Store
	engine Waker
	log    *slog.Logger
	now    func() time.Time
}

// New returns a control plane over st that wakes engine after each mutation.
func New(cfg Config, st *store.Store, engine Waker, log *slog.Logger) *Control {
	return &Control{cfg: cfg, store: st, engine: engine, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// ServiceURL returns the URL a service host is served at (no scheme, as
// App Runner's ServiceUrl).
func (c *Control) ServiceURL(host string) string {
	if c.cfg.RouterPort == 0 || c.cfg.RouterPort == 80 || c.cfg.RouterPort == 443 {
		return host
	}
	return host + ":" + strconv.Itoa(c.cfg.RouterPort)
}

func (c *Control) newHost() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]) + "." + c.cfg.Region + "." + c.cfg.Domain
}

// service loads a service by ARN for an operation; deleted services are not
// found, as App Runner forgets them.
func service(tx *store.Tx, arn string) (store.Service, error) {
	s, err := tx.Service(arn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.Status == ar.ServiceStatusDeleted) {
		return s, ar.NotFound("Service not found: %s", arn)
	}
	if err != nil {
		return s, fmt.Errorf("load service: %w", err)
	}
	return s, nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func timePtr(t time.Time) *ar.Time {
	if t.IsZero() {
		return nil
	}
	return ptr(ar.NewTime(t))
}

type triggerKey struct{}

// WithTrigger marks the operations started with ctx as started by trigger
// (e.g. "console"); without it they read "api".
func WithTrigger(ctx context.Context, trigger string) context.Context {
	return context.WithValue(ctx, triggerKey{}, trigger)
}

func triggerOf(ctx context.Context) string {
	if t, ok := ctx.Value(triggerKey{}).(string); ok && t != "" {
		return t
	}
	return "api"
}

// wake tells the engine there is work; it never blocks.
func (c *Control) wake() {
	if c.engine != nil {
		c.engine.Wake()
	}
}
