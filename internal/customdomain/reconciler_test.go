package customdomain

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// fakeCerts orders certificates that fail while fail says so.
type fakeCerts struct {
	mu      sync.Mutex
	acme    bool
	fail    map[string]error
	stored  map[string]bool // in storage
	loaded  map[string]bool // in service
	orders  int
	removed []string
}

func newFakeCerts() *fakeCerts {
	return &fakeCerts{acme: true, fail: map[string]error{}, stored: map[string]bool{}, loaded: map[string]bool{}}
}

func (c *fakeCerts) ACME() bool { return c.acme }

func (c *fakeCerts) Load(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stored[name] {
		return fs.ErrNotExist
	}
	c.loaded[name] = true
	return nil
}

func (c *fakeCerts) Obtain(ctx context.Context, name string) error {
	if err := c.Load(ctx, name); err == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orders++
	if err := c.fail[name]; err != nil {
		return err
	}
	c.stored[name], c.loaded[name] = true, true
	return nil
}

func (c *fakeCerts) Remove(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.stored, name)
	delete(c.loaded, name)
	c.removed = append(c.removed, name)
	return nil
}

func (c *fakeCerts) Has(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded[name]
}

type fakeRouter struct {
	mu      sync.Mutex
	aliases map[string]string // alias → host, "!" suffix when HTTPS only
}

func (r *fakeRouter) SetAlias(alias, host string, httpsOnly bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if httpsOnly {
		host += "!"
	}
	r.aliases[alias] = host
}

func (r *fakeRouter) RemoveAlias(alias string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.aliases, alias)
}

func (r *fakeRouter) get(alias string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aliases[alias]
}

const svcARN = "arn:aws:apprunner:us-east-1:000000000000:service/web/0123456789abcdef0123456789abcdef"

