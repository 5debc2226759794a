package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"
)

// LetsEncrypt is the default ACME directory.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config configures a Manager.
type Config struct {
	// Dir holds the local CA, ACME account keys and certificates (0700,
	// keys 0600).
	Dir string
	// DefaultDomain is "<region>.<domain>": names under it get
	// certificates from the local CA.
	DefaultDomain string
	// Known reports whether a name under DefaultDomain is served, so that
	// the local CA issues only for real services. Nil allows all.
	Known func(name string) bool
	// ACMECA is the ACME directory URL custom domains get certificates
	// from; empty disables ACME.
	ACMECA string
	// ACMEEmail is the account's contact address (optional).
	ACMEEmail string
	// ACMERoots, if set, are the roots trusted for the ACME server's own
	// HTTPS (a private CA such as Pebble); the system's otherwise.
	ACMERoots *x509.CertPool
	// HTTPAddr and HTTPSAddr are the router's listeners, on which the
	// CA's HTTP-01 and TLS-ALPN-01 challenges arrive.
	HTTPAddr, HTTPSAddr string
	// DNS01, if set, answers the CA's DNS-01 challenges for wildcard names
	// ("*.example.com"), the only challenge CAs allow for them. Other
	// names keep HTTP-01 and TLS-ALPN-01, which need nothing but the name
	// pointing here: the DNS server may well not be authoritative for
	// every custom domain's zone.
	DNS01 *DNS01
}

// DNS01 configures ACME's DNS-01 challenge.
type DNS01 struct {
	// Provider publishes and removes the challenge's TXT records
	// (internal/dnsupdate).
	Provider certmagic.DNSProvider
	// Resolvers (host:port) are asked for the zone of a name and, before
	// the CA is told to look, for the challenge record: the provider's own
	// server, so that no query goes to public resolvers and no cache
	// delays the check.
	Resolvers []string
	// PropagationTimeout bounds the wait for the record to show; 0 means
	// 2 minutes.
	PropagationTimeout time.Duration
}

// Manager holds the router's certificates. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	local *localCA
	now   func() time.Time

	// magic, cache and issuer are nil without ACME. magicDNS, nil without
	// DNS-01, orders and renews wildcard names; it shares the cache, the
	// storage and the CA, so certificates are kept in the same places.
	magic    *certmagic.Config
	magicDNS *certmagic.Config
	cache    *certmagic.Cache
	issuer   *certmagic.ACMEIssuer

	// mu guards loaded: names whose ACME certificate is in the cache.
	mu     sync.Mutex
	loaded map[string]bool
}

// New returns a Manager, creating the local CA on first use.
func New(cfg Config, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "certs")
	m := &Manager{cfg: cfg, log: log, now: time.Now, loaded: map[string]bool{}}
	var err error
	if m.local, err = loadLocalCA(filepath.Join(cfg.Dir, "local-ca"), m.now()); err != nil {
		return nil, err
	}
	if cfg.ACMECA == "" {
		return m, nil
	}
	zl := zapLogger(log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		// Renewals go through the configuration that ordered the name.
		GetConfigForCert: func(c certmagic.Certificate) (*certmagic.Config, error) {
			return m.configFor(c.Names...), nil
		},
		Logger: zl,
	})
	template := certmagic.Config{
		Storage: &certmagic.FileStorage{Path: filepath.Join(cfg.Dir, "acme")},
		Logger:  zl,
		// Renewal information (ARI) is a newer ACME extension some CAs
		// (Pebble 2.4) do not serve.
		DisableARI: true,
	}
	magic := certmagic.New(m.cache, template)
	iss := certmagic.ACMEIssuer{
		CA:           cfg.ACMECA,
		TestCA:       cfg.ACMECA,
		Email:        cfg.ACMEEmail,
		Agreed:       true,
		TrustedRoots: cfg.ACMERoots,
		Logger:       zl,
	}
	// The challenges are answered by the router's own listeners: certmagic
	// finds them in use and leaves the answering to HandleHTTPChallenge and
	// GetCertificate.
	if host, port, err := splitPort(cfg.HTTPAddr); err == nil {
		iss.ListenHost, iss.AltHTTPPort = host, port
	} else {
		iss.DisableHTTPChallenge = true
	}
	if host, port, err := splitPort(cfg.HTTPSAddr); err == nil {
		iss.ListenHost, iss.AltTLSALPNPort = host, port
	} else {
		iss.DisableTLSALPNChallenge = true
	}
	m.issuer = certmagic.NewACMEIssuer(magic, iss)
	magic.Issuers = []certmagic.Issuer{m.issuer}
	if d := cfg.DNS01; d != nil {
		magicDNS := certmagic.New(m.cache, template)
		dnsIss := iss
		dnsIss.DNS01Solver = &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
			DNSProvider:        d.Provider,
			Resolvers:          d.Resolvers,
			PropagationTimeout: d.PropagationTimeout,
			Logger:             zl,
		}}
		magicDNS.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(magicDNS, dnsIss)}
		m.magicDNS = magicDNS
	}
	m.magic = magic
	return m, nil
}

