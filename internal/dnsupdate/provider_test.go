package dnsupdate

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/slipwayhq/slipway/test/bindenv"
)

// TestProviderAgainstBIND appends and deletes TXT records on a real named
// and checks each step with a DNS query.
func TestProviderAgainstBIND(t *testing.T) {
	ns := bindenv.Start(t, "example.test")
	p, err := New(Config{Server: ns.Addr, KeyName: bindenv.KeyName, KeyAlg: bindenv.KeyAlg, Secret: ns.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const name = "_acme-challenge.apps.example.test"
	txt := func() []string {
		got := ns.Query(t, name, dns.TypeTXT)
		slices.Sort(got)
		return got
	}

	// Two records of one name, as ACME's challenges for example.com and
	// *.example.com make; a long one spans several TXT strings.
	long := strings.Repeat("x", 300)
	out, err := p.AppendRecords(ctx, "example.test.", []libdns.Record{
		libdns.TXT{Name: "_acme-challenge.apps", Text: "token-1", TTL: 30 * time.Second},
		libdns.RR{Name: "_acme-challenge.apps", Type: "TXT", Data: long, TTL: 30 * time.Second},
	})
	if err != nil {
		t.Fatalf("AppendRecords: %v", err)
	}
	if len(out) != 2 {
		t.Fatalf("AppendRecords returned %d records, want 2", len(out))
	}
	for _, r := range out {
		if _, ok := r.(libdns.TXT); !ok {
			t.Errorf("AppendRecords returned %T, want libdns.TXT", r)
		}
	}
	if got, want := txt(), []string{"token-1", long}; !slices.Equal(got, want) {
		t.Errorf("after append: TXT %q, want %q", got, want)
	}
	// Appending keeps what is there.
	if _, err := p.AppendRecords(ctx, "example.test", []libdns.Record{libdns.TXT{Name: "_acme-challenge.apps", Text: "token-2", TTL: 30 * time.Second}}); err != nil {
		t.Fatalf("AppendRecords: %v", err)
	}
	if got, want := txt(), []string{"token-1", "token-2", long}; !slices.Equal(got, want) {
		t.Errorf("after a second append: TXT %q, want %q", got, want)
	}

	// Deleting one record by its value leaves the others; deleting one that
	// is not there, or not with that TTL, deletes nothing.
	if gone, err := p.DeleteRecords(ctx, "example.test.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.apps", Text: "token-1", TTL: time.Hour}}); err != nil || len(gone) != 0 {
		t.Errorf("deleting with another TTL: %v, %v; want nothing deleted", gone, err)
	}
	gone, err := p.DeleteRecords(ctx, "example.test.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.apps", Text: "token-1"}})
	if err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if len(gone) != 1 || gone[0].RR().Data != "token-1" || gone[0].RR().TTL != 30*time.Second {
		t.Errorf("DeleteRecords returned %v, want token-1 with its TTL", gone)
	}
	if got, want := txt(), []string{"token-2", long}; !slices.Equal(got, want) {
		t.Errorf("after delete: TXT %q, want %q", got, want)
	}
	if gone, err := p.DeleteRecords(ctx, "example.test.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.apps", Text: "nope"}}); err != nil || len(gone) != 0 {
		t.Errorf("deleting a missing record: %v, %v; want nothing deleted", gone, err)
	}
	// A record without a type or data matches every record of its name.
	gone, err = p.DeleteRecords(ctx, "example.test.", []libdns.Record{libdns.RR{Name: "_acme-challenge.apps"}})
	if err != nil || len(gone) != 2 {
		t.Errorf("deleting by name: %v, %v; want the two left deleted", gone, err)
	}
	if got := txt(); len(got) != 0 {
		t.Errorf("after deleting by name: TXT %q, want none", got)
	}
	// Other records are untouched.
	if got := ns.Query(t, "ns.example.test", dns.TypeA); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("ns.example.test A %q, want 127.0.0.1", got)
	}
}

// TestProviderRefused: a wrong key, an unknown key and a name outside the
// zone fail with errors that say so.
func TestProviderRefused(t *testing.T) {
	ns := bindenv.Start(t, "example.test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := []libdns.Record{libdns.TXT{Name: "_acme-challenge", Text: "t"}}
	other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name, key, secret, zone string
		want                    string
	}{
		{name: "wrong secret", key: bindenv.KeyName, secret: other, zone: "example.test.", want: "BADSIG"},
		{name: "unknown key", key: "nobody", secret: ns.Secret, zone: "example.test.", want: "BADKEY"},
		{name: "zone not served", key: bindenv.KeyName, secret: ns.Secret, zone: "other.test.", want: "NOTAUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Server: ns.Addr, KeyName: tt.key, Secret: tt.secret})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.AppendRecords(ctx, tt.zone, rec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AppendRecords: %v, want an error with %s", err, tt.want)
			}
		})
	}
	if got := ns.Query(t, "_acme-challenge.example.test", dns.TypeTXT); len(got) != 0 {
		t.Errorf("a refused update changed the zone: %q", got)
	}
}

func TestConfig(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("secret"))
	tests := []struct {
		name string
		cfg  Config
		want string // in the error; "" for none
	}{
		{name: "ok", cfg: Config{Server: "127.0.0.1:53", KeyName: "k", Secret: secret}},
		{name: "algorithm with dot", cfg: Config{Server: "ns:53", KeyName: "k", KeyAlg: "HMAC-SHA512.", Secret: secret}},
		{name: "no port", cfg: Config{Server: "127.0.0.1", KeyName: "k", Secret: secret}, want: "host:port"},
		{name: "no key name", cfg: Config{Server: "127.0.0.1:53", Secret: secret}, want: "key name"},
		{name: "md5", cfg: Config{Server: "127.0.0.1:53", KeyName: "k", KeyAlg: "hmac-md5", Secret: secret}, want: "hmac-sha256"},
		{name: "no secret", cfg: Config{Server: "127.0.0.1:53", KeyName: "k"}, want: "no TSIG secret"},
		{name: "not base64", cfg: Config{Server: "127.0.0.1:53", KeyName: "k", Secret: "!!"}, want: "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	const s = "3q2+7w=="
	tests := []struct{ in, want, err string }{
		{in: s + "\n", want: s},
		{in: "key \"k\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + s + "\";\n};\n", want: s},
		{in: "\n", err: "no TSIG secret"},
		{in: "not base64", err: "base64"},
	}
	for _, tt := range tests {
		got, err := ParseSecret([]byte(tt.in))
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseSecret(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestTXTEscaping(t *testing.T) {
	for _, s := range []string{"plain", `a "quoted" \ text`, "tab\there\x00\xff"} {
		rr, err := toDNS(libdns.RR{Name: "x", Type: "TXT", Data: s}, "example.test.")
		if err != nil {
			t.Fatal(err)
		}
		// Through the wire and back.
		buf := make([]byte, 1024)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := dns.UnpackRR(buf[:n], 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := fromDNS(back, "example.test."); got.Data != s || got.Name != "x" {
			t.Errorf("%q came back as %q named %q", s, got.Data, got.Name)
		}
	}
}
