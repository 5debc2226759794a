package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// handshake runs a TLS handshake against m for serverName and returns the
// client's error.
func handshake(t *testing.T, m *Manager, serverName string, roots *x509.CertPool) error {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Server(b, m.TLSConfig()).Handshake()
	return tls.Client(a, &tls.Config{ServerName: serverName, RootCAs: roots}).Handshake()
}

func TestLocalCA(t *testing.T) {
	dir := t.TempDir()
	known := map[string]bool{"abc.us-east-1.localhost": true}
	m, err := New(Config{Dir: dir, DefaultDomain: "us-east-1.localhost", Known: func(n string) bool { return known[n] }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(m.RootPEM()) {
		t.Fatal("RootPEM holds no certificate")
	}
	if err := handshake(t, m, "abc.us-east-1.localhost", roots); err != nil {
		t.Errorf("known service: %v", err)
	}
	for _, name := range []string{"nope.us-east-1.localhost", "app.example.test", "us-east-1.localhost"} {
		if err := handshake(t, m, name, roots); err == nil {
			t.Errorf("%s: handshake succeeded, want no certificate", name)
		}
	}
	if m.ACME() {
		t.Error("ACME() without a CA")
	}

	// The root key is private, and a restart keeps the same root.
	fi, err := os.Stat(filepath.Join(dir, "local-ca", "root.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root.key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	again, err := LocalRoot(dir)
	if err != nil || string(again) != string(m.RootPEM()) {
		t.Errorf("LocalRoot after restart: %v, same root %v", err, string(again) == string(m.RootPEM()))
	}
}
