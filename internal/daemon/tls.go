package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/internal/certs"
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
	m, err := certs.New(cc, log)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	return m, nil
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
