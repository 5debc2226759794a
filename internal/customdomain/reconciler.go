package customdomain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Certs holds the domains' certificates (internal/certs).
type Certs interface {
	// ACME reports whether certificates can be ordered at all.
	ACME() bool
	// Load puts a stored certificate in service, without asking the CA.
	Load(ctx context.Context, name string) error
	// Obtain loads or orders a certificate, trying the CA once.
	Obtain(ctx context.Context, name string) error
	Remove(ctx context.Context, name string) error
	Has(name string) bool
}

// Router serves the domains.
type Router interface {
	SetAlias(alias, host string, httpsOnly bool)
	RemoveAlias(alias string)
}

// Config tunes a Reconciler.
type Config struct {
	// ValidationTimeout is how long a domain may wait for its certificate
	// before it fails; ACM, behind App Runner, waits 72 hours.
	ValidationTimeout time.Duration
	// RetryMin and RetryMax bound the wait between certificate orders.
	RetryMin, RetryMax time.Duration
	// HTTPS says an HTTPS listener serves certified domains: plain HTTP is
	// then redirected to it.
	HTTPS bool
	// OrderTimeout bounds one certificate order.
	OrderTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.ValidationTimeout == 0 {
		c.ValidationTimeout = 72 * time.Hour
	}
	if c.RetryMin == 0 {
		c.RetryMin = 10 * time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 10 * time.Minute
	}
	if c.OrderTimeout == 0 {
		c.OrderTimeout = 2 * time.Minute
	}
}

// Reconciler drives custom domains. Run owns its goroutines.
type Reconciler struct {
	cfg    Config
	store  *store.Store
	certs  Certs
	router Router
	log    *slog.Logger
	now    func() time.Time

	wg sync.WaitGroup
	// mu guards the fields below.
	mu sync.Mutex
	// ordering holds the domains with a certificate order under way.
	ordering map[string]bool
	// tries counts failed orders per domain, and notBefore is when the
	// next may start.
	tries     map[string]int
	notBefore map[string]time.Time
	// aliased is what the router was told: alias name → httpsOnly.
	aliased map[string]bool
	// pendingSince is when each waiting domain began to wait, for the
	// validation timeout: since its association, or since it went back to
	// waiting (a certificate lost), or, for one found waiting at start,
	// since then.
	pendingSince map[string]time.Time
	started      time.Time
}

// New returns a Reconciler; call Run.
func New(cfg Config, st *store.Store, certs Certs, r Router, log *slog.Logger) *Reconciler {
	cfg.setDefaults()
	return &Reconciler{cfg: cfg, store: st, certs: certs, router: r, log: log.With("component", "customdomain"),
		now: time.Now, ordering: map[string]bool{}, tries: map[string]int{}, notBefore: map[string]time.Time{}, aliased: map[string]bool{},
		pendingSince: map[string]time.Time{}, started: time.Now()}
}

