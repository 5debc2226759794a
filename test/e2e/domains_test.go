package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// acme is a real ACME CA on loopback: Debian's pebble, resolving names
// through pebble-challtestsrv, which answers 127.0.0.1 for every name
// unless told otherwise.
type acme struct {
	dir        string // ACME directory URL
	tlsRoots   string // PEM file of the roots of pebble's own HTTPS
	management string // challtestsrv's management address, if it runs
	pebbleMgmt string // pebble's management address (its issuing roots)
}

// pebbleTLS is pebble's own HTTPS certificate, and the roots to trust it.
type pebbleTLS struct{ cert, key, roots string }

// startACME starts challtestsrv and pebble on listen, validating HTTP-01
// on httpPort and TLS-ALPN-01 on tlsPort of 127.0.0.1.
func startACME(t *testing.T, dir string, tc pebbleTLS, listen, httpPort, tlsPort string) *acme {
	t.Helper()
	if err := testenv.Need("pebble", "pebble-challtestsrv", "curl"); err != nil {
		t.Fatal(err)
	}
	dns, mgmt := freeAddr(t), freeAddr(t)
	start(t, dir, "challtestsrv", exec.Command("pebble-challtestsrv",
		"-dns01", dns, "-management", mgmt, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""))
	a := startPebble(t, dir, tc, listen, httpPort, tlsPort, dns)
	a.management = mgmt
	return a
}

// startPebble starts pebble on listen, resolving names through the DNS
// server dns and validating HTTP-01 on httpPort and TLS-ALPN-01 on tlsPort
// of the addresses found.
func startPebble(t *testing.T, dir string, tc pebbleTLS, listen, httpPort, tlsPort, dns string) *acme {
	t.Helper()
	if err := testenv.Need("pebble"); err != nil {
		t.Fatal(err)
	}
	pebbleMgmt := freeAddr(t)
	conf, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": pebbleMgmt,
		"certificate": tc.cert, "privateKey": tc.key,
		"httpPort": atoi(t, httpPort), "tlsPort": atoi(t, tlsPort),
		"externalAccountBindingRequired": false,
	}})
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("pebble", "-config", confFile, "-dnsserver", dns)
	// No random sleeps before validating, no randomly refused nonces: a
	// deterministic CA.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	start(t, dir, "pebble", cmd)
	a := &acme{dir: "https://" + listen + "/dir", tlsRoots: tc.roots, pebbleMgmt: pebbleMgmt}
	waitFor(t, "pebble's directory", 20*time.Second, func() bool {
		resp, err := a.client().Get(a.dir)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return a
}

// client trusts pebble's own HTTPS.
func (a *acme) client() *http.Client {
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(a.tlsRoots)
	pool.AppendCertsFromPEM(b)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// issuingRoot is the root pebble's certificates chain to.
func (a *acme) issuingRoot(t *testing.T) []byte {
	t.Helper()
	resp, err := a.client().Get("https://" + a.pebbleMgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// pointAt makes name resolve to addr for pebble.
func (a *acme) pointAt(t *testing.T, name, addr string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"host": name + ".", "addresses": []string{addr}})
	resp, err := http.Post("http://"+a.management+"/add-a", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// start runs cmd in its own process group until the test ends.
func start(t *testing.T, dir, name string, cmd *exec.Cmd) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, tailLines(string(b), 30))
		}
	})
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// selfSignedTLS writes a CA and a certificate for 127.0.0.1 and
// localhost signed by it, for pebble's own HTTPS.
func selfSignedTLS(t *testing.T, dir string) pebbleTLS {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e pebble TLS root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile, rootsFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "roots.pem")
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", keyDER)
	write(rootsFile, "CERTIFICATE", caDER)
	return pebbleTLS{cert: certFile, key: keyFile, roots: rootsFile}
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func port(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpsClient reaches the router's HTTPS listener whatever name it asks
// for (curl's --resolve), trusting roots.
func httpsClient(addr string, roots []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
	}}
}

// servedCert returns the serial of the certificate served for name.
func servedCert(t *testing.T, addr, name string, roots []byte) string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to %s: %v", name, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// domainStatus returns the status of name in describe-custom-domains.
func domainStatus(t *testing.T, s *testenv.Server, arn, name string) (status, records string) {
	t.Helper()
	out := s.MustAWS("describe-custom-domains", "--service-arn", arn)
	ds, _ := out["CustomDomains"].([]any)
	for _, d := range ds {
		m := d.(map[string]any)
		if m["DomainName"] == name {
			b, _ := json.Marshal(m["CertificateValidationRecords"])
			return m["Status"].(string), string(b)
		}
	}
	return "", ""
}