func setup(t *testing.T) (*store.Store, *fakeCerts, *fakeRouter) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(t.Context(), func(tx *store.Tx) error {
		return tx.PutService(store.Service{ARN: svcARN, ID: "0123456789abcdef0123456789abcdef", Name: "web",
			Status: ar.ServiceStatusRunning, Host: "abc.us-east-1.localhost", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, newFakeCerts(), &fakeRouter{aliases: map[string]string{}}
}

func associate(t *testing.T, st *store.Store, name string, www bool, at time.Time) {
	t.Helper()
	err := st.Update(t.Context(), func(tx *store.Tx) error {
		return tx.PutCustomDomain(store.CustomDomain{ServiceARN: svcARN, Name: name, WWW: www, Status: store.DomainCreating,
			CertStatus: store.CertPendingValidation, CreatedAt: at, UpdatedAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func domain(t *testing.T, st *store.Store, name string) store.CustomDomain {
	t.Helper()
	var d store.CustomDomain
	err := st.View(t.Context(), func(tx *store.Tx) (err error) { d, err = tx.CustomDomain(name); return err })
	if errors.Is(err, store.ErrNotFound) {
		return store.CustomDomain{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// run starts the reconciler and returns a func that waits for cond.
func run(t *testing.T, r *Reconciler) func(what string, cond func() bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestDomainBecomesActive(t *testing.T) {
	st, certs, rt := setup(t)
	certs.fail["app.example.test"] = errors.New("connection refused")
	r := New(Config{HTTPS: true, RetryMin: 20 * time.Millisecond, RetryMax: 40 * time.Millisecond}, st, certs, rt, slog.New(slog.DiscardHandler))
	associate(t, st, "app.example.test", true, time.Now())
	wait := run(t, r)

	wait("pending with the CA's answer", func() bool {
		d := domain(t, st, "app.example.test")
		return d.Status == store.DomainPendingValidation && strings.Contains(d.Reason, "connection refused")
	})
	// Served (over plain HTTP) while it waits, so the HTTP-01 challenge
	// reaches this server.
	if got := rt.get("www.app.example.test"); got != "abc.us-east-1.localhost" {
		t.Errorf("alias while pending = %q, want the service host, not HTTPS only", got)
	}
	certs.mu.Lock()
	delete(certs.fail, "app.example.test")
	certs.mu.Unlock()
	wait("active", func() bool {
		d := domain(t, st, "app.example.test")
		return d.Status == store.DomainActive && d.CertStatus == store.CertSuccess && d.Reason == ""
	})
	wait("HTTPS only", func() bool {
		return rt.get("app.example.test") == "abc.us-east-1.localhost!" && rt.get("www.app.example.test") == "abc.us-east-1.localhost!"
	})
}

func TestRestartLoadsWithoutOrdering(t *testing.T) {
	st, certs, rt := setup(t)
	associate(t, st, "app.example.test", false, time.Now())
	err := st.Update(t.Context(), func(tx *store.Tx) error {
		d, _ := tx.CustomDomain("app.example.test")
		d.Status, d.CertStatus = store.DomainActive, store.CertSuccess
		return tx.PutCustomDomain(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	certs.stored["app.example.test"] = true
	wait := run(t, New(Config{HTTPS: true}, st, certs, rt, slog.New(slog.DiscardHandler)))
	wait("loaded and served", func() bool { return certs.Has("app.example.test") && rt.get("app.example.test") != "" })
	if certs.orders != 0 {
		t.Errorf("%d orders after a restart, want none", certs.orders)
	}
}

func TestValidationTimeout(t *testing.T) {
	st, certs, rt := setup(t)
	certs.fail["never.example.test"] = errors.New("no such host")
	associate(t, st, "never.example.test", false, time.Now())
	wait := run(t, New(Config{ValidationTimeout: 300 * time.Millisecond, RetryMin: time.Millisecond}, st, certs, rt, slog.New(slog.DiscardHandler)))
	wait("create_failed", func() bool {
		d := domain(t, st, "never.example.test")
		return d.Status == store.DomainCreateFailed && d.CertStatus == store.CertFailed && strings.Contains(d.Reason, "300ms")
	})
	wait("not served", func() bool { return rt.get("never.example.test") == "" })
}

func TestNoACMEWaitsWithAReason(t *testing.T) {
	st, certs, rt := setup(t)
	certs.acme = false
	associate(t, st, "app.example.test", false, time.Now())
	wait := run(t, New(Config{}, st, certs, rt, slog.New(slog.DiscardHandler)))
	wait("a reason naming --acme-ca", func() bool {
		d := domain(t, st, "app.example.test")
		return d.Status == store.DomainPendingValidation && strings.Contains(d.Reason, "--acme-ca")
	})
	if certs.orders != 0 {
		t.Errorf("%d orders without ACME", certs.orders)
	}
}

func TestDisassociateAndServiceDeletion(t *testing.T) {
	st, certs, rt := setup(t)
	associate(t, st, "a.example.test", true, time.Now())
	associate(t, st, "b.example.test", false, time.Now())
	wait := run(t, New(Config{HTTPS: true}, st, certs, rt, slog.New(slog.DiscardHandler)))
	wait("both active", func() bool {
		return domain(t, st, "a.example.test").Status == store.DomainActive && domain(t, st, "b.example.test").Status == store.DomainActive
	})

	err := st.Update(t.Context(), func(tx *store.Tx) error {
		d, _ := tx.CustomDomain("a.example.test")
		d.Status = store.DomainDeleting
		return tx.PutCustomDomain(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	wait("a removed", func() bool {
		return domain(t, st, "a.example.test").Name == "" && rt.get("a.example.test") == "" && rt.get("www.a.example.test") == "" && !certs.Has("www.a.example.test")
	})
	if rt.get("b.example.test") == "" {
		t.Error("b stopped being served")
	}

	err = st.Update(t.Context(), func(tx *store.Tx) error {
		s, _ := tx.Service(svcARN)
		s.Status = ar.ServiceStatusDeleted
		return tx.PutService(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	wait("b removed with its service", func() bool { return domain(t, st, "b.example.test").Name == "" && rt.get("b.example.test") == "" })
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {10, 5 * time.Minute}} {
		if got := backoff(tc.n, 10*time.Second, 5*time.Minute); got != tc.want {
			t.Errorf("backoff(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// TestWildcardDomain: a wildcard is one name, with one certificate and one
// alias, even if stored with www; it waits for DNS-01 with that reason.
func TestWildcardDomain(t *testing.T) {
	st, certs, rt := setup(t)
	certs.fail["*.apps.example.test"] = errors.New("no answer yet")
	r := New(Config{HTTPS: true, RetryMin: 20 * time.Millisecond, RetryMax: 40 * time.Millisecond}, st, certs, rt, slog.New(slog.DiscardHandler))
	associate(t, st, "*.apps.example.test", true, time.Now())
	wait := run(t, r)
	wait("pending", func() bool {
		d := domain(t, st, "*.apps.example.test")
		return d.Status == store.DomainPendingValidation
	})
	certs.mu.Lock()
	delete(certs.fail, "*.apps.example.test")
	certs.mu.Unlock()
	wait("active and HTTPS only", func() bool {
		return domain(t, st, "*.apps.example.test").Status == store.DomainActive && rt.get("*.apps.example.test") == "abc.us-east-1.localhost!"
	})
	if got := names(domain(t, st, "*.apps.example.test")); len(got) != 1 || got[0] != "*.apps.example.test" {
		t.Errorf("names = %q, want the wildcard alone", got)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.aliases) != 1 {
		t.Errorf("aliases %v, want the wildcard alone", rt.aliases)
	}
	if !certs.stored["*.apps.example.test"] || len(certs.stored) != 1 {
		t.Errorf("certificates %v, want the wildcard's alone", certs.stored)
	}
}

func TestWaitingReason(t *testing.T) {
	r := &Reconciler{certs: newFakeCerts()}
	for name, want := range map[string]string{"*.example.test": "DNS-01", "app.example.test": "point at this server"} {
		if got := r.waitingReason(store.CustomDomain{Name: name}); !strings.Contains(got, want) {
			t.Errorf("waitingReason(%s) = %q, want it to mention %q", name, got, want)
		}
	}
}

// TestOldDomainLosesItsCertificate: an active domain associated long ago
// whose certificate is gone waits again for a new one, with a fresh
// validation timeout, instead of failing at once; and one whose
// certificate cannot load for another reason (no ACME this run) stays
// active.
func TestOldDomainLosesItsCertificate(t *testing.T) {
	st, certs, rt := setup(t)
	month := time.Now().Add(-30 * 24 * time.Hour)
	for _, name := range []string{"gone.example.test", "kept.example.test"} {
		associate(t, st, name, false, month)
		err := st.Update(t.Context(), func(tx *store.Tx) error {
			d, _ := tx.CustomDomain(name)
			d.Status, d.CertStatus = store.DomainActive, store.CertSuccess
			return tx.PutCustomDomain(d)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	noACME := &failingLoad{fakeCerts: certs, name: "kept.example.test"}
	wait := run(t, New(Config{ValidationTimeout: time.Hour}, st, noACME, rt, slog.New(slog.DiscardHandler)))
	wait("the lost certificate ordered again", func() bool {
		return domain(t, st, "gone.example.test").Status == store.DomainActive && certs.Has("gone.example.test")
	})
	certs.mu.Lock()
	orders := certs.orders
	certs.mu.Unlock()
	if orders != 1 {
		t.Errorf("%d orders, want 1 for the lost certificate", orders)
	}
	if d := domain(t, st, "kept.example.test"); d.Status != store.DomainActive {
		t.Errorf("a certificate that could not load this run: %s, want active", d.Status)
	}
	if rt.get("kept.example.test") == "" {
		t.Error("a domain whose certificate could not load is not served")
	}
}

// failingLoad fails Load of one name with an error other than "not there".
type failingLoad struct {
	*fakeCerts
	name string
}

func (f *failingLoad) Load(ctx context.Context, name string) error {
	if name == f.name {
		return errors.New("no ACME CA is configured")
	}
	return f.fakeCerts.Load(ctx, name)
}