// Run reconciles at every store change and every second until ctx ends,
// then waits for the orders under way.
func (r *Reconciler) Run(ctx context.Context) {
	defer r.wg.Wait()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		changed := r.store.Changed()
		if err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// names are the host names a domain serves. A wildcard serves the names
// one label under it, and has no www: it is one name, with one
// certificate.
func names(d store.CustomDomain) []string {
	if d.WWW && !strings.HasPrefix(d.Name, "*.") {
		return []string{d.Name, "www." + d.Name}
	}
	return []string{d.Name}
}

func (r *Reconciler) reconcile(ctx context.Context) error {
	var (
		domains []store.CustomDomain
		hosts   = map[string]string{} // service ARN → host, "" when gone
	)
	err := r.store.View(ctx, func(tx *store.Tx) error {
		var err error
		if domains, err = tx.CustomDomains(""); err != nil {
			return err
		}
		for _, d := range domains {
			if _, ok := hosts[d.ServiceARN]; ok {
				continue
			}
			svc, err := tx.Service(d.ServiceARN)
			switch {
			case errors.Is(err, store.ErrNotFound):
				hosts[d.ServiceARN] = ""
			case err != nil:
				return err
			case svc.Status == ar.ServiceStatusDeleted:
				hosts[d.ServiceARN] = ""
			default:
				hosts[d.ServiceARN] = svc.Host
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	want := map[string]bool{} // alias → httpsOnly
	wantHost := map[string]string{}
	for _, d := range domains {
		host := hosts[d.ServiceARN]
		switch {
		case host == "" || d.Status == store.DomainDeleting:
			// The service is gone, or the domain is being disassociated.
			r.remove(ctx, d)
			continue
		case d.Status == store.DomainCreateFailed || d.Status == store.DomainDeleteFailed:
			continue
		case d.Status == store.DomainCreating:
			r.setStatus(ctx, d, store.DomainCreating, store.DomainPendingValidation, store.CertPendingValidation, r.waitingReason(d))
		case d.Status == store.DomainActive:
			r.ensureLoaded(ctx, d)
		default: // pending validation, binding
			r.maybeOrder(ctx, d)
		}
		for _, n := range names(d) {
			want[n] = r.cfg.HTTPS && d.Status == store.DomainActive && r.certs.Has(n)
			wantHost[n] = host
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for n, https := range want {
		if cur, ok := r.aliased[n]; !ok || cur != https {
			r.router.SetAlias(n, wantHost[n], https)
			r.aliased[n] = https
		}
	}
	for n := range r.aliased {
		if _, ok := want[n]; !ok {
			r.router.RemoveAlias(n)
			delete(r.aliased, n)
		}
	}
	return nil
}

func (r *Reconciler) waitingReason(d store.CustomDomain) string {
	if !r.certs.ACME() {
		return "no ACME CA is configured (--acme-ca), so no certificate can be ordered"
	}
	if strings.HasPrefix(d.Name, "*.") {
		return "waiting for the certificate authority's DNS-01 challenge, whose TXT record Slipway publishes through the DNS server configured (--acme-dns)"
	}
	return "waiting for the DNS records to point at this server so that the certificate authority's challenge can pass"
}

// setStatus moves d from status from to status to, unless it changed
// meanwhile (a disassociation wins over an order finishing).
func (r *Reconciler) setStatus(ctx context.Context, d store.CustomDomain, from, to, cert, reason string) {
	err := r.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.CustomDomain(d.Name)
		if err != nil {
			return err
		}
		if cur.Status != from || cur.ServiceARN != d.ServiceARN {
			return nil
		}
		if cur.Status == to && cur.CertStatus == cert && cur.Reason == reason {
			return nil
		}
		cur.Status, cur.CertStatus, cur.Reason, cur.UpdatedAt = to, cert, reason, r.now().UTC()
		return tx.PutCustomDomain(cur)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		r.log.Error("updating custom domain", "domain", d.Name, "err", err)
		return
	}
	if from != to {
		r.log.Info("custom domain", "domain", d.Name, "status", to, "reason", reason)
	}
}

// maybeOrder starts a certificate order for d unless one is under way or
// the last failed too recently; a domain waiting past the validation
// timeout fails.
func (r *Reconciler) maybeOrder(ctx context.Context, d store.CustomDomain) {
	now := r.now()
	r.mu.Lock()
	busy, wait := r.ordering[d.Name], now.Before(r.notBefore[d.Name])
	r.mu.Unlock()
	if busy {
		return
	}
	r.mu.Lock()
	since, ok := r.pendingSince[d.Name]
	if !ok {
		since = d.CreatedAt
		if since.Before(r.started) {
			since = r.started
		}
		r.pendingSince[d.Name] = since
	}
	r.mu.Unlock()
	if now.Sub(since) > r.cfg.ValidationTimeout {
		reason := fmt.Sprintf("the certificate could not be validated within %s", r.cfg.ValidationTimeout)
		if d.Reason != "" {
			reason += "; last: " + d.Reason
		}
		r.setStatus(ctx, d, d.Status, store.DomainCreateFailed, store.CertFailed, reason)
		return
	}
	if wait || !r.certs.ACME() {
		return
	}
	r.mu.Lock()
	r.ordering[d.Name] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.order(ctx, d)
		r.mu.Lock()
		delete(r.ordering, d.Name)
		if err == nil {
			delete(r.tries, d.Name)
			delete(r.notBefore, d.Name)
			delete(r.pendingSince, d.Name)
		} else {
			r.tries[d.Name]++
			r.notBefore[d.Name] = r.now().Add(backoff(r.tries[d.Name], r.cfg.RetryMin, r.cfg.RetryMax))
		}
		r.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			r.log.Warn("custom domain certificate", "domain", d.Name, "err", err)
			r.setStatus(ctx, d, store.DomainPendingValidation, store.DomainPendingValidation, store.CertPendingValidation, trim(err.Error()))
		}
	}()
}

// order obtains the certificates of every name of d, then binds them:
// binding_certificate while they go into service, active once they serve.
func (r *Reconciler) order(ctx context.Context, d store.CustomDomain) error {
	octx, cancel := context.WithTimeout(ctx, r.cfg.OrderTimeout)
	defer cancel()
	for _, n := range names(d) {
		if err := r.certs.Obtain(octx, n); err != nil {
			return err
		}
	}
	r.setStatus(ctx, d, d.Status, store.DomainBindingCertificate, store.CertSuccess, "")
	d.Status = store.DomainBindingCertificate
	r.setStatus(ctx, d, store.DomainBindingCertificate, store.DomainActive, store.CertSuccess, "")
	return nil
}

// ensureLoaded puts an active domain's stored certificates back in service
// (after a restart), without a new order; one that is gone is ordered
// again.
func (r *Reconciler) ensureLoaded(ctx context.Context, d store.CustomDomain) {
	for _, n := range names(d) {
		if r.certs.Has(n) {
			continue
		}
		err := r.certs.Load(ctx, n)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			r.log.Warn("custom domain certificate missing; ordering again", "domain", n, "err", err)
			r.mu.Lock()
			r.pendingSince[d.Name] = r.now()
			r.mu.Unlock()
			r.setStatus(ctx, d, store.DomainActive, store.DomainPendingValidation, store.CertPendingValidation, trim(err.Error()))
			return
		default:
			// No ACME CA this run, or storage trouble: the domain keeps its
			// status and is served over plain HTTP until its certificate
			// loads; the next pass tries again.
			r.log.Warn("custom domain certificate not loaded", "domain", n, "err", err)
			return
		}
	}
}

// remove takes a disassociated domain (or one whose service is gone) out
// of service and out of the store.
func (r *Reconciler) remove(ctx context.Context, d store.CustomDomain) {
	r.mu.Lock()
	if r.ordering[d.Name] {
		// Its order ends within OrderTimeout; remove it then.
		r.mu.Unlock()
		return
	}
	for _, n := range names(d) {
		if _, ok := r.aliased[n]; ok {
			r.router.RemoveAlias(n)
			delete(r.aliased, n)
		}
	}
	delete(r.tries, d.Name)
	delete(r.notBefore, d.Name)
	delete(r.pendingSince, d.Name)
	r.mu.Unlock()
	for _, n := range names(d) {
		if err := r.certs.Remove(ctx, n); err != nil {
			r.log.Error("removing certificate", "domain", n, "err", err)
			r.setStatus(ctx, d, d.Status, store.DomainDeleteFailed, d.CertStatus, trim(err.Error()))
			return
		}
	}
	err := r.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.CustomDomain(d.Name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && cur.ServiceARN != d.ServiceARN) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteCustomDomain(d.Name)
	})
	if err != nil {
		r.log.Error("deleting custom domain", "domain", d.Name, "err", err)
		return
	}
	r.log.Info("custom domain removed", "domain", d.Name)
}

// backoff is the wait after the n-th failed order: lo doubling up to hi.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// trim keeps reasons readable.
func trim(s string) string {
	const max = 500
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