// TestCustomDomainsWithACME: custom domains get real certificates from an
// ACME CA (Pebble) and are served over HTTPS with HTTP/2, through the aws
// CLI from association to disassociation.
func TestCustomDomainsWithACME(t *testing.T) {
	httpsAddr, pebbleAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	tc := selfSignedTLS(t, dir)
	// Slipway first: pebble validates on its router's ports.
	s := startServer(t, "--https-listen", httpsAddr, "--domain-validation-timeout", "20s",
		"--acme-ca", "https://"+pebbleAddr+"/dir", "--acme-ca-roots", tc.roots)
	defer func() {
		if t.Failed() {
			t.Log(tailLines(s.DaemonLog(), 60))
		}
	}()
	a := startACME(t, dir, tc, pebbleAddr, port(t, s.Router), port(t, httpsAddr))

	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	out := s.MustAWS("create-service", "--service-name", "webapp", "--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "webapp"},
	})))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	host, _, _ := strings.Cut(url, ":")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)

	// Errors first: a wildcard needs DNS-01; an unknown domain is not found.
	s.AWSFails("InvalidRequestException", "associate-custom-domain", "--service-arn", arn, "--domain-name", "*.example.test")
	s.AWSFails("ResourceNotFoundException", "disassociate-custom-domain", "--service-arn", arn, "--domain-name", "nope.example.test")

	assoc := s.MustAWS("associate-custom-domain", "--service-arn", arn, "--domain-name", "app.example.test")
	if st := str(assoc, "CustomDomain", "Status"); st != "creating" || str(assoc, "DNSTarget") != host {
		t.Fatalf("associate: status %q DNSTarget %q, want creating and %s", st, str(assoc, "DNSTarget"), host)
	}
	seen := map[string]bool{}
	var records string
	waitFor(t, "the domain to become active", 60*time.Second, func() bool {
		st, rec := domainStatus(t, s, arn, "app.example.test")
		seen[st] = true
		records = rec
		return st == "active"
	})
	// Every step is in the daemon's log, whatever the polling saw.
	daemonLog, _ := os.ReadFile(filepath.Join(s.DataDir, "daemon.log"))
	for _, st := range []string{"pending_certificate_dns_validation", "binding_certificate", "active"} {
		if !bytes.Contains(daemonLog, []byte("domain=app.example.test status="+st)) {
			t.Errorf("the daemon log shows no move to %s (the CLI saw %v)", st, seen)
		}
	}
	if !strings.Contains(records, `"www.app.example.test"`) || !strings.Contains(records, `"SUCCESS"`) || !strings.Contains(records, host) {
		t.Errorf("validation records %s: want CNAMEs of both names to %s, SUCCESS", records, host)
	}

	// Certificates and account keys are the daemon's alone.
	filepath.WalkDir(filepath.Join(s.DataDir, "certs", "acme"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, _ := d.Info(); fi != nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})

	issuing := a.issuingRoot(t)
	client := httpsClient(httpsAddr, issuing)
	for _, name := range []string{"app.example.test", "www.app.example.test"} {
		resp, err := client.Get("https://" + name + "/")
		if err != nil {
			t.Fatalf("HTTPS %s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "webapp v1") {
			t.Errorf("HTTPS %s: %s %q, want HTTP/2 and the app", name, resp.Proto, body)
		}
	}
	// curl, as a person would.
	curl := exec.Command("curl", "-sS", "--http2", "--cacert", writeTemp(t, issuing), "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
		"--resolve", "app.example.test:"+port(t, httpsAddr)+":127.0.0.1", "https://app.example.test:"+port(t, httpsAddr)+"/")
	if b, err := curl.CombinedOutput(); err != nil || string(b) != "2 200" {
		t.Errorf("curl: %v %q, want HTTP/2 200", err, b)
	}
	// Plain HTTP now redirects.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+s.Router+"/x", nil)
	req.Host = "app.example.test"
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != 308 || resp.Header.Get("Location") != "https://app.example.test:"+port(t, httpsAddr)+"/x" {
		t.Errorf("plain HTTP: %v %v, want a 308 to HTTPS", err, resp)
	}

	// A redeploy over HTTPS drops no request.
	ctx, stop := context.WithCancel(context.Background())
	var total, failed int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			total++
			resp, err := client.Get("https://app.example.test/")
			if err != nil {
				failed++
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "webapp v") {
				failed++
			}
		}
	}()
	repo.Write("version.txt", "v2\n")
	repo.Commit("v2")
	op := str(s.MustAWS("start-deployment", "--service-arn", arn), "OperationId")
	if st := s.WaitOperation(arn, op, 90*time.Second); st != "SUCCEEDED" {
		t.Fatalf("redeploy: %s", st)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	<-done
	if failed != 0 || total < 20 {
		t.Errorf("redeploy over HTTPS: %d of %d requests failed", failed, total)
	}

	// A restart keeps the certificate: the same one is served, no new order.
	before := servedCert(t, httpsAddr, "app.example.test", issuing)
	s.Stop()
	s.Restart()
	waitFor(t, "HTTPS after the restart", 30*time.Second, func() bool {
		resp, err := client.Get("https://app.example.test/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if after := servedCert(t, httpsAddr, "app.example.test", issuing); after != before {
		t.Errorf("after a restart the certificate changed (serial %s, was %s): it was ordered again", after, before)
	}

	// A domain whose challenge can never pass: it points elsewhere.
	a.pointAt(t, "bad.example.test", "127.0.0.2")
	s.MustAWS("associate-custom-domain", "--service-arn", arn, "--domain-name", "bad.example.test", "--no-enable-www-subdomain")
	waitFor(t, "the bad domain to wait with a reason", 30*time.Second, func() bool {
		st, _ := domainStatus(t, s, arn, "bad.example.test")
		log, _ := os.ReadFile(filepath.Join(s.DataDir, "daemon.log"))
		return st == "pending_certificate_dns_validation" && bytes.Contains(log, []byte("domain=bad.example.test err="))
	})
	waitFor(t, "the bad domain to fail", 40*time.Second, func() bool {
		st, rec := domainStatus(t, s, arn, "bad.example.test")
		return st == "create_failed" && strings.Contains(rec, `"FAILED"`)
	})

	// Disassociate: the domain answers 404 and its certificate is gone.
	dis := s.MustAWS("disassociate-custom-domain", "--service-arn", arn, "--domain-name", "app.example.test")
	if st := str(dis, "CustomDomain", "Status"); st != "deleting" {
		t.Errorf("disassociate: status %q, want deleting", st)
	}
	expectDisassociated(t, s, arn, "app.example.test", "app.example.test", "app.example.test", httpsAddr, issuing)
}

// expectDisassociated waits until domain is gone from the service, then
// checks that host (a name it served) answers 404 over plain HTTP, has no
// certificate over HTTPS, and that certmagic's directory certDir is gone.
func expectDisassociated(t *testing.T, s *testenv.Server, arn, domain, host, certDir, httpsAddr string, roots []byte) {
	t.Helper()
	waitFor(t, domain+" to be gone", 30*time.Second, func() bool {
		st, _ := domainStatus(t, s, arn, domain)
		return st == ""
	})
	req, _ := http.NewRequest("GET", "http://"+s.Router+"/", nil)
	req.Host = host
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != 404 {
		t.Errorf("after disassociation, plain HTTP: %v %v, want 404", err, resp)
	}
	// A new connection: the old ones were set up with the old certificate.
	if _, err := httpsClient(httpsAddr, roots).Get("https://" + host + "/"); err == nil {
		t.Error("after disassociation, HTTPS still has a certificate")
	}
	if matches, _ := filepath.Glob(filepath.Join(s.DataDir, "certs", "acme", "certificates", "*", certDir)); len(matches) != 0 {
		t.Errorf("certificate files left: %v", matches)
	}
}

// TestDefaultDomainLocalCA: every ServiceUrl also works over HTTPS, with a
// certificate from the local CA that `slipway trust` prints.
func TestDefaultDomainLocalCA(t *testing.T) {
	httpsAddr := freeAddr(t)
	s := startServer(t, "--https-listen", httpsAddr, "--acme-ca", "")
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	out := s.MustAWS("create-service", "--service-name", "local", "--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "local"},
	})))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	host, _, _ := strings.Cut(url, ":")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)

	root, err := s.Slipway("trust", "--data-dir", s.DataDir)
	if err != nil || !strings.Contains(root, "BEGIN CERTIFICATE") {
		t.Fatalf("slipway trust: %v %q", err, root)
	}
	client := httpsClient(httpsAddr, []byte(root))
	resp, err := client.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("HTTPS to the ServiceUrl: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "local v1") {
		t.Errorf("HTTPS to the ServiceUrl: %s %q, want HTTP/2 and the app", resp.Proto, body)
	}
	// Only served names get certificates.
	if _, err := client.Get("https://nosuch.us-east-1.localhost/"); err == nil {
		t.Error("a certificate for a name no service has")
	}
	// Plain HTTP keeps working for the default domain.
	expectBody(t, s, url, "local v1")
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
