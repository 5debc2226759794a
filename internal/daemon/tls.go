package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/internal/certs"
	"github.com/slipwayhq/slipway/internal/dnsupdate"
	"github.com/slipwayhq/slipway/internal/router"
)

// CertsDir is where certificates and the local CA live: DIR/certs.
func CertsDir(dataDir string) string { return filepath.Join(dataDir, "certs") }

// newCerts sets up the router's certificates. known reports whether a
// name under the default domain is served.
func newCerts(cfg Config, routerLn, httpsLn net.Listener, known func(string) bool, log *slog.Logger) (*certs.Manager, error) {
	cc := certs.Config{
		Dir:           CertsDir(cfg.DataDir),
		DefaultDomain: cfg.Region + "." + cfg.Domain,
		Known:         known,
		ACMECA:        cfg.ACMECA,
		ACMEEmail:     cfg.ACMEEmail,
		HTTPAddr:      routerLn.Addr().String(),
		HTTPSAddr:     addrOf(httpsLn),
	}
	if cfg.ACMERoots != "" {
		pem, err := os.ReadFile(cfg.ACMERoots)
		if err != nil {
			return nil, fmt.Errorf("ACME CA roots: %w", err)
		}
		cc.ACMERoots = x509.NewCertPool()
		if !cc.ACMERoots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ACME CA roots: no certificate in %s", cfg.ACMERoots)
		}
	}
	dns, err := dns01(cfg)
	if err != nil {
		return nil, err
	}
	cc.DNS01 = dns
	m, err := certs.New(cc, log)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	return m, nil
}

// ACMEDNSRFC2136 is Config.ACMEDNS for dynamic DNS updates (RFC 2136),
// which BIND, Knot and PowerDNS take.
const ACMEDNSRFC2136 = "rfc2136"

// RFC2136 configures dynamic DNS updates signed with a TSIG key.
type RFC2136 struct {
	// Server is the zone's primary server, host:port. The challenge
	// records are checked there too, before the CA is told to look.
	Server string
	// KeyName names the TSIG key; KeyAlg is its algorithm (default
	// hmac-sha256).
	KeyName, KeyAlg string
	// KeyFile holds the key's base64 secret, alone or in the key statement
	// tsig-keygen prints.
	KeyFile string
}

// dns01 sets up the DNS-01 challenge cfg asks for, if any.
func dns01(cfg Config) (*certs.DNS01, error) {
	r := cfg.RFC2136
	switch cfg.ACMEDNS {
	case "":
		if r.Server != "" || r.KeyName != "" || r.KeyFile != "" {
			return nil, errors.New("--rfc2136-* flags are set without --acme-dns rfc2136")
		}
		return nil, nil
	case ACMEDNSRFC2136:
	default:
		return nil, fmt.Errorf("--acme-dns %q: the only DNS provider is %s", cfg.ACMEDNS, ACMEDNSRFC2136)
	}
	if cfg.ACMECA == "" {
		return nil, errors.New("--acme-dns needs an ACME CA (--acme-ca)")
	}
	if r.Server == "" || r.KeyName == "" || r.KeyFile == "" {
		return nil, errors.New("--acme-dns rfc2136 needs --rfc2136-server, --rfc2136-key-name and --rfc2136-key-file")
	}
	b, err := os.ReadFile(r.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--rfc2136-key-file: %w", err)
	}
	secret, err := dnsupdate.ParseSecret(b)
	if err != nil {
		return nil, fmt.Errorf("--rfc2136-key-file %s: %w", r.KeyFile, err)
	}
	p, err := dnsupdate.New(dnsupdate.Config{Server: r.Server, KeyName: r.KeyName, KeyAlg: r.KeyAlg, Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("--acme-dns rfc2136: %w", err)
	}
	return &certs.DNS01{Provider: p, Resolvers: []string{r.Server}}, nil
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// tlsServer serves the router's HTTPS listener.
type tlsServer struct {
	srv *router.Server
	cfg *tls.Config
}

func (s tlsServer) Serve(ln net.Listener) error { return s.srv.ServeTLS(ln, s.cfg) }
