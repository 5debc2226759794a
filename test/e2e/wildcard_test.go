package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/slipwayhq/slipway/test/bindenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// TestWildcardDomainsWithDNS01: a wildcard custom domain gets its
// certificate from an ACME CA (Pebble) over DNS-01, its challenge record
// published in a real BIND (named) through TSIG-signed dynamic updates,
// and every name one label under it is served over HTTPS; a plain custom
// domain next to it still validates over HTTP. Pebble resolves every name
// through that named, all on loopback.
func TestWildcardDomainsWithDNS01(t *testing.T) {
	if err := testenv.Need("pebble", "curl"); err != nil {
		t.Fatal(err)
	}
	ns := bindenv.Start(t, "example.test", "*.apps IN A 127.0.0.1", "app IN A 127.0.0.1")
	httpsAddr, pebbleAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	tc := selfSignedTLS(t, dir)
	s := startServer(t, "--https-listen", httpsAddr, "--domain-validation-timeout", "90s",
		"--acme-ca", "https://"+pebbleAddr+"/dir", "--acme-ca-roots", tc.roots,
		"--acme-dns", "rfc2136", "--rfc2136-server", ns.Addr,
		"--rfc2136-key-name", bindenv.KeyName, "--rfc2136-key-alg", bindenv.KeyAlg, "--rfc2136-key-file", ns.KeyFile)
	defer func() {
		if t.Failed() {
			t.Log(tailLines(s.DaemonLog(), 60))
		}
	}()
	a := startPebble(t, dir, tc, pebbleAddr, port(t, s.Router), port(t, httpsAddr), ns.Addr)

	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	out := s.MustAWS("create-service", "--service-name", "wild", "--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "wild"},
	})))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	host, _, _ := strings.Cut(url, ":")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)

	// A wildcard has no www, whatever is asked.
	assoc := s.MustAWS("associate-custom-domain", "--service-arn", arn, "--domain-name", "*.apps.example.test", "--enable-www-subdomain")
	if st, www := str(assoc, "CustomDomain", "Status"), assoc["CustomDomain"].(map[string]any)["EnableWWWSubdomain"]; st != "creating" || www != false {
		t.Fatalf("associate: status %q, www %v; want creating, no www", st, www)
	}
	s.MustAWS("associate-custom-domain", "--service-arn", arn, "--domain-name", "app.example.test", "--no-enable-www-subdomain")
	var records string
	waitFor(t, "both domains to become active", 90*time.Second, func() bool {
		st, rec := domainStatus(t, s, arn, "*.apps.example.test")
		st2, _ := domainStatus(t, s, arn, "app.example.test")
		records = rec
		return st == "active" && st2 == "active"
	})
	if !strings.Contains(records, `"*.apps.example.test"`) || strings.Contains(records, "www.") || !strings.Contains(records, host) {
		t.Errorf("validation records %s: want the wildcard's CNAME to %s alone", records, host)
	}

	// The wildcard was validated over DNS-01 through named, and its
	// challenge record is gone again; the plain domain over HTTP.
	namedLog, _ := os.ReadFile(filepath.Join(ns.Dir, "named.log"))
	if !bytes.Contains(namedLog, []byte("key "+bindenv.KeyName+": updating zone 'example.test/IN': adding an RR at '_acme-challenge.apps.example.test' TXT")) {
		t.Errorf("named's log shows no signed update adding the challenge record:\n%s", namedLog)
	}
	if bytes.Contains(namedLog, []byte("_acme-challenge.app.example.test")) {
		t.Error("app.example.test was validated over DNS-01; want HTTP-01 or TLS-ALPN-01 for names that are not wildcards")
	}
	waitFor(t, "the challenge record to be deleted", 10*time.Second, func() bool {
		return len(ns.Query(t, "_acme-challenge.apps.example.test", dns.TypeTXT)) == 0
	})

	issuing := a.issuingRoot(t)
	client := httpsClient(httpsAddr, issuing)
	for _, name := range []string{"x.apps.example.test", "another-one.apps.example.test", "app.example.test"} {
		resp, err := client.Get("https://" + name + "/")
		if err != nil {
			t.Fatalf("HTTPS %s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "wild v1") {
			t.Errorf("HTTPS %s: %s %q, want HTTP/2 and the app", name, resp.Proto, body)
		}
	}
	if names := servedNames(t, httpsAddr, "x.apps.example.test", issuing); !slices.Equal(names, []string{"*.apps.example.test"}) {
		t.Errorf("certificate for x.apps.example.test names %q, want *.apps.example.test alone", names)
	}
	// curl, as a person would.
	curl := exec.Command("curl", "-sS", "--http2", "--cacert", writeTemp(t, issuing), "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
		"--resolve", "x.apps.example.test:"+port(t, httpsAddr)+":127.0.0.1", "https://x.apps.example.test:"+port(t, httpsAddr)+"/")
	if b, err := curl.CombinedOutput(); err != nil || string(b) != "2 200" {
		t.Errorf("curl: %v %q, want HTTP/2 200", err, b)
	}
	// Plain HTTP redirects to the name asked for.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+s.Router+"/x", nil)
	req.Host = "x.apps.example.test"
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != 308 || resp.Header.Get("Location") != "https://x.apps.example.test:"+port(t, httpsAddr)+"/x" {
		t.Errorf("plain HTTP: %v %v, want a 308 to HTTPS", err, resp)
	}
	// The wildcard covers one label: not its parent, nor two labels down.
	for _, name := range []string{"apps.example.test", "a.b.apps.example.test"} {
		req, _ := http.NewRequest("GET", "http://"+s.Router+"/", nil)
		req.Host = name
		if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != 404 {
			t.Errorf("plain HTTP to %s: %v %v, want 404", name, err, resp)
		}
		if _, err := httpsClient(httpsAddr, issuing).Get("https://" + name + "/"); err == nil {
			t.Errorf("HTTPS to %s: a certificate", name)
		}
	}

	// A restart keeps the certificate: no new order.
	before := servedCert(t, httpsAddr, "x.apps.example.test", issuing)
	s.Stop()
	s.Restart()
	waitFor(t, "HTTPS after the restart", 30*time.Second, func() bool {
		resp, err := client.Get("https://y.apps.example.test/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if after := servedCert(t, httpsAddr, "y.apps.example.test", issuing); after != before {
		t.Errorf("after a restart the certificate changed (serial %s, was %s): it was ordered again", after, before)
	}

	// Disassociate: the names answer 404 and the certificate is gone.
	s.MustAWS("disassociate-custom-domain", "--service-arn", arn, "--domain-name", "*.apps.example.test")
	expectDisassociated(t, s, arn, "*.apps.example.test", "x.apps.example.test", "wildcard_.apps.example.test", httpsAddr, issuing)
	// The plain domain is untouched.
	if resp, err := client.Get("https://app.example.test/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("app.example.test after the wildcard went: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
}

// servedNames returns the DNS names of the certificate served for name.
func servedNames(t *testing.T, addr, name string, roots []byte) []string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to %s: %v", name, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].DNSNames
}