// configFor is the certmagic configuration that orders and renews a
// certificate for names: the DNS-01 one if a name is a wildcard.
func (m *Manager) configFor(names ...string) *certmagic.Config {
	if m.magicDNS != nil && slices.ContainsFunc(names, isWildcard) {
		return m.magicDNS
	}
	return m.magic
}

func isWildcard(name string) bool { return strings.HasPrefix(name, "*.") }

// wildcardOf is the wildcard name that covers name: "*.example.com" for
// "www.example.com"; "" for a name of one label.
func wildcardOf(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 {
		return "*" + name[i:]
	}
	return ""
}

func splitPort(addr string) (string, int, error) {
	if addr == "" {
		return "", 0, errors.New("no address")
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := net.LookupPort("tcp", p)
	return host, port, err
}

// Close stops certificate maintenance.
func (m *Manager) Close() {
	if m.cache != nil {
		m.cache.Stop()
	}
}

// ACME reports whether custom domains can get certificates.
func (m *Manager) ACME() bool { return m.magic != nil }

// DNS01 reports whether wildcard names can get certificates.
func (m *Manager) DNS01() bool { return m.magicDNS != nil }

// RootPEM is the local CA's root certificate.
func (m *Manager) RootPEM() []byte { return m.local.rootPEM }

// TLSConfig returns the HTTPS listener's configuration: certificates by
// SNI, HTTP/2 and HTTP/1.1 by ALPN, and ACME's TLS-ALPN-01 challenge.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: m.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", "acme-tls/1"},
		MinVersion:     tls.VersionTLS12,
	}
}

// GetCertificate chooses the certificate for a TLS handshake by its SNI.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalize(hello.ServerName)
	if slices.Contains(hello.SupportedProtos, "acme-tls/1") {
		if m.magic == nil {
			return nil, errors.New("ACME is not configured")
		}
		return m.magic.GetCertificate(hello)
	}
	if m.covers(name) {
		return m.local.certificate(name, m.now())
	}
	if m.magic != nil && (m.Has(name) || m.Has(wildcardOf(name))) {
		return m.magic.GetCertificate(hello)
	}
	return nil, fmt.Errorf("no certificate for %q", name)
}

// covers reports whether the local CA issues for name.
func (m *Manager) covers(name string) bool {
	d := m.cfg.DefaultDomain
	if d == "" || name == "" || !strings.HasSuffix(name, "."+d) {
		return false
	}
	return m.cfg.Known == nil || m.cfg.Known(name)
}

// HandleHTTPChallenge answers an ACME HTTP-01 challenge request, if req is
// one, and reports whether it did.
func (m *Manager) HandleHTTPChallenge(w http.ResponseWriter, req *http.Request) bool {
	if m.issuer == nil {
		return false
	}
	return m.issuer.HandleHTTPChallenge(w, req)
}

// Has reports whether name has an ACME certificate in memory, ready for
// handshakes.
func (m *Manager) Has(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loaded[normalize(name)]
}

// ErrNoACME is returned when a custom domain needs a certificate and no
// ACME CA is configured.
var ErrNoACME = errors.New("no ACME CA is configured (--acme-ca)")

// ErrNoDNS01 is returned when a wildcard name needs a certificate and no
// DNS provider answers DNS-01 challenges.
var ErrNoDNS01 = errors.New("wildcard names are validated over DNS-01, and no DNS provider is configured (--acme-dns)")

// Load puts name's certificate from storage into memory, where certmagic
// renews it before it expires. It returns an error wrapping fs.ErrNotExist
// when there is none: the CA is not asked.
func (m *Manager) Load(ctx context.Context, name string) error {
	if m.magic == nil {
		return ErrNoACME
	}
	name = normalize(name)
	if m.Has(name) {
		return nil
	}
	if _, err := m.configFor(name).CacheManagedCertificate(ctx, name); err != nil {
		return fmt.Errorf("certificate for %s: %w", name, err)
	}
	m.mu.Lock()
	m.loaded[name] = true
	m.mu.Unlock()
	return nil
}

// Obtain makes sure name has a certificate: from storage if there is one,
// else ordered from the CA once, without retrying (the caller decides when
// to try again). The error of a failed order says why, as the CA put it.
func (m *Manager) Obtain(ctx context.Context, name string) error {
	err := m.Load(ctx, name)
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if isWildcard(name) && m.magicDNS == nil {
		return fmt.Errorf("certificate for %s: %w", name, ErrNoDNS01)
	}
	if err := m.configFor(name).ObtainCertSync(ctx, normalize(name)); err != nil {
		var p acme.Problem
		if errors.As(err, &p) {
			return fmt.Errorf("certificate for %s: the CA refused: %s", name, p.Detail)
		}
		return fmt.Errorf("certificate for %s: %w", name, err)
	}
	return m.Load(ctx, name)
}

// Remove forgets name's certificate, in memory and in storage.
func (m *Manager) Remove(ctx context.Context, name string) error {
	if m.magic == nil {
		return nil
	}
	name = normalize(name)
	m.mu.Lock()
	delete(m.loaded, name)
	m.mu.Unlock()
	m.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: name}})
	err := m.magic.Storage.Delete(ctx, certmagic.StorageKeys.CertsSitePrefix(m.issuer.IssuerKey(), name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing certificate for %s: %w", name, err)
	}
	return nil
}

func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
