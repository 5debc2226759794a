// Package bindenv gives tests a real authoritative DNS server on loopback:
// Debian's BIND (named), installed on first use, serving a zone that takes
// TSIG-signed dynamic updates (RFC 2136). Tests that call it fail, never
// skip, when it cannot start.
package bindenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Key is the TSIG key named accepts updates signed with.
const (
	KeyName = "slipway-test"
	KeyAlg  = "hmac-sha256"
)

// Server is a running named.
type Server struct {
	// Addr is 127.0.0.1:port, on UDP and TCP.
	Addr string
	// Zone is the zone served, without the final dot.
	Zone string
	// Secret is the TSIG key's base64 secret, which KeyFile holds alone.
	Secret, KeyFile string
	// Dir is named's working directory: configuration, zone, journal, log.
	Dir string
}

// Start runs named serving zone (e.g. "example.test") until the test ends.
// The zone has its SOA, an NS ns.<zone> with address 127.0.0.1, and
// records, lines of a zone file relative to the zone ("*.apps IN A
// 127.0.0.1"). Every name of the zone can be updated with the key.
func Start(t testing.TB, zone string, records ...string) *Server {
	t.Helper()
	named, err := ensureNamed()
	if err != nil {
		t.Fatalf("bindenv: %v", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	s := &Server{Zone: zone, Secret: base64.StdEncoding.EncodeToString(secret), Dir: t.TempDir()}
	s.KeyFile = filepath.Join(s.Dir, "tsig.secret")
	if err := os.WriteFile(s.KeyFile, []byte(s.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	zoneFile := "$TTL 60\n" +
		"@ IN SOA ns." + zone + ". hostmaster." + zone + ". 1 3600 600 86400 60\n" +
		"@ IN NS ns." + zone + ".\n" +
		"ns IN A 127.0.0.1\n" +
		strings.Join(records, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(s.Dir, zone+".zone"), []byte(zoneFile), 0o644); err != nil {
		t.Fatal(err)
	}
	// A free TCP port is almost always free on UDP too; named fails at
	// once when it is not, and another is tried.
	var last string
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if last = s.start(t, named, port); last == "" {
			return s
		}
	}
	t.Fatalf("bindenv: named did not start: %s", last)
	return nil
}

// start runs named on port; it returns why it did not start, or "".
func (s *Server) start(t testing.TB, named string, port int) string {
	t.Helper()
	conf := filepath.Join(s.Dir, "named.conf")
	logFile := filepath.Join(s.Dir, "named.log")
	os.Remove(logFile)
	q := func(p string) string { return strconv.Quote(p) }
	text := `options {
	directory ` + q(s.Dir) + `;
	pid-file ` + q(filepath.Join(s.Dir, "named.pid")) + `;
	session-keyfile ` + q(filepath.Join(s.Dir, "session.key")) + `;
	managed-keys-directory ` + q(s.Dir) + `;
	listen-on port ` + strconv.Itoa(port) + ` { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-transfer { none; };
};
controls { };
logging {
	channel file { file ` + q(logFile) + `; severity info; print-time yes; };
	category default { file; };
	category update { file; };
	category security { file; };
};
key ` + q(KeyName) + ` {
	algorithm ` + KeyAlg + `;
	secret ` + q(s.Secret) + `;
};
zone ` + q(s.Zone) + ` {
	type primary;
	file ` + q(filepath.Join(s.Dir, s.Zone+".zone")) + `;
	update-policy { grant ` + KeyName + ` zonesub ANY; };
};
`
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(named, "-f", "-c", conf, "-u", "root", "-4", "-n", "1")
	out, err := os.Create(filepath.Join(s.Dir, "named.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("bindenv: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return "named exited:\n" + s.logs()
		default:
		}
		if s.answers() {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("named log:\n%s", s.logs())
				}
			})
			return ""
		}
		if time.Now().After(deadline) {
			stop()
			return "no answer from " + s.Addr + " within 20s:\n" + s.logs()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answers reports whether named answers the zone's SOA over UDP and TCP.
func (s *Server) answers() bool {
	for _, nw := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(s.Zone), dns.TypeSOA)
		c := &dns.Client{Net: nw, Timeout: time.Second}
		r, _, err := c.Exchange(m, s.Addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return false
		}
	}
	return true
}

func (s *Server) logs() string {
	var b strings.Builder
	for _, f := range []string{"named.out", "named.log"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, f))
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}

// Query asks named for name's records of type typ and returns their data
// as in a zone file (TXT strings joined, unquoted).
func (s *Server) Query(t testing.TB, name string, typ uint16) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), typ)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("bindenv: query %s: %v", name, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != typ {
			continue
		}
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
			continue
		}
		out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	return out
}

// ensureNamed returns named's path, installing Debian's bind9 when it is
// missing. named lives in /usr/sbin, which PATH may lack.
func ensureNamed() (string, error) {
	find := func() (string, error) {
		if p, err := exec.LookPath("named"); err == nil {
			return p, nil
		}
		return exec.LookPath("/usr/sbin/named")
	}
	if p, err := find(); err == nil {
		return p, nil
	}
	install := func() ([]byte, error) {
		c := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "bind9")
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return c.CombinedOutput()
	}
	out, err := install()
	if err != nil {
		// The package lists may be missing or stale.
		if upd, uerr := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q").CombinedOutput(); uerr != nil {
			return "", fmt.Errorf("named is not installed and apt-get update failed: %v\n%s", uerr, upd)
		}
		out, err = install()
	}
	if err != nil {
		return "", fmt.Errorf("named is not installed and apt-get install bind9 failed: %v\n%s", err, out)
	}
	p, err := find()
	if err != nil {
		return "", fmt.Errorf("named still missing after installing bind9: %w", err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
